# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Property tests: malformed input is parsed or rejected with the typed
error, never another exception; valid input round-trips."""
import datetime as dt
import unittest
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from trytond.modules.br_boleto_cnab.boleto import (
    BoletoError, assemble, due_date_from_factor, due_factor, parse,
    typed_line)
from trytond.modules.br_boleto_cnab.pix import (
    PixError, crc16, decode, encode)

BCB = ('00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-'
    '4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA'
    '62070503***63041D3D')
LINE = '00190000090123879897777700168188337690000013500'
SETTINGS = settings(max_examples=300, deadline=None)
amounts = st.decimals(min_value=Decimal('0'),
    max_value=Decimal('99999999.99'), places=2, allow_nan=False,
    allow_infinity=False)
dates = st.dates(min_value=dt.date(2000, 7, 3),
    max_value=dt.date(2070, 12, 31))
ascii_text = st.text(alphabet=st.characters(min_codepoint=32,
        max_codepoint=126), min_size=1, max_size=30)


def mutate(text, data):
    "Replace, delete, insert or truncate at random"
    op = data.draw(st.sampled_from(['replace', 'delete', 'insert', 'cut']))
    pos = data.draw(st.integers(0, max(len(text) - 1, 0)))
    char = data.draw(st.characters(max_codepoint=0x2FF))
    if op == 'replace':
        return text[:pos] + char + text[pos + 1:]
    if op == 'delete':
        return text[:pos] + text[pos + 1:]
    if op == 'insert':
        return text[:pos] + char + text[pos:]
    return text[:pos]


class BoletoFuzzTestCase(unittest.TestCase):

    @SETTINGS
    @given(st.text(max_size=60), dates)
    def test_random_text(self, text, reference):
        try:
            parse(text, reference)
        except BoletoError:
            pass

    @SETTINGS
    @given(st.data(), dates)
    def test_mutated_line(self, data, reference):
        text = mutate(LINE, data)
        try:
            boleto = parse(text, reference)
        except BoletoError:
            return
        self.assertEqual(len(boleto.barcode), 44)

    @SETTINGS
    @given(st.from_regex(r'\A[0-9]{3}\Z'), dates, amounts,
        st.from_regex(r'\A[0-9]{25}\Z'))
    def test_round_trip(self, bank, due, amount, free):
        boleto = assemble(bank, due, amount, free)
        line = typed_line(boleto.barcode)
        # any reference within the window decodes the same date
        for reference in (due, due - dt.timedelta(days=5500),
                due + dt.timedelta(days=3000)):
            back = parse(line, reference)
            self.assertEqual((back.bank, back.due_date, back.amount,
                    back.free_field), (bank, due, amount, free))

    @SETTINGS
    @given(dates)
    def test_factor_round_trip(self, due):
        self.assertEqual(due_date_from_factor(due_factor(due), due), due)


class PixFuzzTestCase(unittest.TestCase):

    @SETTINGS
    @given(st.text(max_size=120))
    def test_random_text(self, text):
        try:
            decode(text)
        except PixError:
            pass

    @SETTINGS
    @given(st.data(), st.booleans())
    def test_mutated(self, data, fix_crc):
        text = mutate(BCB, data)
        if fix_crc and len(text) > 4:
            text = text[:-4] + crc16(text[:-4])
        try:
            payload = decode(text)
        except PixError:
            return
        self.assertEqual(payload.encode(), text.strip())

    @SETTINGS
    @given(st.integers(0, len(BCB) - 1))
    def test_truncated(self, size):
        with self.assertRaises(PixError):
            decode(BCB[:size])

    @SETTINGS
    @given(ascii_text.filter(lambda s: s.strip() and len(s) <= 25),
        ascii_text.filter(lambda s: s.strip() and len(s) <= 15),
        st.one_of(st.none(), amounts.filter(lambda a: a > 0)),
        st.one_of(st.none(), st.from_regex(r'\A[A-Za-z0-9]{1,25}\Z')),
        st.booleans())
    def test_round_trip(self, name, city, amount, txid, dynamic):
        kw = {'url': 'psp.example.com/v2/x'} if dynamic else {'key': 'k@x.br'}
        try:
            text = encode(name, city, amount=amount, txid=txid, **kw)
        except PixError:
            # only the documented limits may refuse generated input
            self.assertTrue(amount is not None
                and len('%.2f' % amount) > 13)
            return
        payload = decode(text)
        self.assertEqual((payload.merchant_name, payload.merchant_city,
                payload.txid), (name, city, txid or '***'))
        self.assertEqual(payload.amount_decimal, amount)
        self.assertEqual(payload.encode(), text)
