# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import json
import unittest
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from trytond.modules.subscription_core.pricing import (
    MODELS, Charge, Flat, Graduated, Package, Percentage, PerUnit,
    PricingError, Volume, apply_minimum, daily_rate, from_dict, price_model,
    prorate, round_amount)

D = Decimal
CENT = D('0.01')
# The business example used across the tiered tests.
TIERS = [(100, '1.00'), (500, '0.80'), (None, '0.50')]


def check_charge(test, charge):
    "Assert the invariants every Charge must satisfy"
    test.assertIsInstance(charge, Charge)
    test.assertIsInstance(charge.amount, Decimal)
    total = D(0)
    for line in charge.lines:
        for value in (line.quantity, line.unit_price, line.amount):
            test.assertIsInstance(value, Decimal)
        test.assertEqual(line.amount, line.quantity * line.unit_price)
        test.assertIsInstance(line.description, str)
        test.assertTrue(line.description)
        total += line.amount
    test.assertEqual(charge.amount, total)


class FlatTestCase(unittest.TestCase):
    "Flat model"

    def test_same_price_whatever_the_quantity(self):
        model = price_model('flat', price='99.90')
        self.assertIsInstance(model, Flat)
        for quantity in (0, 1, 1000):
            self.assertEqual(model.amount(quantity), D('99.90'))

    def test_breakdown(self):
        charge = price_model('flat', price='99.90').compute(0)
        check_charge(self, charge)
        (line,) = charge.lines
        self.assertEqual(line.kind, 'flat')
        self.assertEqual(line.quantity, 1)

    def test_allowance_refused(self):
        with self.assertRaisesRegex(PricingError, 'allowance'):
            price_model('flat', price='10', allowance=5)

    def test_negative_price_refused(self):
        with self.assertRaisesRegex(PricingError, 'price'):
            price_model('flat', price='-1')


class PerUnitTestCase(unittest.TestCase):
    "Per unit model"

    def test_unit_price_times_quantity(self):
        model = price_model('per_unit', unit_price='2.00')
        self.assertIsInstance(model, PerUnit)
        self.assertEqual(model.amount(150), D('300.00'))
        self.assertEqual(model.amount('12.5'), D('25.000'))

    def test_allowance_100_gb_of_150_gb(self):
        model = price_model('per_unit', unit_price='2.00', allowance=100)
        charge = model.compute(150)
        check_charge(self, charge)
        self.assertEqual(charge.amount, D('100.00'))
        allowance, unit = charge.lines
        self.assertEqual(allowance.kind, 'allowance')
        self.assertEqual(allowance.quantity, 100)
        self.assertEqual(allowance.amount, 0)
        self.assertEqual((unit.quantity, unit.unit_price), (50, D('2.00')))

    def test_allowance_larger_than_usage(self):
        model = price_model('per_unit', unit_price='2.00', allowance=100)
        charge = model.compute(30)
        self.assertEqual(charge.amount, 0)
        self.assertEqual(charge.lines[0].quantity, 30)

    def test_zero_usage_has_no_lines(self):
        self.assertEqual(
            price_model('per_unit', unit_price='2.00').compute(0).lines, ())

    def test_component_minimum(self):
        model = price_model('per_unit', unit_price='2.00', minimum='30.00')
        charge = model.compute(10)
        check_charge(self, charge)
        self.assertEqual(charge.amount, D('30.00'))
        self.assertEqual(charge.lines[-1].kind, 'minimum')
        self.assertEqual(charge.lines[-1].amount, D('10.00'))
        self.assertEqual(model.amount(0), D('30.00'))
        self.assertEqual(model.amount(20), D('40.00'))
        self.assertNotIn(
            'minimum', [l.kind for l in model.compute(20).lines])


class VolumeTestCase(unittest.TestCase):
    "Volume model"

    def setUp(self):
        self.model = price_model('volume', tiers=TIERS)

    def test_600_units_all_at_last_tier(self):
        self.assertIsInstance(self.model, Volume)
        charge = self.model.compute(600)
        check_charge(self, charge)
        self.assertEqual(charge.amount, D('300.00'))
        (line,) = charge.lines
        self.assertEqual(line.description, '501+')
        self.assertEqual(line.unit_price, D('0.50'))

    def test_bounds_are_inclusive(self):
        self.assertEqual(self.model.amount(100), D('100.00'))
        self.assertEqual(self.model.compute(100).lines[0].description,
            '0–100')
        self.assertEqual(self.model.amount(500), D('400.00'))
        self.assertEqual(self.model.compute(500).lines[0].description,
            '101–500')

    def test_not_monotone_with_decreasing_prices(self):
        # Known property of volume pricing, documented rather than hidden:
        # crossing a bound lowers the price of every unit.
        self.assertEqual(self.model.amount(100), D('100.00'))
        self.assertEqual(self.model.amount(101), D('80.80'))

    def test_allowance_can_raise_charge_with_decreasing_prices(self):
        # Same cause: the allowance moves the quantity back a tier.
        model = price_model('volume', tiers=TIERS, allowance=1)
        self.assertEqual(self.model.amount(101), D('80.80'))
        self.assertEqual(model.amount(101), D('100.00'))

    def test_flat_fee_of_reached_tier_only(self):
        model = price_model('volume', tiers=[
                (10, '5.00', '20.00'), (None, '4.00', '30.00')])
        charge = model.compute(20)
        check_charge(self, charge)
        self.assertEqual(charge.amount, D('110.00'))
        self.assertEqual(
            [l.kind for l in charge.lines], ['tier', 'tier_flat_fee'])
        self.assertEqual(model.amount(0), 0)

    def test_fractional_bounds(self):
        model = price_model('volume', tiers=[
                ('0.5', '10'), ('2.5', '8'), (None, '6')])
        self.assertEqual(model.compute('0.5').lines[0].description, '0–0.5')
        self.assertEqual(model.compute(1).lines[0].description, '0.5–2.5')
        self.assertEqual(model.compute(3).lines[0].description, '2.5+')


class GraduatedTestCase(unittest.TestCase):
    "Graduated model"

    def setUp(self):
        self.model = price_model('graduated', tiers=TIERS)

    def test_600_units(self):
        self.assertIsInstance(self.model, Graduated)
        charge = self.model.compute(600)
        check_charge(self, charge)
        self.assertEqual(charge.amount, D('470.00'))
        self.assertEqual(
            [(l.description, l.quantity, l.amount) for l in charge.lines], [
                ('0–100', 100, D('100.00')),
                ('101–500', 400, D('320.00')),
                ('501+', 100, D('50.00')),
                ])

    def test_stops_at_reached_tier(self):
        charge = self.model.compute(250)
        self.assertEqual(charge.amount, D('220.00'))
        self.assertEqual(len(charge.lines), 2)
        self.assertEqual(self.model.amount(100), D('100.00'))
        self.assertEqual(len(self.model.compute(100).lines), 1)

    def test_flat_fee_per_tier_reached(self):
        model = price_model('graduated', tiers=[
                (10, '0', '15.00'), (None, '2.00', '5.00')])
        self.assertEqual(model.amount(0), 0)
        self.assertEqual(model.amount(1), D('15.00'))
        self.assertEqual(model.amount(10), D('15.00'))
        self.assertEqual(model.amount(11), D('22.00'))

    def test_allowance_shifts_the_tiers(self):
        model = price_model('graduated', tiers=TIERS, allowance=100)
        self.assertEqual(model.amount(700), D('470.00'))


class PackageTestCase(unittest.TestCase):
    "Package model"

    def test_250_units_in_blocks_of_100(self):
        model = price_model(
            'package', package_size=100, package_price='10.00')
        self.assertIsInstance(model, Package)
        charge = model.compute(250)
        check_charge(self, charge)
        self.assertEqual(charge.amount, D('30.00'))
        (line,) = charge.lines
        self.assertEqual(line.description, '3 × 100')
        self.assertEqual(line.quantity, 3)

    def test_exact_blocks(self):
        model = price_model(
            'package', package_size=100, package_price='10.00')
        self.assertEqual(model.amount(200), D('20.00'))
        self.assertEqual(model.amount(1), D('10.00'))
        self.assertEqual(model.amount(0), 0)

    def test_free_units(self):
        model = price_model(
            'package', package_size=100, package_price='10.00',
            free_units=50)
        self.assertEqual(model.amount(50), 0)
        self.assertEqual(model.amount(250), D('20.00'))
        self.assertEqual(model.allowance, 50)
        self.assertEqual(from_dict(model.to_dict()), model)

    def test_free_units_and_allowance_refused(self):
        with self.assertRaisesRegex(PricingError, 'free_units'):
            price_model('package', package_size=100, package_price='10',
                free_units=1, allowance=1)

    def test_zero_size_refused(self):
        with self.assertRaisesRegex(PricingError, 'package_size'):
            price_model('package', package_size=0, package_price='10')


class PercentageTestCase(unittest.TestCase):
    "Percentage model"

    def test_capped_at_maximum(self):
        model = price_model(
            'percentage', rate='2.5', minimum=50, maximum=200)
        self.assertIsInstance(model, Percentage)
        charge = model.compute('10000.00')
        check_charge(self, charge)
        self.assertEqual(charge.amount, D('200.00'))
        self.assertEqual(charge.lines[-1].kind, 'maximum')
        self.assertEqual(charge.lines[-1].amount, D('-50.00'))

    def test_raised_to_minimum(self):
        model = price_model(
            'percentage', rate='2.5', minimum=50, maximum=200)
        self.assertEqual(model.amount('1000.00'), D('50.00'))
        self.assertEqual(model.amount('4000.00'), D('100.00'))
        self.assertEqual(model.amount(0), D('50.00'))

    def test_fees(self):
        model = price_model(
            'percentage', rate='1.5', transaction_fee='0.30',
            period_fee='9.90')
        charge = model.compute('2000.00', transactions=40)
        check_charge(self, charge)
        # 30.00 + 40 * 0.30 + 9.90
        self.assertEqual(charge.amount, D('51.90'))
        self.assertEqual(
            [l.kind for l in charge.lines],
            ['percentage', 'transaction_fee', 'period_fee'])

    def test_allowance_is_free_base(self):
        model = price_model('percentage', rate='10', allowance='1000.00')
        self.assertEqual(model.amount('1500.00'), D('50.00'))

    def test_minimum_above_maximum_refused(self):
        with self.assertRaisesRegex(PricingError, 'maximum'):
            price_model('percentage', rate='1', minimum=10, maximum=5)

    def test_fractional_transactions_refused(self):
        model = price_model('percentage', rate='1')
        with self.assertRaisesRegex(PricingError, 'transactions'):
            model.compute(100, transactions='1.5')


class TierValidationTestCase(unittest.TestCase):
    "Tier configuration errors name the tier and the reason"

    def assert_invalid(self, tiers, message):
        for kind in ('volume', 'graduated'):
            with self.assertRaisesRegex(PricingError, message):
                price_model(kind, tiers=tiers)

    def test_no_tier(self):
        self.assert_invalid([], 'at least one tier')
        self.assert_invalid(None, 'tiers must be a list')

    def test_bounds_not_increasing(self):
        self.assert_invalid(
            [(100, 1), (100, 1), (None, 1)], r'tier 2: up_to 100 .*100')
        self.assert_invalid(
            [(100, 1), (50, 1), (None, 1)], 'tier 2: up_to 50')

    def test_first_bound_not_positive(self):
        self.assert_invalid([(0, 1), (None, 1)], 'tier 1: up_to 0')

    def test_last_tier_bounded(self):
        self.assert_invalid([(100, 1), (200, 1)], 'tier 2: .*unbounded')

    def test_unbounded_tier_not_last(self):
        self.assert_invalid([(None, 1), (200, 1)], 'tier 1: only the last')

    def test_negative_prices(self):
        self.assert_invalid([(100, 1), (None, -1)], 'tier 2: unit_price')
        self.assert_invalid(
            [(100, 1, -5), (None, 1)], 'tier 1: flat_fee')

    def test_malformed_tier(self):
        self.assert_invalid([(100,), (None, 1)], 'tier 1: expected')
        self.assert_invalid([{'up_to': None}], 'tier 1: unit_price')
        self.assert_invalid(
            [{'up_to': None, 'unit_price': 1, 'price': 2}],
            'tier 1: unknown')
        self.assert_invalid([(None, 'abc')], 'tier 1: unit_price')

    def test_float_refused(self):
        self.assert_invalid([(None, 0.5)], 'tier 1: unit_price.*float')

    def test_dict_tiers(self):
        model = price_model('graduated', tiers=[
                {'up_to': '100', 'unit_price': '1.00'},
                {'up_to': '500', 'unit_price': '0.80', 'flat_fee': None},
                {'up_to': None, 'unit_price': '0.50', 'flat_fee': '0'},
                ])
        self.assertEqual(model, price_model('graduated', tiers=TIERS))


class FactoryTestCase(unittest.TestCase):
    "Factory and storage"

    def test_every_kind(self):
        self.assertEqual(set(MODELS), {
                'flat', 'per_unit', 'volume', 'graduated', 'package',
                'percentage'})
        for kind, Model in MODELS.items():
            self.assertEqual(Model.kind, kind)

    def test_unknown_kind(self):
        with self.assertRaisesRegex(PricingError, "'standard'"):
            price_model('standard', unit_price=1)
        with self.assertRaises(PricingError):
            price_model(None)

    def test_unknown_parameter(self):
        with self.assertRaisesRegex(PricingError, 'per_unit: .*unitprice'):
            price_model('per_unit', unitprice=1)

    def test_missing_parameter(self):
        with self.assertRaisesRegex(PricingError, 'per_unit: .*unit_price'):
            price_model('per_unit')

    def test_float_quantity_refused(self):
        model = price_model('per_unit', unit_price=1)
        with self.assertRaisesRegex(PricingError, 'quantity.*float'):
            model.compute(1.5)
        with self.assertRaisesRegex(PricingError, 'quantity'):
            model.compute(-1)
        with self.assertRaisesRegex(PricingError, 'quantity'):
            model.compute(D('NaN'))

    def test_json_round_trip(self):
        model = price_model(
            'percentage', rate='2.5', transaction_fee='0.30', minimum=50,
            maximum=200)
        stored = json.dumps(model.to_dict())
        self.assertEqual(json.loads(stored), {
                'kind': 'percentage', 'rate': '2.5',
                'transaction_fee': '0.30', 'period_fee': '0',
                'maximum': '200', 'allowance': '0', 'minimum': '50'})
        self.assertEqual(from_dict(json.loads(stored)), model)

    def test_from_dict_errors(self):
        with self.assertRaisesRegex(PricingError, 'kind'):
            from_dict({'unit_price': '1'})
        with self.assertRaisesRegex(PricingError, 'dict'):
            from_dict([('kind', 'flat')])


class HelpersTestCase(unittest.TestCase):
    "Rounding, plan minimum and proration"

    def test_rounding_half_up(self):
        model = price_model('per_unit', unit_price='0.005')
        self.assertEqual(model.amount(1, rounding=CENT), D('0.01'))
        self.assertEqual(model.amount(1), D('0.005'))
        self.assertEqual(round_amount(D('0.125'), CENT), D('0.13'))
        self.assertEqual(round_amount(D('0.135'), CENT), D('0.14'))
        self.assertEqual(round_amount(D('470'), CENT), D('470.00'))
        self.assertEqual(round_amount(D('1.12'), D('0.05')), D('1.10'))
        self.assertEqual(round_amount(D('1.125'), D('0.05')), D('1.15'))
        with self.assertRaises(PricingError):
            round_amount(D('1'), 0)

    def test_apply_minimum(self):
        self.assertEqual(apply_minimum(D('80.00'), D('100.00')), D('100.00'))
        self.assertEqual(apply_minimum(D('120.00'), D('100.00')),
            D('120.00'))
        self.assertEqual(apply_minimum(D('80.00'), None), D('80.00'))
        with self.assertRaises(PricingError):
            apply_minimum(80.0, D('100'))

    def test_prorate(self):
        self.assertEqual(prorate(D('100.00'), 15, 30), D('50.00'))
        self.assertEqual(prorate(D('99.90'), 31, 31), D('99.90'))
        self.assertEqual(prorate(D('99.90'), 0, 31), 0)
        self.assertEqual(
            round_amount(prorate(D('99.90'), 10, 31), CENT), D('32.23'))
        self.assertEqual(daily_rate(D('93.00'), 31), D('3.00'))
        with self.assertRaisesRegex(PricingError, 'days_used'):
            prorate(D('100'), 31, 30)
        with self.assertRaisesRegex(PricingError, 'days_in_period'):
            prorate(D('100'), 0, 0)
        with self.assertRaisesRegex(PricingError, 'days_in_period'):
            daily_rate(D('100'), 0)


# Hypothesis strategies: Decimals only, never floats.
def decimals(max_value=10 ** 6, places=2):
    return st.decimals(
        min_value=0, max_value=max_value, places=places,
        allow_nan=False, allow_infinity=False)


quantities = decimals(places=3)
transactions = st.integers(min_value=0, max_value=10 ** 4)
optional = lambda s: st.none() | s  # noqa: E731


@st.composite
def tier_lists(draw, prices=None, fees=True):
    """Valid tiers; prices 'up' or 'down' sorts unit prices and fees"""
    bounds = sorted(draw(st.sets(
                decimals(max_value=10 ** 4, places=1).filter(bool),
                max_size=4)))
    size = len(bounds) + 1
    unit_prices = draw(st.lists(decimals(max_value=100, places=4),
            min_size=size, max_size=size))
    flat_fees = draw(st.lists(
            decimals(max_value=100) if fees else st.just(D(0)),
            min_size=size, max_size=size))
    if prices:
        reverse = prices == 'down'
        unit_prices.sort(reverse=reverse)
        flat_fees.sort(reverse=reverse)
    return list(zip(bounds + [None], unit_prices, flat_fees))


def common(allowance=True):
    return {
        'allowance': decimals(places=3) if allowance else st.just(D(0)),
        'minimum': optional(decimals()),
        }


@st.composite
def percentage_params(draw):
    params = draw(st.fixed_dictionaries({
                'rate': decimals(max_value=100, places=3),
                'transaction_fee': decimals(max_value=10),
                'period_fee': decimals(max_value=100),
                'maximum': optional(decimals()),
                **common(),
                }))
    if params['maximum'] is not None and params['minimum'] is not None:
        assume(params['minimum'] <= params['maximum'])
    return params


def models(monotone_volume=False):
    "Any valid model; volume only with rising prices if monotone_volume"
    tiers = tier_lists('up') if monotone_volume else tier_lists()
    return st.one_of(
        st.builds(lambda p: price_model('flat', **p), st.fixed_dictionaries(
                {'price': decimals(), **common(allowance=False)})),
        st.builds(lambda p: price_model('per_unit', **p),
            st.fixed_dictionaries(
                {'unit_price': decimals(places=4), **common()})),
        st.builds(lambda p: price_model('volume', **p),
            st.fixed_dictionaries({'tiers': tiers, **common()})),
        st.builds(lambda p: price_model('graduated', **p),
            st.fixed_dictionaries({'tiers': tier_lists(), **common()})),
        st.builds(lambda p: price_model('package', **p),
            st.fixed_dictionaries({
                    'package_size': decimals(max_value=1000).filter(bool),
                    'package_price': decimals(), **common()})),
        st.builds(lambda p: price_model('percentage', **p),
            percentage_params()),
        )


class PropertiesTestCase(unittest.TestCase):
    "Properties that hold for every configuration"

    @given(models(), quantities, transactions)
    def test_charge_never_negative(self, model, quantity, count):
        self.assertGreaterEqual(model.amount(quantity, count), 0)

    @given(models(), quantities, transactions)
    def test_total_equals_sum_of_lines_all_decimal(
            self, model, quantity, count):
        check_charge(self, model.compute(quantity, count))

    @given(models(), quantities, transactions)
    def test_at_least_component_minimum(self, model, quantity, count):
        amount = model.amount(quantity, count)
        if model.minimum is not None:
            self.assertGreaterEqual(amount, model.minimum)

    @given(models(), quantities, transactions)
    def test_minimum_changes_nothing_above_it(self, model, quantity, count):
        params = model.to_dict()
        params['minimum'] = None
        amount = from_dict(params).amount(quantity, count)
        self.assertEqual(
            model.amount(quantity, count),
            apply_minimum(amount, model.minimum))

    @given(models(), quantities, transactions)
    def test_json_round_trip(self, model, quantity, count):
        stored = from_dict(json.loads(json.dumps(model.to_dict())))
        self.assertEqual(stored, model)
        self.assertEqual(
            stored.compute(quantity, count), model.compute(quantity, count))

    @given(tier_lists(), quantities)
    def test_graduated_total_is_sum_over_tiers(self, tiers, quantity):
        expected, lower = D(0), D(0)
        for up_to, unit_price, flat_fee in tiers:
            top = quantity if up_to is None else min(quantity, up_to)
            if top > lower:
                expected += (top - lower) * unit_price + flat_fee
            if up_to is not None:
                lower = up_to
        self.assertEqual(
            price_model('graduated', tiers=tiers).amount(quantity), expected)

    @given(tier_lists('down'), quantities, decimals(places=3))
    def test_volume_le_graduated_for_decreasing_prices(
            self, tiers, quantity, allowance):
        volume = price_model('volume', tiers=tiers, allowance=allowance)
        graduated = price_model('graduated', tiers=tiers, allowance=allowance)
        self.assertLessEqual(volume.amount(quantity),
            graduated.amount(quantity))

    @given(tier_lists('up', fees=False), quantities, decimals(places=3))
    def test_graduated_le_volume_for_increasing_prices_without_flat_fees(
            self, tiers, quantity, allowance):
        volume = price_model('volume', tiers=tiers, allowance=allowance)
        graduated = price_model('graduated', tiers=tiers, allowance=allowance)
        self.assertLessEqual(graduated.amount(quantity),
            volume.amount(quantity))

    @given(decimals(places=4), decimals(places=4), quantities)
    def test_single_tier_equals_per_unit(self, price, fee, quantity):
        per_unit = price_model('per_unit', unit_price=price).amount(quantity)
        for kind in ('volume', 'graduated'):
            model = price_model(kind, tiers=[(None, price)])
            self.assertEqual(model.amount(quantity), per_unit)

    @given(models(monotone_volume=True), quantities, quantities,
        transactions)
    def test_more_quantity_never_cheaper(self, model, q1, q2, count):
        # Volume is only included with non-decreasing prices and fees:
        # with falling prices it is not monotone (see VolumeTestCase).
        low, high = sorted([q1, q2])
        self.assertLessEqual(
            model.amount(low, count), model.amount(high, count))

    @given(tier_lists('down'), quantities, quantities)
    def test_volume_monotone_within_a_tier(self, tiers, q1, q2):
        model = price_model('volume', tiers=tiers)
        low, high = sorted([q1, q2])
        tier = lambda q: next(  # noqa: E731
            i for i, t in enumerate(tiers) if t[0] is None or q <= t[0])
        assume(low > 0 and tier(low) == tier(high))
        self.assertLessEqual(model.amount(low), model.amount(high))

    @given(models(monotone_volume=True), quantities, decimals(places=3),
        transactions)
    def test_allowance_never_increases_charge(
            self, model, quantity, allowance, count):
        params = model.to_dict()
        assume(params['kind'] != 'flat')
        params['allowance'] = str(
            model.allowance + allowance)
        with_more = from_dict(params)
        self.assertLessEqual(
            with_more.amount(quantity, count), model.amount(quantity, count))

    @given(percentage_params(), quantities, transactions)
    def test_percentage_within_maximum(self, params, base, count):
        model = price_model('percentage', **params)
        if model.maximum is not None:
            self.assertLessEqual(model.amount(base, count), model.maximum)

    @given(decimals(places=6), st.sampled_from(
            [D('0.01'), D('0.05'), D('1')]))
    def test_rounding_within_half_step(self, amount, rounding):
        rounded = round_amount(amount, rounding)
        self.assertIsInstance(rounded, Decimal)
        self.assertLessEqual(abs(rounded - amount), rounding / 2)
        self.assertEqual(rounded % rounding, 0)

    @given(decimals(), st.integers(min_value=1, max_value=366),
        st.integers(min_value=0, max_value=366),
        st.integers(min_value=0, max_value=366))
    def test_prorate_bounds(self, amount, days, used1, used2):
        assume(used1 <= days and used2 <= days)
        self.assertEqual(prorate(amount, days, days), amount)
        self.assertEqual(prorate(amount, 0, days), 0)
        low, high = sorted([used1, used2])
        self.assertLessEqual(
            prorate(amount, low, days), prorate(amount, high, days))
        self.assertIsInstance(prorate(amount, low, days), Decimal)
