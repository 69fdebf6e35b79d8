# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import contextlib
import csv
import datetime as dt
import io
import unittest
from decimal import Decimal

from ciclo.vectors import require_vectors
from trytond.modules.br_boleto_cnab.boleto import (
    BoletoError, amount_field, barcode_from_typed_line, due_date_from_factor,
    due_factor, format_typed_line, general_dv, mod10, parse, typed_line)
from trytond.modules.br_boleto_cnab.boleto_banks import BANKS, make_boleto
from trytond.modules.br_boleto_cnab.cli_boleto import (
    _source_inputs, conformance_boleto, parse_note)

D = dt.date
BB_BARCODE = '00193376900000135000000001238798977770016818'
BB_LINE = '00190.00009 01238.798977 77700.168188 3 37690000013500'

class FactorTestCase(unittest.TestCase):
    "Due-date factor, domain-rules C.1 test points"

    def test_encode(self):
        for date, factor in [
                (D(2000, 7, 3), '1000'), (D(2002, 5, 1), '1667'),
                (D(2008, 2, 1), '3769'), (D(2010, 11, 17), '4789'),
                (D(2025, 2, 21), '9999'), (D(2025, 2, 22), '1000'),
                (D(2025, 2, 23), '1001'), (D(2049, 10, 13), '9999'),
                (D(2049, 10, 14), '1000')]:
            with self.subTest(date=date):
                self.assertEqual(due_factor(date), factor)

    def test_encode_before_base(self):
        with self.assertRaises(BoletoError):
            due_factor(D(2000, 7, 2))

    def test_decode_window(self):
        self.assertEqual(due_date_from_factor('1001', D(2001, 1, 1)),
            D(2000, 7, 4))
        self.assertEqual(due_date_from_factor('1001', D(2026, 1, 1)),
            D(2025, 2, 23))
        self.assertEqual(due_date_from_factor('9999', D(2025, 1, 1)),
            D(2025, 2, 21))
        self.assertEqual(due_date_from_factor('1000', D(2025, 2, 1)),
            D(2025, 2, 22))
        self.assertIsNone(due_date_from_factor('0000', D(2025, 2, 1)))

    def test_decode_window_edges(self):
        date = D(2025, 2, 23)
        self.assertEqual(due_date_from_factor('1001',
                date - dt.timedelta(days=5500)), date)
        self.assertEqual(due_date_from_factor('1001',
                date + dt.timedelta(days=3000)), date)

    def test_decode_rejects(self):
        for factor in ['0999', '12a4', '123']:
            with self.subTest(factor=factor), self.assertRaises(BoletoError):
                due_date_from_factor(factor, D(2025, 1, 1))


class CodeTestCase(unittest.TestCase):

    def test_mod10(self):
        self.assertEqual(mod10('001900000'), 9)
        self.assertEqual(mod10('0123879897'), 7)

    def test_general_dv(self):
        code = BB_BARCODE[:4] + BB_BARCODE[5:]
        self.assertEqual(general_dv(code), 3)

    def test_typed_line(self):
        self.assertEqual(format_typed_line(typed_line(BB_BARCODE)), BB_LINE)
        self.assertEqual(barcode_from_typed_line(BB_LINE), BB_BARCODE)

    def test_bad_dv(self):
        line = BB_LINE.replace('00190.00009', '00190.00008')
        with self.assertRaisesRegex(BoletoError, 'field 1 DV'):
            barcode_from_typed_line(line)
        with self.assertRaisesRegex(BoletoError, 'DV geral'):
            parse(BB_BARCODE[:4] + '4' + BB_BARCODE[5:], D(2008, 1, 1))

    def test_parse(self):
        boleto = parse(BB_LINE, D(2008, 1, 1))
        self.assertEqual((boleto.bank, boleto.due_date, boleto.amount),
            ('001', D(2008, 2, 1), Decimal('135.00')))
        self.assertEqual(boleto.free_field, BB_BARCODE[19:])

    def test_amount_field(self):
        self.assertEqual(amount_field(Decimal('135.00')), '0000013500')
        self.assertEqual(amount_field(Decimal('99999999.99')), '9999999999')
        for bad in [Decimal('100000000.00'), Decimal('1.001'),
                Decimal('-1'), 1.5, 'abc', Decimal('NaN')]:
            with self.subTest(amount=bad), self.assertRaises(BoletoError):
                amount_field(bad)


class BankTestCase(unittest.TestCase):
    "Nosso número DVs, domain-rules C.2"

    def make(self, bank, **kw):
        return make_boleto(bank, D(2016, 8, 22), Decimal('1.00'), **kw)

    def test_nosso_numero(self):
        cases = [
            ('237', dict(agencia='1', conta='1', carteira='06',
                    nosso_numero='525'), '06/00000000525-P'),
            ('033', dict(conta='1', nosso_numero='566612457800'),
                '566612457800-2'),
            ('033', dict(conta='1', nosso_numero='90002720'),
                '000090002720-7'),
            ('033', dict(conta='1', nosso_numero='1961005'),
                '000001961005-0'),
            ('756', dict(agencia='4327', convenio='229385', nosso_numero='1'),
                '0000001-7'),
            ('756', dict(agencia='4327', convenio='229385', nosso_numero='3'),
                '0000003-1'),
            ('748', dict(agencia='0710', convenio='129', nosso_numero='8879',
                    extra={'posto': '65', 'byte_idt': '2'}), '16/208879-3'),
            ('341', dict(agencia='0607', conta='15255', carteira='175',
                    nosso_numero='12345678'), '175/12345678-4'),
            ('104', dict(conta='245274', carteira='1', nosso_numero='1'),
                '14000000000000001-4'),
            ]
        for bank, kw, expected in cases:
            with self.subTest(bank=bank, expected=expected):
                self.assertEqual(self.make(bank, **kw).nosso_numero, expected)

    def test_overflow_raises(self):
        with self.assertRaisesRegex(BoletoError, 'nosso_numero'):
            self.make('237', agencia='1172', conta='403005', carteira='06',
                nosso_numero='123456789012')
        with self.assertRaisesRegex(BoletoError, 'agencia'):
            self.make('237', agencia='11720', conta='403005', carteira='06',
                nosso_numero='1')
        with self.assertRaisesRegex(BoletoError, 'banco'):
            self.make('999', nosso_numero='1')
        with self.assertRaisesRegex(BoletoError, 'posto'):
            self.make('748', agencia='0710', convenio='129',
                nosso_numero='1')

    def test_every_bank_registered(self):
        self.assertEqual(set(BANKS), {'001', '004', '021', '033', '041',
                '070', '077', '084', '085', '097', '104', '136', '237', '341',
                '399', '422', '745', '748', '756'})
        for code, cls in BANKS.items():
            self.assertTrue(cls.__doc__, code)

    def test_parse_note(self):
        self.assertEqual(parse_note('fator_vencimento=1;note=posto=65 '
                'byte_idt=2; spec states linha only'),
            {'fator_vencimento': '1', 'posto': '65', 'byte_idt': '2'})
        self.assertEqual(parse_note('note=codigoCliente=66677'),
            {'codigo_cliente': '66677'})


class VectorsTestCase(unittest.TestCase):
    "Every row of ../shared/vectors/boleto/vectors.csv"

    def test_conformance(self):
        path = require_vectors('boleto', 'vectors.csv')
        with open(path, newline='', encoding='utf-8') as file:
            rows = list(csv.DictReader(file))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            passed, failed = conformance_boleto(path)
        self.assertEqual(out.getvalue().splitlines()[:-1], [])
        self.assertEqual((passed, failed), (len(rows), 0))

    def test_source_fields(self):
        "A source's own name for a field feeds our input"
        row = {'bank': '41', 'conta': '9000150', 'convenio': '7777777',
            'source': 'Trust-Code/python-boleto@abc:tests/x.py#L1'}
        self.assertEqual(_source_inputs(row),
            {'codigo_beneficiario': '9000150'})
        row['source'] = 'kivanio/brcobranca@abc:spec/x.rb#L1'
        self.assertEqual(_source_inputs(row), {})
