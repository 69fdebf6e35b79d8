# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
import unittest
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trytond.modules.subscription_core.pricing import PricingError
from trytond.modules.subscription_core.proration import (
    change_proration, loyalty_penalty, remaining_months)

D = Decimal
CENT = D('0.01')
amounts = st.integers(min_value=0, max_value=10 ** 9).map(
    lambda cents: D(cents) / 100)


@st.composite
def periods(draw):
    "(days left, days in the period) of a billing period"
    full = draw(st.integers(min_value=1, max_value=366))
    return draw(st.integers(min_value=0, max_value=full)), full


class ChangeProrationTestCase(unittest.TestCase):
    "Pro-rata of a change"

    def test_upgrade_by_hand(self):
        "100.00 → 150.00 with 18 of 28 days left"
        # 100 × 18 / 28 = 64.2857…; 150 × 18 / 28 = 96.4285…
        self.assertEqual(
            change_proration(D('100.00'), D('150.00'), 18, 28, CENT),
            (D('64.29'), D('96.43')))

    def test_downgrade_by_hand(self):
        "150.00 → 100.00 with 16 of 31 days left"
        # 150 × 16 / 31 = 77.4193…; 100 × 16 / 31 = 51.6129…
        self.assertEqual(
            change_proration(D('150.00'), D('100.00'), 16, 31, CENT),
            (D('77.42'), D('51.61')))

    def test_half_rounds_up(self):
        "Commercial rounding: a half cent goes up"
        self.assertEqual(
            change_proration(D('0.01'), D('0.03'), 1, 2, CENT),
            (D('0.01'), D('0.02')))

    def test_whole_and_no_period(self):
        self.assertEqual(
            change_proration(D('100.00'), D('150.00'), 30, 30, CENT),
            (D('100.00'), D('150.00')))
        self.assertEqual(
            change_proration(D('100.00'), D('150.00'), 0, 30, CENT),
            (D('0.00'), D('0.00')))

    def test_refuses_bad_input(self):
        with self.assertRaises(PricingError):
            change_proration(100.0, D('150.00'), 1, 30, CENT)
        with self.assertRaises(PricingError):
            change_proration(D('-1'), D('150.00'), 1, 30, CENT)
        with self.assertRaises(PricingError):
            change_proration(D('100'), D('150.00'), 31, 30, CENT)
        with self.assertRaises(PricingError):
            change_proration(D('100'), D('150.00'), 1, 0, CENT)

    @given(amounts, amounts, periods())
    def test_net_within_price_difference(self, old, new, period):
        "charge − credit never exceeds the difference of the full prices"
        days, full = period
        credit, charge = change_proration(old, new, days, full, CENT)
        for value in (credit, charge):
            self.assertIsInstance(value, Decimal)
            self.assertEqual(value, value.quantize(CENT))
            self.assertGreaterEqual(value, 0)
        self.assertLessEqual(credit, old)
        self.assertLessEqual(charge, new)
        net = charge - credit
        self.assertLessEqual(abs(net), abs(new - old))
        # An upgrade never credits on balance, a downgrade never charges.
        self.assertGreaterEqual(net * (new - old), 0)

    @given(amounts, periods())
    def test_same_price_nets_zero(self, amount, period):
        days, full = period
        credit, charge = change_proration(amount, amount, days, full, CENT)
        self.assertEqual(credit, charge)


class LoyaltyPenaltyTestCase(unittest.TestCase):
    "Early-termination penalty"

    def test_remaining_months(self):
        date = datetime.date
        # 8 months and 14 days left: the month begun is not counted.
        self.assertEqual(
            remaining_months(date(2026, 5, 6), date(2027, 1, 20)), 8)
        self.assertEqual(
            remaining_months(date(2026, 1, 20), date(2027, 1, 20)), 12)
        self.assertEqual(
            remaining_months(date(2027, 1, 20), date(2027, 1, 20)), 0)
        self.assertEqual(
            remaining_months(date(2027, 3, 1), date(2027, 1, 20)), 0)
        self.assertEqual(remaining_months(date(2027, 3, 1), None), 0)

    def test_penalty_by_hand(self):
        # A 600.00 installation discount, 8 of 12 months left.
        self.assertEqual(
            loyalty_penalty(D('600.00'), 8, 12, CENT), D('400.00'))
        self.assertEqual(
            loyalty_penalty(D('500.00'), 7, 12, CENT), D('291.67'))
        self.assertEqual(loyalty_penalty(D('500.00'), 0, 12, CENT), D(0))
        self.assertEqual(loyalty_penalty(D('500.00'), 3, 0, CENT), D(0))

    def test_refuses_bad_benefit(self):
        with self.assertRaises(PricingError):
            loyalty_penalty(500.0, 3, 12, CENT)
        with self.assertRaises(PricingError):
            loyalty_penalty(D('-1'), 3, 12, CENT)

    @given(amounts, st.integers(-5, 40), st.integers(1, 36))
    def test_penalty_bounded_by_benefit(self, benefit, months, loyalty):
        penalty = loyalty_penalty(benefit, months, loyalty, CENT)
        self.assertIsInstance(penalty, Decimal)
        self.assertGreaterEqual(penalty, 0)
        self.assertLessEqual(penalty, benefit)
        if months >= loyalty:
            self.assertEqual(penalty, benefit)
        if months <= 0:
            self.assertEqual(penalty, 0)

    @given(amounts, st.integers(0, 35), st.integers(1, 36))
    def test_penalty_grows_with_months_left(self, benefit, months, loyalty):
        self.assertLessEqual(
            loyalty_penalty(benefit, months, loyalty, CENT),
            loyalty_penalty(benefit, months + 1, loyalty, CENT))

    @given(st.dates(datetime.date(2000, 1, 1), datetime.date(2090, 1, 1)),
        st.integers(0, 60))
    def test_remaining_months_of_a_term(self, start, months):
        from dateutil.relativedelta import relativedelta
        end = start + relativedelta(months=months)
        self.assertEqual(remaining_months(start, end), months)
        later = start + datetime.timedelta(1)
        self.assertIn(remaining_months(later, end), {
                max(months - 1, 0), months})
