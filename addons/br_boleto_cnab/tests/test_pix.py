# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import contextlib
import csv
import io
import unittest
from decimal import Decimal

from ciclo.vectors import require_vectors
from trytond.modules.br_boleto_cnab.cli_pix import conformance_pix
from trytond.modules.br_boleto_cnab.pix import (
    PixError, crc16, decode, encode, normalize_text)

BCB = ('00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-'
    '4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA'
    '62070503***63041D3D')
KEY = '123e4567-e12b-12d1-a456-426655440000'


def with_crc(body):
    body += '6304'
    return body + crc16(body)


class PixTestCase(unittest.TestCase):

    def test_bcb_example(self):
        self.assertEqual(crc16(BCB[:-4]), '1D3D')
        payload = decode(BCB)
        self.assertEqual((payload.key, payload.merchant_name,
                payload.merchant_city, payload.txid, payload.amount),
            (KEY, 'Fulano de Tal', 'BRASILIA', '***', None))
        self.assertEqual(payload.encode(), BCB)
        self.assertEqual(encode('Fulano de Tal', 'BRASILIA', key=KEY), BCB)

    def test_crc_check_value(self):
        self.assertEqual(crc16(b'123456789'), '29B1')

    def test_wrong_crc(self):
        with self.assertRaisesRegex(PixError, 'expected 1D3D, got 1D3E'):
            decode(BCB[:-1] + 'E')

    def test_dynamic_and_automatico(self):
        text = encode('FULANO', 'SAO PAULO', url='psp.example.com/v2/abc',
            amount=Decimal('10.5'), txid='abc123', unique=True,
            rec_url='psp.example.com/rec/xyz')
        payload = decode(text)
        self.assertEqual((payload.url, payload.amount, payload.txid,
                payload.point_of_initiation, payload.rec_url),
            ('psp.example.com/v2/abc', '10.50', 'abc123', '12',
                'psp.example.com/rec/xyz'))
        self.assertIn('80', payload.order[''])

    def test_rejects(self):
        cases = [
            (dict(name='N' * 26, city='X', key='k'), 'merchant name'),
            (dict(name='N', city='C' * 16, key='k'), 'merchant city'),
            (dict(name='N', city='Brasília', key='k'), 'ASCII'),
            (dict(name='N', city='X', url='https://psp/x'), 'protocol'),
            (dict(name='N', city='X', key='k', amount=Decimal('1.001')),
                'decimals'),
            (dict(name='N', city='X', key='k', amount=1.5), 'float'),
            (dict(name='N', city='X', key='k', txid='a-b'), 'txid'),
            (dict(name='N', city='X'), 'key'),
            ]
        for kw, reason in cases:
            with self.subTest(kw=kw), self.assertRaisesRegex(PixError,
                    reason):
                encode(**kw)

    def test_decode_rejects(self):
        no_62 = BCB[:BCB.index('6207')]
        cases = [
            (with_crc(no_62), 'missing mandatory'),
            (with_crc(no_62 + '6208050'), 'truncated|declares length'),
            (with_crc(BCB[:-8].replace('5303986', '5303840')), 'currency'),
            ('0002012', 'CRC'),
            (with_crc('00020126'), 'truncated|declares'),
            ]
        for text, reason in cases:
            with self.subTest(text=text), self.assertRaisesRegex(PixError,
                    reason):
                decode(text)

    def test_normalize(self):
        self.assertEqual(normalize_text('Bárbara Pelé'), 'Barbara Pele')


class VectorsTestCase(unittest.TestCase):
    "Every row of ../shared/vectors/pix/vectors.csv"

    def test_conformance(self):
        path = require_vectors('pix', 'vectors.csv')
        with open(path, newline='', encoding='utf-8') as file:
            rows = list(csv.DictReader(file))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            passed, failed = conformance_pix(path)
        self.assertEqual(out.getvalue(), '')
        self.assertEqual((passed, failed), (len(rows), 0))
