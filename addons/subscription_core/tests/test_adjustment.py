# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
import unittest
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trytond.modules.subscription_core.price_index import (
    FACTOR_DIGITS, PriceIndex, _parse_month, _parse_percent,
    accumulated_factor, parse_index_csv, round_factor)

D = Decimal
# Monthly variations as published: percent with up to 4 decimals, from a
# deflation month to hyperinflation.
variations = st.decimals(
    min_value=D('-10'), max_value=D('80'), places=4,
    allow_nan=False, allow_infinity=False)
years = st.lists(variations, min_size=12, max_size=12)


class AccumulatedFactorTestCase(unittest.TestCase):
    "Accumulated index factor"

    def test_ipca_2024(self):
        "IPCA 2024 (IBGE): 4.83% accumulated"
        values = ['0.42', '0.83', '0.16', '0.38', '0.46', '0.21', '0.38',
            '-0.02', '0.44', '0.56', '0.39', '0.52']
        factor = round_factor(accumulated_factor(map(D, values)))
        self.assertEqual(factor, D('1.04831296'))
        self.assertEqual(
            (factor - 1) * 100 // D('0.01') * D('0.01'), D('4.83'))

    def test_twelve_zero_months(self):
        "12 months without variation leave prices as they are"
        self.assertEqual(accumulated_factor([D(0)] * 12), D(1))

    def test_fixed_rate(self):
        "A fixed yearly rate is one factor"
        self.assertEqual(accumulated_factor([D('5.5')]), D('1.055'))

    @given(years, st.randoms())
    def test_order_independent(self, values, random):
        "The months' order does not change the factor, exactly"
        shuffled = list(values)
        random.shuffle(shuffled)
        self.assertEqual(
            accumulated_factor(values), accumulated_factor(shuffled))

    @given(years)
    def test_decimal_exact(self, values):
        "The factor is a Decimal equal to the exact product"
        factor = accumulated_factor(values)
        self.assertIsInstance(factor, Decimal)
        numerator, denominator = 1, 1
        for value in values:
            # 1 + v/100 = (100 + v) / 100, as a fraction of integers
            n, d = (D(100) + value).as_integer_ratio()
            numerator *= n
            denominator *= d * 100
        self.assertEqual(
            factor.as_integer_ratio()[0] * denominator,
            numerator * factor.as_integer_ratio()[1])

    @given(years)
    def test_rounded_factor(self, values):
        "The stored factor has FACTOR_DIGITS decimals"
        factor = round_factor(accumulated_factor(values))
        self.assertIsInstance(factor, Decimal)
        self.assertEqual(factor.as_tuple().exponent, -FACTOR_DIGITS)

    @given(st.lists(
            st.decimals(min_value=D('0'), max_value=D('80'), places=4),
            min_size=1, max_size=24))
    def test_monotonic(self, values):
        "No negative month: prices never go down"
        self.assertGreaterEqual(accumulated_factor(values), 1)


class ReferenceMonthsTestCase(unittest.TestCase):
    "The 12 months before the anniversary"

    def test_months(self):
        months = PriceIndex.reference_months(datetime.date(2025, 1, 15))
        self.assertEqual(months[0], datetime.date(2024, 1, 1))
        self.assertEqual(months[-1], datetime.date(2024, 12, 1))
        self.assertEqual(len(months), 12)

    @given(st.dates(
            min_value=datetime.date(1995, 1, 1),
            max_value=datetime.date(2100, 12, 31)))
    def test_twelve_consecutive_months(self, anniversary):
        months = PriceIndex.reference_months(anniversary)
        self.assertEqual(len(set(months)), 12)
        self.assertTrue(all(m.day == 1 for m in months))
        self.assertEqual(months, sorted(months))
        self.assertLess(months[-1], anniversary.replace(day=1))


class ParseIndexTestCase(unittest.TestCase):
    "Index CSV parsing (the valid cases; errors are in the scenario)"

    def test_brazilian_export(self):
        data = 'Mês;IPCA\n01/2024;0,42\n02/2024;-0,02\n'.encode('latin-1')
        self.assertEqual(parse_index_csv(data), [
                (datetime.date(2024, 1, 1), D('0.42')),
                (datetime.date(2024, 2, 1), D('-0.02')),
                ])

    def test_iso_months_with_commas(self):
        self.assertEqual(parse_index_csv(b'2024-03,0.16\n\n2024-04,0.38'), [
                (datetime.date(2024, 3, 1), D('0.16')),
                (datetime.date(2024, 4, 1), D('0.38')),
                ])

    def test_parse_percent(self):
        self.assertEqual(_parse_percent('1.234,5678'), D('1234.5678'))
        self.assertEqual(_parse_percent('0.42%'), D('0.42'))
        # More decimals than stored would be cut: refused.
        self.assertIsNone(_parse_percent('0,12345'))
        self.assertIsNone(_parse_percent('zero'))
        self.assertIsNone(_parse_percent('NaN'))

    def test_parse_month(self):
        self.assertEqual(_parse_month('12/2024'), datetime.date(2024, 12, 1))
        self.assertIsNone(_parse_month('13/2024'))
        self.assertIsNone(_parse_month('Mês'))
