# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Discount coupons on contracts.

A coupon gives a percentage or a fixed amount off the setup fee and/or the
recurring fee, for a number of cycles or forever. The billing run yields
the discounts as negative charges next to what they discount."""
import datetime
from decimal import Decimal

from sql.aggregate import Count

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.rpc import RPC
from trytond.transaction import Transaction


class CouponError(UserError):
    pass


class CouponValidationError(ValidationError):
    pass


_DISCOUNT_TYPES = [
    (None, ""),
    ('percentage', "Percentage"),
    ('fixed', "Fixed Amount"),
    ]


def _percent(value):
    return value.quantize(Decimal('0.01'))


class Coupon(DeactivableMixin, ModelSQL, ModelView):
    "Contract Coupon"
    __name__ = 'sale.subscription.coupon'

    company = fields.Many2One('company.company', "Company", required=True)
    code = fields.Char(
        "Code", required=True,
        help="What the customer types; stored in capitals.")
    name = fields.Char("Name", translate=True)
    start_date = fields.Date(
        "Start Date",
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('start_date', '<=', Eval('end_date')), ())],
        help="The first day the coupon may be redeemed.")
    end_date = fields.Date(
        "End Date",
        help="The last day the coupon may be redeemed.")
    max_redemptions = fields.Integer(
        "Maximum Uses",
        domain=['OR',
            ('max_redemptions', '=', None),
            ('max_redemptions', '>', 0)],
        help="How many contracts may use the coupon; empty for no limit.")
    max_per_customer = fields.Integer(
        "Maximum Uses per Customer",
        domain=['OR',
            ('max_per_customer', '=', None),
            ('max_per_customer', '>', 0)],
        help="How many contracts of one customer may use the coupon; "
        "empty for no limit.")
    max_installments = fields.Integer(
        "Maximum Installments (Annual Plans)",
        domain=['OR',
            ('max_installments', '=', None),
            ('max_installments', '>', 0)],
        help="On annual plans, the most installments the contract's "
        "payment term may split a bill into; empty for no limit.")
    salesperson = fields.Many2One(
        'company.employee', "Salesperson",
        domain=[('company', '=', Eval('company', -1))])
    plans = fields.Many2Many(
        'sale.subscription.coupon-sale.subscription.plan', 'coupon', 'plan',
        "Plans",
        domain=[('company', '=', Eval('company', -1))],
        help="The plans the coupon applies to; empty for all.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    recurring_type = fields.Selection(
        _DISCOUNT_TYPES, "Recurring Discount",
        help="The discount on the recurring (monthly) fee.")
    recurring_value = fields.Numeric(
        "Recurring Value", digits=(16, 4),
        domain=['OR',
            ('recurring_value', '=', None),
            ('recurring_value', '>', 0)],
        states={
            'required': Bool(Eval('recurring_type')),
            'invisible': ~Eval('recurring_type'),
            },
        help="Percent, or amount per full period.")
    cycles = fields.Integer(
        "Cycles",
        domain=['OR', ('cycles', '=', None), ('cycles', '>', 0)],
        states={
            'invisible': ~Eval('recurring_type'),
            },
        help="How many billing periods get the recurring discount; "
        "empty for as long as the contract lasts.")
    setup_type = fields.Selection(
        _DISCOUNT_TYPES, "Setup Fee Discount",
        help="The discount on the setup fee.")
    setup_value = fields.Numeric(
        "Setup Value", digits=(16, 4),
        domain=['OR',
            ('setup_value', '=', None),
            ('setup_value', '>', 0)],
        states={
            'required': Bool(Eval('setup_type')),
            'invisible': ~Eval('setup_type'),
            },
        help="Percent, or amount off the setup fee.")
    redemptions = fields.One2Many(
        'sale.subscription.coupon.redemption', 'coupon', "Redemptions",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_company_uniq', Unique(t, t.company, t.code),
                'subscription_core.msg_coupon_code_unique'),
            ]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('code'):
            # Codes are typed by customers: stored in capitals, compared so.
            values['code'] = values['code'].strip().upper()
        return values

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    def get_rec_name(self, name):
        return self.code

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('code',) + tuple(clause[1:])]

    @classmethod
    def validate_fields(cls, coupons, field_names):
        super().validate_fields(coupons, field_names)
        for coupon in coupons:
            if not coupon.recurring_type and not coupon.setup_type:
                raise CouponValidationError(gettext(
                        'subscription_core.msg_coupon_no_discount',
                        coupon=coupon.rec_name))
            for type_, value in [
                    (coupon.recurring_type, coupon.recurring_value),
                    (coupon.setup_type, coupon.setup_value)]:
                if type_ == 'percentage' and value > 100:
                    raise CouponValidationError(gettext(
                            'subscription_core.msg_coupon_percentage_range',
                            coupon=coupon.rec_name, value=_percent(value)))
            limit = (coupon.salesperson.coupon_max_discount
                if coupon.salesperson else None)
            if limit is not None:
                for type_, value in [
                        (coupon.recurring_type, coupon.recurring_value),
                        (coupon.setup_type, coupon.setup_value)]:
                    if type_ == 'percentage' and value > limit:
                        raise CouponValidationError(gettext(
                                'subscription_core'
                                '.msg_coupon_salesperson_limit',
                                coupon=coupon.rec_name,
                                salesperson=coupon.salesperson.rec_name,
                                value=_percent(value),
                                limit=_percent(limit)))

    def percentages(self, plan):
        """Return the (recurring, setup) discounts in percent of plan's
        prices, fixed amounts converted"""
        def percent(type_, value, price):
            if not type_:
                return Decimal(0)
            if type_ == 'percentage':
                return value
            if not price:
                return Decimal(100)
            return value * 100 / price
        return (
            percent(self.recurring_type, self.recurring_value, plan.price),
            percent(self.setup_type, self.setup_value, plan.setup_fee))

    def get_discount(self, kind, amount, ratio):
        """Return the discount (positive) on amount of kind ('recurring' or
        'setup'), never more than amount"""
        type_ = getattr(self, '%s_type' % kind)
        value = getattr(self, '%s_value' % kind)
        if not type_ or amount <= 0:
            return Decimal(0)
        discount = getattr(self, '_get_discount_%s' % type_)(
            value, amount, ratio if kind == 'recurring' else Decimal(1))
        return min(self.currency.round(discount), amount)

    def _get_discount_percentage(self, value, amount, ratio):
        return amount * value / 100

    def _get_discount_fixed(self, value, amount, ratio):
        # A fixed amount per full period: pro-rata periods get their share.
        return value * ratio


class CouponPlan(ModelSQL):
    "Coupon - Plan"
    __name__ = 'sale.subscription.coupon-sale.subscription.plan'
    coupon = fields.Many2One(
        'sale.subscription.coupon', "Coupon", required=True,
        ondelete='CASCADE')
    plan = fields.Many2One(
        'sale.subscription.plan', "Plan", required=True, ondelete='CASCADE')


class Redemption(ModelSQL, ModelView):
    "Coupon Redemption"
    __name__ = 'sale.subscription.coupon.redemption'

    coupon = fields.Many2One(
        'sale.subscription.coupon', "Coupon", required=True,
        ondelete='RESTRICT')
    contract = fields.Many2One(
        'sale.subscription', "Contract", required=True, ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Party", required=True, readonly=True,
        ondelete='RESTRICT')
    date = fields.Date(
        "Date", required=True,
        help="Periods starting from this day get the discount.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('contract')
        t = cls.__table__()
        cls._sql_constraints += [
            ('coupon_contract_uniq', Unique(t, t.coupon, t.contract),
                'subscription_core.msg_coupon_contract_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.coupon, Index.Equality()),
                    (t.party, Index.Equality())),
                })

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @fields.depends('contract', '_parent_contract.party')
    def on_change_contract(self):
        self.party = self.contract.party if self.contract else None

    def get_rec_name(self, name):
        return '%s @ %s' % (self.coupon.rec_name, self.contract.rec_name)

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Contract = pool.get('sale.subscription')
        values = super().preprocess_values(mode, values)
        if values.get('contract') is not None:
            values['party'] = Contract(values['contract']).party.id
        return values

    @classmethod
    def redeem(cls, contract, code, date=None):
        "Apply the coupon of code to contract on date"
        pool = Pool()
        Coupon = pool.get('sale.subscription.coupon')
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        coupons = Coupon.search([
                ('company', '=', contract.company.id),
                ('code', '=', code.strip().upper()),
                ], limit=1)
        if not coupons:
            raise CouponError(gettext(
                    'subscription_core.msg_coupon_unknown', code=code))
        coupon, = coupons
        redemption, = cls.create([{
                    'coupon': coupon.id,
                    'contract': contract.id,
                    'date': date,
                    }])
        return redemption

    @classmethod
    def validate_fields(cls, redemptions, field_names):
        super().validate_fields(redemptions, field_names)
        cls.check_limits(redemptions)

    @classmethod
    def _count(cls, coupons, by_party=False):
        "Return the redemptions per coupon (and party)"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        columns = [table.coupon] + ([table.party] if by_party else [])
        cursor.execute(*table.select(
                *columns, Count(table.id),
                where=table.coupon.in_([c.id for c in coupons]),
                group_by=columns))
        return {tuple(r[:-1]): r[-1] for r in cursor}

    @classmethod
    def check_limits(cls, redemptions):
        coupons = list({r.coupon for r in redemptions})
        totals = cls._count(coupons)
        per_party = cls._count(coupons, by_party=True)
        for redemption in redemptions:
            redemption.check_coupon(
                totals.get((redemption.coupon.id,), 0),
                per_party.get(
                    (redemption.coupon.id, redemption.party.id), 0))

    def check_coupon(self, total, party_total):
        "Raise CouponValidationError when the coupon does not apply"
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        coupon, contract = self.coupon, self.contract
        names = {'coupon': coupon.rec_name, 'contract': contract.rec_name}
        if not coupon.active or coupon.company != contract.company:
            raise CouponValidationError(gettext(
                    'subscription_core.msg_coupon_inactive', **names))
        if ((coupon.start_date and self.date < coupon.start_date)
                or (coupon.end_date and self.date > coupon.end_date)):
            raise CouponValidationError(gettext(
                    'subscription_core.msg_coupon_expired',
                    date=lang.strftime(self.date),
                    start=lang.strftime(coupon.start_date)
                    if coupon.start_date else '',
                    end=lang.strftime(coupon.end_date)
                    if coupon.end_date else '',
                    **names))
        if coupon.plans and contract.plan not in coupon.plans:
            raise CouponValidationError(gettext(
                    'subscription_core.msg_coupon_plan',
                    plan=contract.plan.rec_name if contract.plan else '',
                    **names))
        if coupon.max_redemptions and total > coupon.max_redemptions:
            raise CouponValidationError(gettext(
                    'subscription_core.msg_coupon_max_redemptions',
                    max=coupon.max_redemptions, **names))
        if coupon.max_per_customer and party_total > coupon.max_per_customer:
            raise CouponValidationError(gettext(
                    'subscription_core.msg_coupon_max_per_customer',
                    max=coupon.max_per_customer,
                    party=self.party.rec_name, **names))
        installments = self.get_installments()
        if (coupon.max_installments and installments
                and installments > coupon.max_installments):
            raise CouponValidationError(gettext(
                    'subscription_core.msg_coupon_max_installments',
                    installments=installments,
                    max=coupon.max_installments, **names))
        if contract.plan:
            limits = [
                (contract.plan.coupon_max_discount,
                    contract.plan.rec_name),
                (coupon.salesperson.coupon_max_discount
                    if coupon.salesperson else None,
                    coupon.salesperson.rec_name
                    if coupon.salesperson else ''),
                ]
            for percent in coupon.percentages(contract.plan):
                for limit, name in limits:
                    if limit is not None and percent > limit:
                        raise CouponValidationError(gettext(
                                'subscription_core.msg_coupon_max_discount',
                                percent=_percent(percent),
                                limit=_percent(limit),
                                name=name, **names))

    def get_installments(self):
        """Return how many installments the payment term splits the
        contract's annual bills into, or None when the plan is not
        annual"""
        contract = self.contract
        plan = contract.plan
        recurrence = (contract.invoice_recurrence
            or (plan.recurrence if plan else None))
        if not recurrence or not any(
                r.freq == 'yearly'
                or (r.freq == 'monthly' and r.interval == 12)
                for r in recurrence.rules):
            return None
        party = contract.invoice_party or contract.party
        term = contract.payment_term or (
            party.customer_payment_term if party else None)
        return len(term.lines) if term else 1

    @classmethod
    def check_modification(
            cls, mode, redemptions, values=None, external=False):
        super().check_modification(
            mode, redemptions, values=values, external=external)
        if mode in {'write', 'delete'}:
            pool = Pool()
            Charge = pool.get('sale.subscription.charge')
            # A coupon already on an invoice is history.
            if Charge.search([
                        ('contract', 'in',
                            [r.contract.id for r in redemptions]),
                        ('kind', 'in', ['discount', 'setup_discount']),
                        ], limit=1):
                raise CouponValidationError(gettext(
                        'subscription_core.msg_coupon_redemption_billed'))


class Plan(metaclass=PoolMeta):
    __name__ = 'sale.subscription.plan'

    coupon_max_discount = fields.Numeric(
        "Maximum Coupon Discount (%)", digits=(16, 2),
        domain=['OR',
            ('coupon_max_discount', '=', None),
            [('coupon_max_discount', '>=', 0),
                ('coupon_max_discount', '<=', 100)]],
        help="The largest discount a coupon may give on the plan's fees, "
        "in percent; empty for no limit.")


class Employee(metaclass=PoolMeta):
    __name__ = 'company.employee'

    coupon_max_discount = fields.Numeric(
        "Maximum Coupon Discount (%)", digits=(16, 2),
        domain=['OR',
            ('coupon_max_discount', '=', None),
            [('coupon_max_discount', '>=', 0),
                ('coupon_max_discount', '<=', 100)]],
        help="The largest discount of the coupons linked to the "
        "salesperson, in percent; empty for no limit.")


class Charge(metaclass=PoolMeta):
    __name__ = 'sale.subscription.charge'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # One discount charge per line and period (the charge's unique
        # key): the discounts of several coupons are summed in it.
        cls.kind.selection.extend([
                ('discount', "Discount"),
                ('setup_discount', "Setup Fee Discount"),
                ])


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    coupon_redemptions = fields.One2Many(
        'sale.subscription.coupon.redemption', 'contract', "Coupons",
        states={
            'readonly': Eval('state').in_(['closed', 'cancelled']),
            })

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'redeem_coupon': RPC(readonly=False, instantiate=0),
                })

    @classmethod
    def copy(cls, contracts, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('coupon_redemptions', None)
        return super().copy(contracts, default=default)

    @classmethod
    def redeem_coupon(cls, contracts, code, date=None):
        "Apply the coupon of code to contracts on date (portal, API)"
        pool = Pool()
        Redemption = pool.get('sale.subscription.coupon.redemption')
        for contract in contracts:
            Redemption.redeem(contract, code, date)

    @classmethod
    def _get_bill_signatures(cls, contracts, billed, cache):
        pool = Pool()
        Redemption = pool.get('sale.subscription.coupon.redemption')
        signatures = super()._get_bill_signatures(contracts, billed, cache)
        # A coupon's discount depends on its redemption (date, cycles
        # used): such a contract is billed alone.
        for redemption in Redemption.search_read([
                    ('contract', 'in', list(signatures)),
                    ], fields_names=['contract']):
            signatures[redemption['contract']]['key'] = None
        return signatures

    def _get_period_charges(self, period_start, period_end, ratio, first):
        charges = list(super()._get_period_charges(
                period_start, period_end, ratio, first))
        yield from charges
        # Read through the One2Many: the ORM loads the redemptions (and
        # their coupons) of the whole chunk of contracts in one query.
        redemptions = [r for r in self.coupon_redemptions
            if r.date <= period_start]
        if redemptions:
            yield from self._get_coupon_discounts(
                redemptions, charges, period_start, ratio)

    def _get_coupon_discounts(self, redemptions, charges, period_start,
            ratio):
        "Yield the discount charges of the redemptions on charges"
        recurring = [r for r in redemptions
            if r.coupon.recurring_type
            and self._coupon_cycle(r, period_start) is not None]
        setup = [r for r in redemptions if r.coupon.setup_type]
        fixed_left = {}
        for line, kind, amount, quantity, unit_price, product, \
                description in charges:
            if kind == 'recurring' and recurring:
                applied = recurring
                discount = Decimal(0)
                left = amount
                for redemption in recurring:
                    coupon = redemption.coupon
                    if coupon.recurring_type == 'fixed':
                        # A fixed amount is taken once per period, from
                        # the lines in turn.
                        remaining = fixed_left.setdefault(
                            coupon, coupon.get_discount(
                                'recurring', sum(
                                    (c[2] for c in charges
                                        if c[1] == 'recurring'),
                                    Decimal(0)), ratio))
                        value = min(remaining, left)
                        fixed_left[coupon] = remaining - value
                    else:
                        value = coupon.get_discount(
                            'recurring', left, ratio)
                    discount += value
                    left -= value
                if discount:
                    yield self._get_coupon_charge(
                        line, 'discount', discount, product, applied,
                        description)
            elif kind == 'setup' and setup:
                discount = Decimal(0)
                left = amount
                for redemption in setup:
                    value = redemption.coupon.get_discount(
                        'setup', left, ratio)
                    discount += value
                    left -= value
                if discount:
                    yield self._get_coupon_charge(
                        line, 'setup_discount', discount, product, setup,
                        description)

    def _get_coupon_charge(self, line, kind, discount, product, redemptions,
            description):
        amount = -discount
        text = gettext('subscription_core.msg_coupon_discount_line',
            coupons=', '.join(r.coupon.rec_name for r in redemptions),
            description=description)
        return (line, kind, amount, 1, amount, product, text)

    def _coupon_cycle(self, redemption, period_start):
        """Return the number (from 0) of the period starting on
        period_start among those the redemption discounts, or None when
        its cycles are used up"""
        cycles = redemption.coupon.cycles
        if not cycles:
            return 0
        count = 0
        for start, _, _ in self.get_periods(
                redemption.date, datetime.date.max):
            if start >= period_start:
                return count
            count += 1
            if count >= cycles:
                return None
        return count
