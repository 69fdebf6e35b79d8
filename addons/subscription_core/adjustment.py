# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Annual index adjustments (reajuste) of contract prices.

Lei 10.192/2001, art. 2, §1: an adjustment (reajuste) of a contract's
prices by a price index is void when its periodicity is shorter than one
year. So a contract is adjusted at most once per 12 months, and never in
its first 12 months."""
import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, PYSONEncoder
from trytond.report import Report
from trytond.rpc import RPC
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from .notification import send_notification
from .price_index import FACTOR_DIGITS

# Lei 10.192/2001, art. 2, §1: adjustments at least one year apart.
MINIMUM_PERIOD = relativedelta(years=1)


class AdjustmentError(UserError):
    pass


class Configuration(metaclass=PoolMeta):
    __name__ = 'sale.configuration'

    adjustment_notice_days = fields.Integer(
        "Adjustment Notice Days", required=True,
        domain=[('adjustment_notice_days', '>=', 0)],
        help="How many days before the first adjusted charge the customer "
        "is told of the new price; also how far ahead the list of "
        "contracts due for adjustment looks.")
    adjustment_base = fields.Selection([
            ('contract', "Contract Anniversary"),
            ('company', "Company Base Date"),
            ], "Adjustment Anniversary", required=True,
        help="Whether contracts are adjusted on the anniversary of their "
        "activation or all on the company's base date.")
    adjustment_base_date = fields.Date(
        "Adjustment Base Date",
        states={
            'required': Eval('adjustment_base') == 'company',
            'invisible': Eval('adjustment_base') != 'company',
            },
        help="Its day and month are the yearly anniversary of every "
        "contract.")
    adjustment_notification = fields.Many2One(
        'notification.email', "Adjustment Notification",
        domain=[('model', '=', 'sale.subscription.adjustment')],
        help="The e-mail sent to the customer before the first "
        "adjusted charge.")

    @classmethod
    def default_adjustment_notice_days(cls):
        return 30

    @classmethod
    def default_adjustment_base(cls):
        return 'contract'

    @classmethod
    def default_adjustment_notification(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        return ModelData.get_id(
            'subscription_core', 'notification_adjustment_notice')


class Adjustment(ModelSQL, ModelView):
    """Contract Adjustment

    What an index adjustment changed on a contract. Written by the
    adjustment wizard only."""
    __name__ = 'sale.subscription.adjustment'

    contract = fields.Many2One(
        'sale.subscription', "Contract", required=True, readonly=True,
        ondelete='RESTRICT')
    party = fields.Many2One(
        'party.party', "Party", required=True, readonly=True,
        ondelete='RESTRICT')
    date = fields.Date("Date", required=True, readonly=True)
    anniversary = fields.Date("Anniversary", required=True, readonly=True)
    index = fields.Many2One(
        'sale.subscription.index', "Index", required=True, readonly=True,
        ondelete='RESTRICT')
    factor = fields.Numeric(
        "Factor", digits=(16, FACTOR_DIGITS), required=True, readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    old_amount = Monetary(
        "Old Price", currency='currency', digits='currency', required=True,
        readonly=True)
    new_amount = Monetary(
        "New Price", currency='currency', digits='currency', required=True,
        readonly=True)
    mrr_before = Monetary(
        "MRR Before", currency='currency', digits='currency', required=True,
        readonly=True)
    mrr_after = Monetary(
        "MRR After", currency='currency', digits='currency', required=True,
        readonly=True)
    first_charge_date = fields.Date(
        "First Adjusted Charge", readonly=True,
        help="When the first period at the new price is billed.")
    notice_date = fields.Date(
        "Notice Date", readonly=True,
        help="When the customer is told of the new price.")
    email = fields.Many2One('ir.email', "E-mail", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('contract')
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.contract, Index.Range()), (t.date, Index.Range())),
                Index(t, (t.notice_date, Index.Range()),
                    where=t.email == None),  # noqa: E711
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls.__rpc__.update({
                'send_notices': RPC(
                    readonly=False, result=lambda r: [a.id for a in r]),
                })

    def get_rec_name(self, name):
        return '%s @ %s' % (self.contract.rec_name, self.date)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'delete' or (mode == 'write' and external):
            raise AccessError(gettext(
                    'subscription_core.msg_adjustment_modify'))

    @classmethod
    def send_notices(cls, date=None):
        """Send the notices due on date (the cron's and tests' entry).

        A notice is due notice-days before the first adjusted charge; one
        applied too late to be on time is sent at once."""
        pool = Pool()
        Date = pool.get('ir.date')
        Configuration = pool.get('sale.configuration')
        if date is None:
            date = Date.today()
        notification = Configuration(1).adjustment_notification
        if not notification:
            return []
        adjustments = cls.search([
                ('notice_date', '<=', date),
                ('email', '=', None),
                ], order=[('notice_date', 'ASC'), ('id', 'ASC')])
        sent = []
        for adjustment, email in send_notification(notification, adjustments):
            adjustment.email = email
            sent.append(adjustment)
        cls.save(sent)
        return sent


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('sale.subscription.adjustment|send_notices',
                "Send Price Adjustment Notices"))


class AdjustmentNotice(Report):
    __name__ = 'sale.subscription.adjustment.notice'


class ContractEvent(metaclass=PoolMeta):
    __name__ = 'sale.subscription.event'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.type.selection.append(('adjustment', "Adjustment"))


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    adjustments = fields.One2Many(
        'sale.subscription.adjustment', 'contract', "Adjustments",
        readonly=True,
        help="The index adjustments of the contract's prices, at least "
        "12 months apart (Lei 10.192/2001, art. 2, §1).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'adjust_prices': RPC(readonly=False, instantiate=0),
                })

    @classmethod
    def adjust_prices(cls, contracts, index_id, date):
        "RPC entry of adjust: contract ids, index id and date"
        pool = Pool()
        Index_ = pool.get('sale.subscription.index')
        cls.adjust(contracts, Index_(index_id), date)

    def get_adjustment_anniversary(self, date):
        """Return the latest anniversary on or before date, or None in the
        contract's first year"""
        pool = Pool()
        Configuration = pool.get('sale.configuration')
        config = Configuration(1)
        start = self.activation_date or self.start_date
        if not start:
            return None
        base = (config.adjustment_base_date
            if config.adjustment_base == 'company' else start)
        years = date.year - base.year
        anniversary = base + relativedelta(years=years)
        if anniversary > date:
            anniversary = base + relativedelta(years=years - 1)
        if anniversary < start + MINIMUM_PERIOD:
            return None
        return anniversary

    def check_adjustment_allowed(self, date, adjustments=None):
        """Raise AdjustmentError when the contract cannot be adjusted on
        date (Lei 10.192/2001, art. 2, §1: at most once every 12 months,
        and not in the first 12 months)."""
        lang = Pool().get('ir.lang').get()
        start = self.activation_date or self.start_date
        if adjustments is None:
            adjustments = self.adjustments
        last = max((a.date for a in adjustments), default=None)
        if last and last + MINIMUM_PERIOD > date:
            raise AdjustmentError(gettext(
                    'subscription_core.msg_adjustment_within_12_months',
                    contract=self.rec_name,
                    last=lang.strftime(last),
                    next=lang.strftime(last + MINIMUM_PERIOD)))
        if (not start or start + MINIMUM_PERIOD > date
                or not self.get_adjustment_anniversary(date)):
            raise AdjustmentError(gettext(
                    'subscription_core.msg_adjustment_first_year',
                    contract=self.rec_name,
                    start=lang.strftime(start) if start else '',
                    next=lang.strftime(start + MINIMUM_PERIOD)
                    if start else ''))

    def _get_adjustable_lines(self, date):
        return [l for l in self.lines if not l.end_date or l.end_date >= date]

    def get_adjustment(self, index, date):
        """Return the adjustment of the contract on date by index and the
        new unit price of each line, without saving anything"""
        pool = Pool()
        Adjustment = pool.get('sale.subscription.adjustment')
        self.check_adjustment_allowed(date)
        anniversary = self.get_adjustment_anniversary(date)
        factor = index.get_factor(anniversary)
        lines = self._get_adjustable_lines(date)
        prices = {l: self.currency.round(l.unit_price * factor)
            for l in lines}

        def amount(price):
            return sum((Decimal(str(l.quantity or 0)) * price(l)
                    for l in lines), Decimal(0))
        old_amount = self.currency.round(amount(lambda l: l.unit_price))
        new_amount = self.currency.round(amount(lambda l: prices[l]))
        months = self.get_months_per_period()
        mrr_before = self.compute_mrr()
        mrr_after = mrr_before + self.currency.round(
            (new_amount - old_amount) / months)
        adjustment = Adjustment(
            contract=self, party=self.party, date=date,
            anniversary=anniversary, index=index, factor=factor,
            currency=self.currency, old_amount=old_amount,
            new_amount=new_amount, mrr_before=mrr_before,
            mrr_after=mrr_after)
        return adjustment, prices

    @classmethod
    def adjust(cls, contracts, index, date):
        """Adjust the prices of contracts by index on date.

        All the contracts are checked before anything is changed: one
        refused contract refuses the whole batch."""
        pool = Pool()
        Adjustment = pool.get('sale.subscription.adjustment')
        Line = pool.get('sale.subscription.line')
        Event = pool.get('sale.subscription.event')
        Configuration = pool.get('sale.configuration')
        notice_days = Configuration(1).adjustment_notice_days or 0
        computed = [c.get_adjustment(index, date) for c in contracts]
        adjustments, lines, events = [], [], []
        for contract, (adjustment, prices) in zip(contracts, computed):
            for line, price in prices.items():
                line.unit_price = price
                lines.append(line)
            # The new prices are billed from the next period due.
            adjustment.first_charge_date = max(
                contract.next_billing_date or date, date)
            # A notice applied too late is sent by the next notice run.
            adjustment.notice_date = (adjustment.first_charge_date
                - datetime.timedelta(notice_days))
            adjustments.append(adjustment)
            events.append(contract._get_event(
                    'adjustment', date, adjustment.mrr_before,
                    adjustment.mrr_after))
        Line.save(lines)
        Adjustment.save(adjustments)
        Event.save(events)
        return adjustments

    @classmethod
    def get_due_for_adjustment(cls, date=None, days=None):
        """Return the running contracts whose anniversary falls within
        days of date and that were not adjusted in the last 12 months"""
        pool = Pool()
        Date = pool.get('ir.date')
        Configuration = pool.get('sale.configuration')
        if date is None:
            date = Date.today()
        if days is None:
            days = Configuration(1).adjustment_notice_days or 0
        until = date + datetime.timedelta(days)
        contracts = cls.search([
                ('state', '=', 'running'),
                ('activation_date', '<=', until - MINIMUM_PERIOD),
                ], order=[('id', 'ASC')])
        due = []
        for contract in contracts:
            anniversary = contract.get_adjustment_anniversary(until)
            if not anniversary or anniversary < date:
                continue
            last = max((a.date for a in contract.adjustments), default=None)
            if last and last + MINIMUM_PERIOD > anniversary:
                continue
            due.append(contract)
        return due


class AdjustStart(ModelView):
    "Adjust Contracts"
    __name__ = 'sale.subscription.adjust.start'

    date = fields.Date(
        "Date", required=True,
        help="The adjustment date: contracts are adjusted by the index "
        "accumulated in the 12 months before their last anniversary.")
    index = fields.Many2One(
        'sale.subscription.index', "Index", required=True)
    plans = fields.Many2Many(
        'sale.subscription.plan', None, None, "Plans",
        help="Limit to the contracts of these plans.")
    due_only = fields.Boolean(
        "Due Only",
        help="Only the contracts whose anniversary is in the notice "
        "window and that were not adjusted in the last 12 months.")
    contracts = fields.Many2Many(
        'sale.subscription', None, None, "Contracts",
        domain=[('state', '=', 'running')],
        help="Leave empty to take every running contract of the filter.")

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_due_only(cls):
        return True


class AdjustPreviewLine(ModelView):
    "Adjust Contracts Preview Line"
    __name__ = 'sale.subscription.adjust.preview.line'

    contract = fields.Many2One(
        'sale.subscription', "Contract", readonly=True)
    anniversary = fields.Date("Anniversary", readonly=True)
    factor = fields.Numeric(
        "Factor", digits=(16, FACTOR_DIGITS), readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    old_amount = Monetary(
        "Old Price", currency='currency', digits='currency', readonly=True)
    new_amount = Monetary(
        "New Price", currency='currency', digits='currency', readonly=True)
    mrr_impact = Monetary(
        "MRR Impact", currency='currency', digits='currency', readonly=True)


class AdjustPreview(ModelView):
    "Adjust Contracts Preview"
    __name__ = 'sale.subscription.adjust.preview'

    lines = fields.One2Many(
        'sale.subscription.adjust.preview.line', None, "Contracts",
        readonly=True)
    mrr_impact = fields.Numeric("Total MRR Impact", readonly=True)


class Adjust(Wizard):
    "Adjust Contracts"
    __name__ = 'sale.subscription.adjust'
    start = StateView(
        'sale.subscription.adjust.start',
        'subscription_core.adjust_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Preview", 'preview', 'tryton-forward', default=True),
            ])
    preview = StateView(
        'sale.subscription.adjust.preview',
        'subscription_core.adjust_preview_view_form', [
            Button("Back", 'start', 'tryton-back'),
            Button("Apply", 'apply', 'tryton-ok', default=True),
            ])
    apply = StateTransition()

    def default_start(self, fields):
        if (self.model and self.model.__name__ == 'sale.subscription'
                and self.records):
            return {
                'contracts': [r.id for r in self.records],
                'due_only': False,
                }
        return {}

    def get_contracts(self):
        pool = Pool()
        Contract = pool.get('sale.subscription')
        if self.start.contracts:
            contracts = list(self.start.contracts)
        elif self.start.due_only:
            contracts = Contract.get_due_for_adjustment(self.start.date)
        else:
            contracts = Contract.search([('state', '=', 'running')])
        if self.start.plans:
            contracts = [c for c in contracts if c.plan in self.start.plans]
        if self.start.due_only and self.start.contracts:
            due = set(Contract.get_due_for_adjustment(self.start.date))
            contracts = [c for c in contracts if c in due]
        if not contracts:
            raise AdjustmentError(gettext(
                    'subscription_core.msg_adjustment_no_contract'))
        return contracts

    def default_preview(self, fields):
        lines = []
        for contract in self.get_contracts():
            adjustment, _ = contract.get_adjustment(
                self.start.index, self.start.date)
            lines.append({
                    'contract': contract.id,
                    'anniversary': adjustment.anniversary,
                    'factor': adjustment.factor,
                    'currency': contract.currency.id,
                    'old_amount': adjustment.old_amount,
                    'new_amount': adjustment.new_amount,
                    'mrr_impact': adjustment.mrr_after - adjustment.mrr_before,
                    })
        return {
            'lines': lines,
            'mrr_impact': sum((l['mrr_impact'] for l in lines), Decimal(0)),
            }

    def transition_apply(self):
        pool = Pool()
        Contract = pool.get('sale.subscription')
        Contract.adjust(
            self.get_contracts(), self.start.index, self.start.date)
        return 'end'


class AdjustmentDueStart(ModelView):
    "Contracts Due for Adjustment"
    __name__ = 'sale.subscription.adjustment_due.start'

    date = fields.Date("Date", required=True)
    days = fields.Integer(
        "Days", required=True, domain=[('days', '>=', 0)],
        help="List the contracts whose anniversary falls within these "
        "days from the date.")

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_days(cls):
        pool = Pool()
        Configuration = pool.get('sale.configuration')
        return Configuration(1).adjustment_notice_days


class AdjustmentDue(Wizard):
    "Contracts Due for Adjustment"
    __name__ = 'sale.subscription.adjustment_due'
    start = StateView(
        'sale.subscription.adjustment_due.start',
        'subscription_core.adjustment_due_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Open", 'open_', 'tryton-ok', default=True),
            ])
    open_ = StateAction('subscription_core.act_contract_adjustment_due')

    def do_open_(self, action):
        pool = Pool()
        Contract = pool.get('sale.subscription')
        contracts = Contract.get_due_for_adjustment(
            self.start.date, self.start.days)
        action['pyson_domain'] = PYSONEncoder().encode(
            [('id', 'in', [c.id for c in contracts])])
        return action, {}
