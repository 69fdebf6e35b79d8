# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Contract changes: upgrade, downgrade, add-ons, quantity and plan
switches, applied at once with pro-rata by days or at the period end."""
import datetime
from collections import namedtuple
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.product import price_digits
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import ContractChangeError
from .proration import change_proration

# What a contract change or termination charges: the arguments of
# Contract._get_charge.
ChargeItem = namedtuple('ChargeItem', [
        'line', 'kind', 'period_start', 'period_end', 'ratio', 'amount',
        'quantity', 'unit_price', 'product', 'description'])

CHANGE_KINDS = [
    ('plan', "Plan Switch"),
    ('add_addon', "Add Add-on"),
    ('remove_addon', "Remove Add-on"),
    ('quantity', "Quantity Change"),
    ('cancellation', "Cancellation"),
    ]
TIMINGS = [
    ('immediate', "Immediately"),
    ('period_end', "At Period End"),
    ]
ONE_DAY = datetime.timedelta(1)


class Plan(metaclass=PoolMeta):
    __name__ = 'sale.subscription.plan'

    allowed_changes = fields.Selection([
            ('none', "None"),
            ('upgrade', "Upgrade Only"),
            ('upgrade_downgrade', "Upgrade and Downgrade"),
            ], "Allowed Changes", required=True,
        help="Which changes of recurring revenue contracts on this plan "
        "accept.")
    change_timing = fields.Selection([
            ('immediate', "Immediately"),
            ('period_end', "At Period End"),
            ('upgrade_immediate',
                "Upgrades Immediately, Downgrades at Period End"),
            ], "Change Timing", required=True,
        help="When changes take effect. Immediate changes are pro-rata "
        "by days: credit of the unused part billed in advance, charge of "
        "the new part.")
    addons = fields.One2Many(
        'sale.subscription.plan.addon', 'plan', "Add-ons",
        help="The optional services contracts on this plan may add.")

    @classmethod
    def default_allowed_changes(cls):
        return 'upgrade_downgrade'

    @classmethod
    def default_change_timing(cls):
        return 'upgrade_immediate'


class PlanAddon(ModelSQL, ModelView):
    "Plan Add-on"
    __name__ = 'sale.subscription.plan.addon'

    plan = fields.Many2One(
        'sale.subscription.plan', "Plan", required=True, ondelete='CASCADE')
    service = fields.Many2One(
        'sale.subscription.service', "Service", required=True)
    unit_price = fields.Numeric(
        "Unit Price", digits=price_digits, required=True,
        domain=[('unit_price', '>=', 0)],
        help="The recurring price per period and unit.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('plan')


class Charge(metaclass=PoolMeta):
    __name__ = 'sale.subscription.charge'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.kind.selection += [
            ('proration', "Pro-rata Change"),
            ('credit', "Credit"),
            ('penalty', "Early Termination Penalty"),
            ]


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def _get_bill_signatures(cls, contracts, billed, cache):
        # _get_period_charges reads the lines' start and end dates: stored
        # fields, in the signature already.
        return super()._get_bill_signatures(contracts, billed, cache)

    changes = fields.One2Many(
        'sale.subscription.change', 'contract', "Changes", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'change': {
                    'invisible': Eval('state') != 'running',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                })

    @classmethod
    @ModelView.button_action('subscription_core.wizard_change')
    def change(cls, contracts):
        pass

    def get_period_end(self, date):
        "Return the first day after the billing period holding date"
        base = self.financial_base_date or self.start_date
        for _, period_end, _ in self.get_periods(base, datetime.date.max):
            if period_end > date:
                return period_end
        return (self.end_date + ONE_DAY) if self.end_date else date

    def _get_period_charges(self, period_start, period_end, ratio, first):
        # A line started or ended inside the period (a change) is billed
        # for its own days only.
        for charge in super()._get_period_charges(
                period_start, period_end, ratio, first):
            line, kind = charge[:2]
            start = max(period_start, line.start_date or period_start)
            end = min(period_end,
                (line.end_date + ONE_DAY) if line.end_date else period_end)
            if kind != 'recurring' or (start, end) == (
                    period_start, period_end):
                yield charge
                continue
            days = Decimal((end - start).days)
            unit_price = self._round_unit_price(
                line.unit_price * ratio * days
                / Decimal((period_end - period_start).days))
            amount = self.currency.round(
                Decimal(str(line.quantity)) * unit_price)
            description = '%s (%s)' % (
                line.description or line.service.rec_name,
                self._format_period(start, end))
            yield (line, kind, amount, line.quantity, unit_price) + (
                charge[5], description)

    def _get_billed_periods(self, date):
        """Return {(line, period_end): (period_start, full_days)} for the
        recurring and pro-rata charges that run after date."""
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        billed = {}
        for charge in Charge.search([
                    ('contract', '=', self.id),
                    ('kind', 'in', ['recurring', 'proration']),
                    ('period_end', '>', date),
                    ]):
            days = Decimal((charge.period_end - charge.period_start).days)
            # The ratio is the share of the full cycle the charge covers.
            full = int((days / charge.ratio).to_integral_value())
            billed[charge.line, charge.period_end] = (
                charge.period_start, full)
        return billed

    def get_change_charges(self, old, new, date):
        """Return the charge items of replacing line old by line new on
        date (either may be None): the credit of the part of old billed
        in advance after date, the charge of new for the same days."""
        billed = self._get_billed_periods(date)
        periods = {}
        for (line, period_end), (period_start, full) in billed.items():
            periods.setdefault(period_end, (period_start, full))
        items = []
        for period_end, (period_start, full) in sorted(periods.items()):
            start = max(period_start, date)
            days = (period_end - start).days
            if days <= 0:
                continue
            old_amount = Decimal(0)
            if old and (old, period_end) in billed:
                old_amount = self._get_line_full_amount(old)
            new_amount = (
                self._get_line_full_amount(new) if new else Decimal(0))
            credit, charge = change_proration(
                old_amount, new_amount, days, full, self.currency.rounding)
            ratio = Decimal(days) / Decimal(full)
            period = self._format_period(start, period_end)
            for line, kind, amount, message in [
                    (old, 'credit', -credit, 'msg_change_credit_line'),
                    (new, 'proration', charge,
                        'msg_change_proration_line')]:
                if not amount:
                    continue
                items.append(ChargeItem(
                        line, kind, start, period_end, ratio, amount, 1,
                        amount, line.service.product,
                        gettext('subscription_core.%s' % message,
                            line=line.description or line.service.rec_name,
                            days=days, full=full, period=period)))
        return items

    def get_unused_credits(self, date):
        "Return the credit items of what was billed for after date"
        items = []
        for (line, period_end), (period_start, full) in sorted(
                self._get_billed_periods(date).items(),
                key=lambda i: (i[0][1], i[0][0].id)):
            start = max(period_start, date)
            end = min(period_end,
                (line.end_date + ONE_DAY) if line.end_date else period_end)
            days = (end - start).days
            if days <= 0:
                continue
            credit, _ = change_proration(
                self._get_line_full_amount(line), Decimal(0), days, full,
                self.currency.rounding)
            if credit:
                items.append(ChargeItem(
                        line, 'credit', start, end,
                        Decimal(days) / Decimal(full), -credit, 1, -credit,
                        line.service.product,
                        gettext('subscription_core.msg_change_credit_line',
                            line=line.description or line.service.rec_name,
                            days=days, full=full,
                            period=self._format_period(start, end))))
        return items

    def _get_line_full_amount(self, line):
        "Return what line costs for a full period"
        return self.currency.round(
            Decimal(str(line.quantity or 0)) * (line.unit_price or 0))

    def create_adjustment_invoice(self, items, date):
        """Invoice charge items on date, with their charges; return the
        invoice or None when there is nothing to invoice."""
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        Configuration = pool.get('sale.configuration')
        if not items:
            return None
        cache = {}
        charges, lines = [], []
        for item in items:
            charge, line = self._get_charge(
                item.line, item.kind, item.period_start, item.period_end,
                item.ratio, item.amount, item.quantity, item.unit_price,
                item.product, item.description, cache)
            charges.append(charge)
            lines.append(line)
        invoice = self._get_billing_invoice(
            date, min(i.period_start for i in items),
            max(i.period_end for i in items), cache)
        invoice.payment_term_date = date
        Invoice.save([invoice])
        for line in lines:
            line.invoice = invoice
        InvoiceLine.save(lines)
        for charge in charges:
            charge.invoice = invoice
        Charge.save(charges)
        Invoice.update_taxes([invoice])
        if Configuration(1).contract_invoice_state == 'posted':
            # As the billing run: the report is rendered when opened, and
            # the invoice is dated on purpose (the change's date), so the
            # warning of a payment date in the past does not apply.
            with Transaction().set_context(
                    subscription_billing=True, _skip_warnings=True):
                Invoice.post([invoice])
        return invoice


class Change(Workflow, ModelSQL, ModelView):
    """Contract Change

    A change asked for a contract: applied at once, or scheduled for the
    end of the billing period and applied by the daily lifecycle run."""
    __name__ = 'sale.subscription.change'

    contract = fields.Many2One(
        'sale.subscription', "Contract", required=True, readonly=True,
        ondelete='RESTRICT')
    kind = fields.Selection(CHANGE_KINDS, "Kind", required=True, readonly=True)
    timing = fields.Selection(TIMINGS, "Timing", required=True, readonly=True)
    date = fields.Date(
        "Effective Date", required=True, readonly=True,
        help="The first day of the change; for a cancellation, the last "
        "day of service.")
    line = fields.Many2One(
        'sale.subscription.line', "Line", readonly=True,
        ondelete='RESTRICT',
        help="The contract line replaced or removed.")
    plan = fields.Many2One(
        'sale.subscription.plan', "New Plan", readonly=True)
    service = fields.Many2One(
        'sale.subscription.service', "Add-on", readonly=True)
    quantity = fields.Float("Quantity", readonly=True)
    reason = fields.Many2One(
        'sale.subscription.reason', "Reason", readonly=True,
        domain=[('type', '=', 'cancellation')])
    new_line = fields.Many2One(
        'sale.subscription.line', "New Line", readonly=True,
        ondelete='RESTRICT')
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    mrr_before = Monetary(
        "MRR Before", currency='currency', digits='currency', readonly=True)
    mrr_after = Monetary(
        "MRR After", currency='currency', digits='currency', readonly=True)
    invoice = fields.Many2One(
        'account.invoice', "Invoice", readonly=True, ondelete='RESTRICT')
    user = fields.Many2One('res.user', "Asked By", readonly=True)
    state = fields.Selection([
            ('scheduled', "Scheduled"),
            ('applied', "Applied"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('contract')
        cls._order.insert(0, ('date', 'DESC'))
        cls._transitions |= {
            ('scheduled', 'applied'),
            ('scheduled', 'cancelled'),
            }
        cls._buttons.update({
                'cancel': {
                    'invisible': Eval('state') != 'scheduled',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'scheduled'

    @classmethod
    def default_user(cls):
        return Transaction().user

    def get_rec_name(self, name):
        return '%s @ %s' % (self.contract.rec_name, self.date)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, changes):
        pass

    @classmethod
    @Workflow.transition('applied')
    def apply(cls, changes):
        for change in changes:
            change.check()
            getattr(change, '_apply_%s' % change.kind)()
        cls.save(changes)

    @classmethod
    def apply_scheduled(cls, date=None):
        "Apply the changes scheduled on or before date"
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        changes = cls.search([
                ('state', '=', 'scheduled'),
                ('date', '<=', date),
                ('contract.company', '=',
                    Transaction().context.get('company', -1)),
                ], order=[('date', 'ASC'), ('id', 'ASC')])
        # A contract ended since the change was scheduled drops it rather
        # than stopping the run.
        ended = [c for c in changes
            if c.contract.state not in c._allowed_states()]
        cls.cancel(ended)
        changes = [c for c in changes if c not in ended]
        cls.apply(changes)
        return changes

    def _allowed_states(self):
        "Return the contract states the change applies to"
        if self.kind == 'cancellation':
            return {'running', 'suspended'}
        return {'running'}

    # Validation ------------------------------------------------------

    def check(self):
        "Raise when the change cannot be applied as asked"
        contract = self.contract
        if contract.state not in self._allowed_states():
            self._raise('msg_change_contract_not_running')
        getattr(self, '_check_%s' % self.kind)()
        old, new = self.get_lines()
        if old and old.start_date and self.date <= old.start_date:
            self._raise('msg_change_date_before_line',
                line=old.rec_name, start=old.start_date)
        if self.date < contract.start_date:
            self._raise('msg_change_date_before_start',
                start=contract.start_date)
        if self.kind != 'cancellation':
            mrr_before, mrr_after = self.get_mrr()
            getattr(self, '_check_allowed_%s' % (
                    contract.plan.allowed_changes))(mrr_after - mrr_before)

    def _raise(self, message, **values):
        raise ContractChangeError(gettext(
                'subscription_core.%s' % message,
                contract=self.contract.rec_name, **values))

    def _check_plan(self):
        if not self.plan or self.plan == self.contract.plan:
            self._raise('msg_change_plan_required')
        if (self.plan.company != self.contract.company
                or self.plan.currency != self.contract.currency):
            self._raise('msg_change_plan_company', plan=self.plan.rec_name)
        if not self.line:
            self._raise('msg_change_no_plan_line')

    def _check_add_addon(self):
        services = {a.service for a in self.contract.plan.addons}
        if not self.service or self.service not in services:
            self._raise('msg_change_addon_not_allowed',
                addons=', '.join(sorted(s.rec_name for s in services))
                or '-')
        self._check_quantity_value()

    def _check_remove_addon(self):
        services = {a.service for a in self.contract.plan.addons}
        if not self.line or self.line.service not in services:
            self._raise('msg_change_line_not_addon')
        self._check_active_line()

    def _check_quantity(self):
        self._check_active_line()
        self._check_quantity_value()
        if self.quantity == self.line.quantity:
            self._raise('msg_change_same_quantity')

    def _check_cancellation(self):
        if not self.reason:
            self._raise('msg_change_reason_required')

    def _check_active_line(self):
        if (not self.line or self.line.subscription != self.contract
                or self.line not in self.contract.get_active_lines(
                    self.date)):
            self._raise('msg_change_line_required')

    def _check_quantity_value(self):
        if not self.quantity or self.quantity <= 0:
            self._raise('msg_change_quantity_positive')

    def _check_allowed_none(self, delta):
        self._raise('msg_change_not_allowed',
            plan=self.contract.plan.rec_name)

    def _check_allowed_upgrade(self, delta):
        if delta < 0:
            self._raise('msg_change_downgrade_not_allowed',
                plan=self.contract.plan.rec_name)

    def _check_allowed_upgrade_downgrade(self, delta):
        # The 'both' rule allows every change.
        pass

    # Computation -----------------------------------------------------

    def get_lines(self):
        "Return (old line, new line) of the change; new is not saved"
        return getattr(self, '_get_lines_%s' % self.kind)()

    def _get_lines_plan(self):
        line = self.contract._get_plan_line(
            quantity=self.line.quantity if self.line else 1)
        line.service = self.plan.service
        line.unit = self.plan.service.product.sale_uom
        line.unit_price = self.plan.price
        line.description = self.plan.name
        return self.line, self._new_line(line)

    def _get_lines_add_addon(self):
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        addon, = [a for a in self.contract.plan.addons
            if a.service == self.service][:1]
        line = Line(
            service=self.service, quantity=self.quantity,
            unit=self.service.product.sale_uom,
            unit_price=addon.unit_price,
            description=self.service.rec_name)
        return None, self._new_line(line)

    def _get_lines_remove_addon(self):
        return self.line, None

    def _get_lines_quantity(self):
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        old = self.line
        line = Line(
            service=old.service, quantity=self.quantity, unit=old.unit,
            unit_price=old.unit_price, description=old.description)
        return old, self._new_line(line)

    def _get_lines_cancellation(self):
        return None, None

    def _new_line(self, line):
        line.subscription = self.contract
        line.start_date = self.date
        line.end_date = None
        return line

    def get_mrr(self):
        "Return the MRR (before, after) the change"
        contract = self.contract
        old, new = self.get_lines()
        lines = contract.get_active_lines(self.date)
        before = contract.compute_mrr(lines=lines)
        after_lines = [l for l in lines if l != old] + (
            [new] if new else [])
        if self.kind == 'plan':
            # The new plan's recurrence normalises the MRR.
            plan, contract.plan = contract.plan, self.plan
            after = contract.compute_mrr(lines=after_lines)
            contract.plan = plan
        else:
            after = contract.compute_mrr(lines=after_lines)
        return before, after

    def get_charges(self):
        "Return the charge items the change invoices when applied now"
        contract = self.contract
        if self.kind == 'cancellation':
            return contract.get_termination_charges(
                self.date, reason=self.reason)
        old, new = self.get_lines()
        return contract.get_change_charges(old, new, self.date)

    def get_event_type(self, delta):
        if self.kind == 'add_addon':
            return 'addon'
        if delta > 0:
            return 'upgrade'
        if delta < 0:
            return 'downgrade'
        return 'plan_change'

    def _describe_line(self, line):
        if not line:
            return None
        return '%s × %s' % (format(line.quantity, 'g'),
            line.description or line.service.rec_name)

    # Application -----------------------------------------------------

    def _apply_line_change(self):
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        Contract = pool.get('sale.subscription')
        Event = pool.get('sale.subscription.event')
        contract = self.contract
        old, new = self.get_lines()
        self.mrr_before, self.mrr_after = self.get_mrr()
        if old:
            old.end_date = self.date - ONE_DAY
            Line.save([old])
        if new:
            Line.save([new])
            self.new_line = new
        if self.kind == 'plan':
            contract.plan = self.plan
            Contract.save([contract])
        self.invoice = contract.create_adjustment_invoice(
            contract.get_change_charges(old, new, self.date), self.date)
        delta = self.mrr_after - self.mrr_before
        event = contract._get_event(
            self.get_event_type(delta), self.date,
            self.mrr_before, self.mrr_after)
        event.change = self
        event.from_description = self._describe_line(old)
        event.to_description = self._describe_line(new)
        Event.save([event])

    _apply_plan = _apply_line_change
    _apply_add_addon = _apply_line_change
    _apply_remove_addon = _apply_line_change
    _apply_quantity = _apply_line_change

    def _apply_cancellation(self):
        pool = Pool()
        Contract = pool.get('sale.subscription')
        contract = self.contract
        self.mrr_before = contract.compute_mrr(date=self.date)
        self.mrr_after = Decimal(0)
        contract.cancellation_reason = self.reason
        Contract.save([contract])
        Contract.cancel([contract], date=self.date)
