# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import unittest
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trytond.modules.subscription_core.discount import discounted_price

D = Decimal
prices = st.decimals(
    min_value=D('0'), max_value=D('100000'), places=4,
    allow_nan=False, allow_infinity=False)
rates = st.decimals(
    min_value=D('0'), max_value=D('1'), places=4,
    allow_nan=False, allow_infinity=False)


class DiscountedPriceTestCase(unittest.TestCase):
    "Discounted unit price of a contract line"

    def test_rate(self):
        self.assertEqual(discounted_price(D('100.00'), D('0.15')), D('85'))

    def test_rate_and_amount(self):
        "A fixed amount is taken after the rate, from the base price"
        self.assertEqual(
            discounted_price(D('100.00'), D('0.10'), D('5.00')), D('85'))

    def test_rounded_to_price_digits(self):
        self.assertEqual(
            discounted_price(D('99.90'), D('0.3333')), D('66.6033'))

    def test_no_base_price(self):
        self.assertIsNone(discounted_price(None, D('0.1')))

    @given(prices)
    def test_no_discount_is_base(self, base):
        "No discount leaves the base price"
        self.assertEqual(discounted_price(base), base)
        self.assertEqual(discounted_price(base, D(0), D(0)), base)

    @given(prices, rates, rates)
    def test_more_rate_lower_price(self, base, rate1, rate2):
        "A larger rate never gives a higher price, nor one below zero"
        low, high = sorted([rate1, rate2])
        price_low = discounted_price(base, low)
        price_high = discounted_price(base, high)
        self.assertLessEqual(price_high, price_low)
        self.assertGreaterEqual(price_high, 0)
        self.assertLessEqual(price_low, base)

    @given(prices, rates)
    def test_decimal_exact(self, base, rate):
        "A Decimal within half a unit of the 4th place of the exact value"
        price = discounted_price(base, rate)
        self.assertIsInstance(price, Decimal)
        self.assertLessEqual(abs(price - base * (1 - rate)), D('0.00005'))
        self.assertGreaterEqual(price.as_tuple().exponent, -4)
