# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Property tests: whatever the input, the CNAB code either parses it
(with typed values that convert) or raises CnabError, never another
exception."""
import datetime
import unittest
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ciclo.vectors import vectors_dir
from trytond.modules.br_boleto_cnab.cnab import (
    CnabError, Field, Record, convert, format_record, parse_file,
    parse_retorno)
from trytond.modules.br_boleto_cnab.cnab_remessa import build_remessa

from .test_cnab import company, titles

SETTINGS = settings(max_examples=150, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])


def _seeds():
    seeds = [build_remessa(bank, layout, company(), titles(), 1,
            datetime.date(2026, 11, 22))
        for bank, layout in [('341', '400'), ('237', '400'), ('001', '240')]]
    # Real retornos as seeds when the vectors are there (not required:
    # the conformance tests in test_cnab.py require them).
    base = vectors_dir()
    if base:
        for name in ['brcobranca/retorno/CNAB400ITAU.RET',
                'brcobranca/retorno/CNAB240SICOOB.RET',
                'brcobranca/retorno/CBR64310.RET',
                'laravel-boleto/cnab240/caixa.ret',
                'laravel-boleto/cnab400/bradesco.ret',
                'brcobranca/retorno/CNAB400SANTANDER.RET']:
            path = base / 'cnab' / name
            if path.exists():
                seeds.append(path.read_bytes())
    return seeds


SEEDS = _seeds()
CHARS = st.sampled_from(list('0123456789 ABCTUPQ9Z/\r\n\t') +
    ['\xe9', '\xb2', '\x00', '\ufeff', '\u0663'])


def _exercise(data, **kwargs):
    "Parse; on success every typed value must convert"
    try:
        result = parse_file(data, **kwargs)
    except CnabError as exc:
        assert exc.errors
        return None
    for record in list(result.records) + [result.header, result.trailer]:
        if record:
            record.typed()
    result.file_date
    result.liquidados
    result.avisos
    return result


class FuzzTestCase(unittest.TestCase):
    "Parser robustness"

    @SETTINGS
    @given(st.binary(max_size=2000))
    def test_random_bytes(self, data):
        _exercise(data)

    @SETTINGS
    @given(st.sampled_from(SEEDS), st.data())
    def test_random_lines(self, seed, data):
        header = seed.split(b'\r\n')[0].split(b'\n')[0]
        lines = data.draw(st.lists(st.text(CHARS, max_size=420),
                max_size=8))
        blob = header + b'\r\n' + '\r\n'.join(lines).encode('utf-8')
        _exercise(blob)

    @SETTINGS
    @given(st.sampled_from(SEEDS), st.integers(min_value=0))
    def test_truncated(self, seed, cut):
        data = seed[:cut % (len(seed) + 1)]
        _exercise(data)
        try:
            parse_retorno(data)
        except CnabError:
            pass

    @SETTINGS
    @given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(
                    min_value=0), CHARS), min_size=1, max_size=6),
        st.booleans())
    def test_mutated(self, seed, changes, strict):
        text = bytearray(seed)
        for position, char in changes:
            position %= len(text)
            encoded = char.encode('utf-8')
            text[position:position + 1] = encoded
        _exercise(bytes(text), strict=strict)

    @SETTINGS
    @given(st.sampled_from(SEEDS), st.integers(min_value=0),
        st.sampled_from('0123456789'))
    def test_mutated_digit(self, seed, position, digit):
        "A changed digit parses with the new value, or is rejected"
        text = bytearray(seed)
        position %= len(text)
        if not chr(text[position]).isdigit():
            return
        text[position] = ord(digit)
        _exercise(bytes(text))


class WriterFuzzTestCase(unittest.TestCase):
    "Writer: fits exactly, or raises CnabError"

    record = Record('fuzz', 40, [
            Field('n', 1, 5, 'num'),
            Field('a', 6, 15, 'alpha'),
            Field('m', 16, 25, 'amount'),
            Field('d6', 26, 31, 'date6'),
            Field('d8', 32, 39, 'date8'),
            ])

    @SETTINGS
    @given(st.one_of(st.none(), st.integers(), st.text(max_size=8)),
        st.one_of(st.none(), st.text(max_size=14)),
        st.one_of(st.none(), st.decimals(allow_nan=False,
                allow_infinity=False, places=3), st.integers()),
        st.one_of(st.none(), st.dates()),
        st.one_of(st.none(), st.dates(), st.text(max_size=9)))
    def test_format(self, n, a, m, d6, d8):
        values = {'n': n, 'a': a, 'm': m, 'd6': d6, 'd8': d8}
        try:
            line = format_record(self.record, values)
        except CnabError:
            return
        self.assertEqual(len(line), 40)
        self.assertTrue(line.isascii())
        for value, sl in ((d6, slice(25, 31)), (d8, slice(31, 39))):
            if isinstance(value, datetime.date):
                self.assertEqual(convert('date6' if sl.start == 25
                        else 'date8', line[sl]), value)
        if isinstance(m, (Decimal, int)) and m:
            self.assertEqual(Decimal(int(line[15:25])).scaleb(-2),
                Decimal(m))
