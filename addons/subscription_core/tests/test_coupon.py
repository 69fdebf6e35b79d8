# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trytond.modules.company.tests import create_company, set_company
from trytond.modules.subscription_core.coupon import CouponValidationError
from trytond.pool import Pool
# The host's database test case without ModuleTestCase's generic checks,
# which test_module.py already runs on this module.
from trytond.tests.test_tryton import _DBTestCase, with_transaction

amounts = st.decimals(
    min_value=Decimal('0.01'), max_value=Decimal('100000'), places=2)
ratios = st.fractions(min_value=0, max_value=1).map(
    lambda f: Decimal(f.numerator) / Decimal(f.denominator or 1))
values = st.decimals(
    min_value=Decimal('0.0001'), max_value=Decimal('100'), places=4)


class CouponTestCase(_DBTestCase):
    "Coupon discounts"
    module = 'subscription_core'

    @with_transaction()
    def test_discount_bounds(self):
        "A discount is a rounded Decimal between 0 and what it discounts"
        pool = Pool()
        Coupon = pool.get('sale.subscription.coupon')
        company = create_company()

        @settings(
            max_examples=200, deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.sampled_from(['percentage', 'fixed']), values, amounts,
            ratios, st.sampled_from(['recurring', 'setup']))
        def check(type_, value, amount, ratio, kind):
            coupon = Coupon(
                company=company, recurring_type=type_, recurring_value=value,
                setup_type=type_, setup_value=value)
            discount = coupon.get_discount(kind, amount, ratio)
            self.assertIsInstance(discount, Decimal)
            self.assertGreaterEqual(discount, 0)
            self.assertLessEqual(discount, amount)
            self.assertEqual(discount, company.currency.round(discount))
            if type_ == 'percentage' and value == 100:
                self.assertEqual(discount, amount)

        with set_company(company):
            check()

    @with_transaction()
    def test_no_discount_without_type(self):
        "A coupon without a setup discount leaves the setup fee alone"
        pool = Pool()
        Coupon = pool.get('sale.subscription.coupon')
        company = create_company()
        coupon = Coupon(
            company=company, recurring_type='percentage',
            recurring_value=Decimal(10), setup_type=None, setup_value=None)
        self.assertEqual(
            coupon.get_discount('setup', Decimal('50.00'), Decimal(1)),
            Decimal(0))
        self.assertEqual(
            coupon.get_discount('recurring', Decimal('50.00'), Decimal(1)),
            Decimal('5.00'))

    @with_transaction()
    def test_code_in_capitals(self):
        "Codes are stored in capitals and unique per company"
        pool = Pool()
        Coupon = pool.get('sale.subscription.coupon')
        company = create_company()
        with set_company(company):
            coupon, = Coupon.create([{
                        'code': ' promo10 ',
                        'recurring_type': 'percentage',
                        'recurring_value': Decimal(10),
                        }])
            self.assertEqual(coupon.code, 'PROMO10')
            with self.assertRaises(Exception):
                Coupon.create([{
                            'code': 'Promo10',
                            'setup_type': 'fixed',
                            'setup_value': Decimal(10),
                            }])

    @with_transaction()
    def test_max_installments_annual(self):
        "An annual plan split in more installments than allowed is refused"
        pool = Pool()
        Coupon = pool.get('sale.subscription.coupon')
        Redemption = pool.get('sale.subscription.coupon.redemption')
        Contract = pool.get('sale.subscription')
        Plan = pool.get('sale.subscription.plan')
        RuleSet = pool.get('sale.subscription.recurrence.rule.set')
        Rule = pool.get('sale.subscription.recurrence.rule')
        Party = pool.get('party.party')
        Term = pool.get('account.invoice.payment_term')
        TermLine = pool.get('account.invoice.payment_term.line')
        company = create_company()
        with set_company(company):
            coupon = Coupon(
                company=company, code='ANUAL', rec_name='ANUAL', active=True,
                recurring_type='percentage', recurring_value=Decimal(10),
                setup_type=None, setup_value=None, plans=[],
                max_installments=3,
                salesperson=None, start_date=None, end_date=None,
                max_redemptions=None, max_per_customer=None)

            def redemption(freq, interval, installments):
                plan = Plan(
                    price=Decimal('1200'), setup_fee=None, rec_name='Anual',
                    coupon_max_discount=None,
                    recurrence=RuleSet(rules=[
                            Rule(freq=freq, interval=interval)]))
                party = Party(name="Cliente", customer_payment_term=None)
                contract = Contract(
                    company=company, plan=plan, party=party, rec_name='C1',
                    invoice_party=None, invoice_recurrence=None,
                    payment_term=Term(lines=[
                            TermLine() for _ in range(installments)]))
                return Redemption(
                    coupon=coupon, contract=contract, party=party,
                    date=datetime.date(2026, 3, 1))

            self.assertEqual(
                redemption('yearly', 1, 3).get_installments(), 3)
            redemption('yearly', 1, 3).check_coupon(1, 1)
            redemption('monthly', 1, 12).check_coupon(1, 1)
            self.assertIsNone(
                redemption('monthly', 1, 12).get_installments())
            for freq, interval in [('yearly', 1), ('monthly', 12)]:
                with self.assertRaisesRegex(
                        CouponValidationError, 'at most 3 install'):
                    redemption(freq, interval, 4).check_coupon(1, 1)


del _DBTestCase
