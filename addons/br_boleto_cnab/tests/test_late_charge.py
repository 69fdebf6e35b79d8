# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
import unittest
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trytond.modules.br_boleto_cnab.late_charge import (
    FINE_CAP_PERCENT, daily_interest, late_charges)

DUE = datetime.date(2026, 3, 10)
amounts = st.decimals(min_value=Decimal('0.01'), max_value=Decimal('1e9'),
    places=2, allow_nan=False, allow_infinity=False)
percents = st.decimals(min_value=Decimal(0), max_value=Decimal(100),
    places=2, allow_nan=False, allow_infinity=False)
days = st.integers(min_value=1, max_value=3650)


class LateChargeTestCase(unittest.TestCase):
    "Fine and interest of overdue boletos"

    def test_example(self):
        "R$ 78.75 paid 5 days late: 2% fine, 1% a.m. pro rata die"
        self.assertEqual(
            late_charges(Decimal('78.75'), DUE,
                DUE + datetime.timedelta(days=5), Decimal(2), Decimal(1)),
            (Decimal('1.58'), Decimal('0.13'), 5))

    def test_on_time(self):
        "Nothing is owed on or before the due date"
        for date in [DUE, DUE - datetime.timedelta(days=3)]:
            self.assertEqual(
                late_charges(Decimal('100'), DUE, date, 2, 1),
                (Decimal('0.00'), Decimal('0.00'), 0))

    def test_fine_capped(self):
        "A 10% contract fine is charged as 2% (CDC art. 52 §1)"
        fine, _, _ = late_charges(Decimal('100.00'), DUE,
            DUE + datetime.timedelta(days=1), Decimal(10), Decimal(1))
        self.assertEqual(fine, Decimal('2.00'))

    def test_daily_interest(self):
        self.assertEqual(daily_interest(Decimal('129.90')), Decimal('0.04'))
        self.assertEqual(daily_interest(Decimal('3000'), 1), Decimal('1.00'))

    def test_negative(self):
        self.assertRaises(ValueError, late_charges, Decimal('-1'), DUE,
            DUE, 2, 1)
        self.assertRaises(ValueError, late_charges, Decimal('1'), DUE,
            DUE, -2, 1)

    @settings(max_examples=300, deadline=None)
    @given(amounts, percents, percents, days)
    def test_fine_never_above_cap(self, amount, fine, interest, late):
        result, _, _ = late_charges(amount, DUE,
            DUE + datetime.timedelta(days=late), fine, interest)
        self.assertIsInstance(result, Decimal)
        self.assertLessEqual(result, (amount * FINE_CAP_PERCENT / 100)
            .quantize(Decimal('0.01')) + Decimal('0.01'))
        self.assertGreaterEqual(result, 0)

    @settings(max_examples=300, deadline=None)
    @given(amounts, percents, days, days)
    def test_interest_linear_in_days(self, amount, interest, d1, d2):
        "interest(d1 + d2) = interest(d1) + interest(d2), to the cent"
        def charge(late):
            return late_charges(amount, DUE,
                DUE + datetime.timedelta(days=late), 2, interest)[1]
        total = charge(d1 + d2)
        self.assertLessEqual(abs(total - charge(d1) - charge(d2)),
            Decimal('0.01'))
        exact = amount * interest * (d1 + d2) / 3000
        self.assertLessEqual(abs(total - exact), Decimal('0.005'))
