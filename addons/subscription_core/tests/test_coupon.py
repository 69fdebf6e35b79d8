# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trytond.modules.company.tests import create_company, set_company
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


del _DBTestCase
