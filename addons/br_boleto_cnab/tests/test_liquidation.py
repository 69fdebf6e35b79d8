# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""How an amount paid above a boleto title is split: late fee, then
interest, each up to what the title owed, then the customer's credit."""
import datetime
import unittest
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trytond.modules.br_boleto_cnab.late_charge import late_charges
from trytond.modules.br_boleto_cnab.liquidation import split_excess
from trytond.modules.br_boleto_cnab.negativacao import NEGATIVACAO_RULES

amounts = st.decimals(min_value=Decimal('0.00'), max_value=Decimal('1e9'),
    places=2, allow_nan=False, allow_infinity=False)


class SplitExcessTestCase(unittest.TestCase):
    "Overpayment of a boleto title"

    def test_paid_late_without_itemised_charges(self):
        "R$ 100.00 due March 10th, R$ 103.00 paid on the 15th"
        fine, interest, _ = late_charges(Decimal('100.00'),
            datetime.date(2026, 3, 10), datetime.date(2026, 3, 15),
            Decimal(2), Decimal(1))
        self.assertEqual(split_excess(Decimal('3.00'), fine, interest),
            (Decimal('2.00'), Decimal('0.17'), Decimal('0.83')))

    def test_less_than_the_fine(self):
        "An excess below the fine is all fine, no credit"
        self.assertEqual(
            split_excess(Decimal('1.50'), Decimal('2.00'), Decimal('0.17')),
            (Decimal('1.50'), Decimal('0.00'), Decimal('0.00')))

    def test_paid_again(self):
        "Nothing owed (a title paid twice): all of it is credit"
        self.assertEqual(
            split_excess(Decimal('100.00'), Decimal(0), Decimal(0)),
            (Decimal('0'), Decimal('0'), Decimal('100.00')))

    def test_negative_refused(self):
        with self.assertRaises(ValueError):
            split_excess(Decimal('-1'), Decimal(0), Decimal(0))

    @given(amounts, amounts, amounts)
    def test_split_property(self, excess, fine_owed, interest_owed):
        "The parts sum to the excess, none negative nor above what's owed"
        fine, interest, credit = split_excess(excess, fine_owed,
            interest_owed)
        self.assertEqual(fine + interest + credit, excess)
        self.assertTrue(Decimal(0) <= fine <= fine_owed)
        self.assertTrue(Decimal(0) <= interest <= interest_owed)
        self.assertTrue(credit >= 0)
        # Credit only once the charges are fully received
        if credit:
            self.assertEqual((fine, interest), (fine_owed, interest_owed))


class NegativacaoRulesTestCase(unittest.TestCase):
    "The negativação rules are data with their legal source"

    def test_rules(self):
        self.assertGreaterEqual(NEGATIVACAO_RULES['notice_days'], 10)
        self.assertIn('CDC art. 43', NEGATIVACAO_RULES['notice_source'])
