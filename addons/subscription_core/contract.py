# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
import weakref
from decimal import Decimal
from itertools import islice

from dateutil.relativedelta import relativedelta
from sql import Column
from sql.operators import Any

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exceptions import ContractError

# Per billing transaction: {(recurrence rule set, anchor): first starts}
_starts_memo = weakref.WeakKeyDictionary()
_STARTS_MEMO = 4

# Months per period for each recurrence frequency, to normalise a period
# price into monthly recurring revenue (MRR).
MONTHS_PER_FREQ = {
    'yearly': Decimal(12),
    'monthly': Decimal(1),
    'weekly': Decimal(12) / Decimal(52),
    'daily': Decimal(12) / Decimal(365),
    }
# Frequencies whose cycles are anchored on the contract's billing day.
DAY_ANCHORED_FREQS = {'monthly', 'yearly'}


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    plan = fields.Many2One(
        'sale.subscription.plan', "Plan",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('currency', '=', Eval('currency', -1)),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            })
    activation_date = fields.Date(
        "Activation Date", readonly=True,
        help="When the contract became active.")
    financial_base_date = fields.Date(
        "Financial Base Date",
        states={
            'readonly': ~Eval('state').in_(['draft', 'quotation']),
            },
        help="The date billing starts from; the first invoice is pro-rata "
        "by days from it to the first billing day.")
    billing_day = fields.Integer(
        "Billing Day",
        states={
            'readonly': ~Eval('state').in_(['draft', 'quotation']),
            },
        help="The day of the month each cycle starts and falls due.")
    next_billing_date = fields.Date(
        "Next Billing Date", readonly=True,
        help="When the next charge falls due for billing.")
    billed_until = fields.Date(
        "Billed Until", readonly=True,
        help="The first day not yet billed.")
    paid_until_date = fields.Date(
        "Paid Until", readonly=True,
        help="The last day covered by paid invoices.")
    loyalty_end_date = fields.Date(
        "Loyalty End Date",
        states={
            'readonly': ~Eval('state').in_(['draft', 'quotation']),
            })
    inclusion_reason = fields.Many2One(
        'sale.subscription.reason', "Inclusion Reason",
        domain=[('type', '=', 'inclusion')],
        states={
            'readonly': ~Eval('state').in_(['draft', 'quotation']),
            })
    salesperson = fields.Many2One(
        'company.employee', "Salesperson",
        domain=[('company', '=', Eval('company', -1))])
    cancellation_reason = fields.Many2One(
        'sale.subscription.reason', "Cancellation Reason",
        domain=[('type', '=', 'cancellation')],
        states={
            'readonly': Eval('state').in_(['closed', 'cancelled']),
            })
    cancellation_date = fields.Date("Cancellation Date", readonly=True)
    suspension_date = fields.Date("Suspension Date", readonly=True)
    sale = fields.Many2One(
        'sale.sale', "Sale", readonly=True, ondelete='RESTRICT')
    charges = fields.One2Many(
        'sale.subscription.charge', 'contract', "Charges", readonly=True)
    events = fields.One2Many(
        'sale.subscription.event', 'contract', "Events", readonly=True)
    mrr = fields.Function(Monetary(
            "MRR", currency='currency', digits='currency'), 'get_mrr')
    trial_end_date = fields.Date(
        "Trial End Date", readonly=True,
        help="The first day after the free trial.")
    trial_converted = fields.Boolean(
        "Trial Converted", readonly=True,
        help="The customer kept the contract after the trial; an "
        "unconverted trial closes the contract when it ends.")
    auto_renew = fields.Boolean(
        "Auto Renew",
        states={
            'readonly': Eval('state').in_(['closed', 'cancelled']),
            },
        help="At the expiration date the term renews; otherwise the "
        "contract closes.")
    expiration_date = fields.Date(
        "Expiration Date",
        states={
            'readonly': Eval('state').in_(['closed', 'cancelled']),
            },
        help="When the current term ends (the end of the loyalty term "
        "at first).")
    renewal_date = fields.Date(
        "Renewal Date", readonly=True,
        help="When the contract last renewed.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.state.selection.insert(3, ('suspended', "Suspended"))
        cls.state.selection = [
            (k, "Active" if k == 'running' else v)
            for k, v in cls.state.selection]
        cls._transitions |= {
            ('running', 'suspended'),
            ('suspended', 'running'),
            ('running', 'cancelled'),
            ('suspended', 'cancelled'),
            ('suspended', 'closed'),
            }
        # An active contract is ended by cancellation, not sent back to
        # draft: its charges and ledger must stay.
        cls._transitions.discard(('running', 'draft'))
        cls._buttons['cancel']['invisible'] = ~Eval('state').in_(
            ['draft', 'quotation', 'running', 'suspended'])
        cls._buttons['draft']['invisible'] = ~Eval('state').in_(
            ['quotation'])
        cls._buttons.update({
                'suspend': {
                    'invisible': Eval('state') != 'running',
                    'icon': 'tryton-switch',
                    'depends': ['state'],
                    },
                'reactivate': {
                    'invisible': Eval('state') != 'suspended',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'convert_trial': {
                    'invisible': ((Eval('state') != 'running')
                        | ~Eval('trial_end_date') | Eval('trial_converted')),
                    'icon': 'tryton-ok',
                    'depends': ['state', 'trial_end_date', 'trial_converted'],
                    },
                })
        cls._sql_indexes.add(
            cls._billing_due_index())

    @classmethod
    def _billing_due_index(cls):
        from trytond.model import Index
        t = cls.__table__()
        return Index(
            t,
            (t.company, Index.Equality()),
            (t.next_billing_date, Index.Range()),
            where=t.state == 'running')

    @classmethod
    def default_billing_day(cls):
        pool = Pool()
        Configuration = pool.get('sale.configuration')
        days = Configuration(1).get_due_days()
        return days[0] if days else None

    @fields.depends('plan', 'lines', 'start_date')
    def on_change_plan(self):
        if not self.plan:
            return
        self.invoice_recurrence = self.plan.recurrence
        if not self.lines:
            self.lines = [self._get_plan_line()]

    def _get_plan_line(self, quantity=1, unit_price=None):
        "Return a contract line for the plan's service"
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        line = Line(
            service=self.plan.service,
            quantity=quantity,
            unit=self.plan.service.product.sale_uom,
            unit_price=(
                self.plan.price if unit_price is None else unit_price),
            start_date=self.start_date,
            description=self.plan.name)
        return line

    @classmethod
    def validate_fields(cls, contracts, field_names):
        super().validate_fields(contracts, field_names)
        cls.check_billing_day(contracts, field_names)

    @classmethod
    def check_billing_day(cls, contracts, field_names=None):
        pool = Pool()
        Configuration = pool.get('sale.configuration')
        if field_names and 'billing_day' not in field_names:
            return
        days = Configuration(1).get_due_days()
        for contract in contracts:
            if (contract.billing_day is not None and days
                    and contract.billing_day not in days):
                raise ContractError(gettext(
                        'subscription_core.msg_billing_day_not_allowed',
                        contract=contract.rec_name,
                        day=contract.billing_day,
                        days=', '.join(map(str, days))))

    # MRR ---------------------------------------------------------------

    def get_months_per_period(self):
        "Return how many months one billing period spans"
        recurrence = self.plan.recurrence if self.plan else (
            self.invoice_recurrence)
        rule = recurrence.rules[0] if recurrence and recurrence.rules else None
        if not rule:
            return Decimal(1)
        return MONTHS_PER_FREQ[rule.freq] * (rule.interval or 1)

    def get_active_lines(self, date):
        "Return the lines in force on date"
        return [l for l in self.lines
            if (not l.start_date or l.start_date <= date)
            and (not l.end_date or l.end_date >= date)]

    def compute_mrr(self, lines=None, date=None):
        "Return the monthly recurring revenue of the lines active on date"
        if lines is None:
            if date is None:
                date = Pool().get('ir.date').today()
            lines = self.get_active_lines(date)
        total = sum(
            (Decimal(str(l.quantity or 0)) * (l.unit_price or 0)
                for l in lines), Decimal(0))
        mrr = total / self.get_months_per_period()
        return self.currency.round(mrr) if self.currency else mrr

    def get_mrr(self, name):
        if self.state not in {'running'}:
            return Decimal(0)
        return self.compute_mrr()

    # Billing periods ---------------------------------------------------

    def _first_anchor(self, base):
        "Return the first cycle start on or after base"
        billing_day = self.billing_day
        if billing_day and self._recurrence_freq() in DAY_ANCHORED_FREQS:
            anchor = base.replace(day=billing_day)
            if anchor < base:
                anchor += relativedelta(months=1)
            return anchor
        return base

    def _recurrence_freq(self):
        "Return the frequency of the first rule of the invoice recurrence"
        recurrence = self.invoice_recurrence
        transaction = Transaction()
        if (not transaction.context.get('subscription_billing')
                or recurrence.id is None or recurrence.id < 0):
            return recurrence.rules[0].freq
        # Asked for every contract of a run: once per rule set.
        memo = _starts_memo.setdefault(transaction, {})
        key = ('freq', recurrence.id)
        if key not in memo:
            memo[key] = recurrence.rules[0].freq
        return memo[key]

    def _cycle_starts(self, anchor):
        """Yield the cycle start dates from anchor.

        The billing run asks the same rule set and anchor for most
        contracts (building a dateutil rule set was a tenth of its time):
        within a billing transaction the first dates are computed once."""
        transaction = Transaction()
        recurrence = self.invoice_recurrence
        if (not transaction.context.get('subscription_billing')
                or recurrence.id is None or recurrence.id < 0):
            yield from self._iter_cycle_starts(anchor)
            return
        memo = _starts_memo.setdefault(transaction, {})
        key = (recurrence.id, anchor)
        if key not in memo:
            memo[key] = list(
                islice(self._iter_cycle_starts(anchor), _STARTS_MEMO))
        starts = memo[key]
        yield from starts
        if len(starts) == _STARTS_MEMO:
            yield from islice(
                self._iter_cycle_starts(anchor), _STARTS_MEMO, None)

    def _iter_cycle_starts(self, anchor):
        rruleset = self.invoice_recurrence.rruleset(
            datetime.datetime.combine(anchor, datetime.time()))
        for dt in rruleset:
            yield dt.date()

    def get_periods(self, start, until):
        """Yield (period_start, period_end, ratio) to bill from start.

        period_end is exclusive. The first period runs from the financial
        base date to the first billing day and its ratio is the share of
        days of the following full cycle; later periods have ratio 1.
        Stops at the first period not due on until (advance billing is due
        when the period starts, arrears billing when it ends).
        """
        base = self.financial_base_date or self.start_date
        anchor = self._first_anchor(base)
        advance = self.get_billing_mode() == 'advance'
        limit = self._get_billing_limit()

        def clip(day):
            return min(day, limit) if limit else day
        starts = self._cycle_starts(anchor)
        cycle_start = next(starts)
        cycle_next = next(starts, None)
        if base < anchor and start <= base:
            full = (cycle_next or anchor + relativedelta(months=1)) - anchor
            period_end = clip(anchor)
            if period_end <= base:
                # Nothing to bill before the limit (e.g. an open trial).
                return
            ratio = Decimal((period_end - base).days) / Decimal(full.days)
            if (base if advance else period_end) > until:
                return
            yield base, period_end, ratio
        while cycle_start is not None and (not limit or cycle_start < limit):
            period_end = cycle_next or (
                cycle_start + relativedelta(months=1))
            if cycle_start >= start:
                full_days = (period_end - cycle_start).days
                stop = clip(period_end)
                ratio = Decimal((stop - cycle_start).days) / Decimal(
                    full_days)
                if (cycle_start if advance else stop) > until:
                    return
                yield cycle_start, stop, ratio
            cycle_start, cycle_next = cycle_next, next(starts, None)

    def _get_billing_limit(self):
        "Return the first day never to bill, or None"
        limits = []
        if self.end_date:
            # The contract's last day is billed: periods stop the day after.
            limits.append(self.end_date + datetime.timedelta(1))
        expiration = getattr(self, 'expiration_date', None)
        if expiration and not getattr(self, 'auto_renew', True):
            # A term that will not renew is not billed beyond its end.
            limits.append(expiration)
        trial_end = getattr(self, 'trial_end_date', None)
        if trial_end and not getattr(self, 'trial_converted', True):
            # Nothing is billed until the trial is converted.
            limits.append(trial_end)
        return min(limits) if limits else None

    def get_billing_mode(self):
        plan = self.plan
        return plan.billing_mode if plan else 'advance'

    def compute_next_billing_date(self):
        "Return when the first unbilled period falls due"
        start = self.billed_until or (
            self.financial_base_date or self.start_date)
        for period_start, period_end, _ in self.get_periods(
                start, datetime.date.max):
            return (period_start if self.get_billing_mode() == 'advance'
                else period_end)

    # Bill signatures ----------------------------------------------------

    # What tells contracts apart without changing their bills: the
    # billing writer sets them on the copies (see _get_bill_signatures).
    _bill_identity_fields = {'id', 'number', 'reference', 'description',
        'party', 'invoice_party', 'invoice_address', 'create_uid',
        'create_date', 'write_uid', 'write_date'}
    _bill_line_identity_fields = {'id', 'subscription', 'create_uid',
        'create_date', 'write_uid', 'write_date'}
    # Stored fields no billing hook reads: contracts that differ only in
    # them still share their bills.
    _bill_unread_fields = {'paid_until_date', 'activation_date',
        'salesperson', 'quoted_by', 'run_by', 'contact', 'inclusion_reason',
        'sale', 'loyalty_end_date', 'suspension_date', 'cancellation_date',
        'cancellation_reason'}

    @classmethod
    def _get_bill_signatures(cls, contracts, billed, cache):
        """Return {contract id: signature} of the contracts to bill.

        A signature holds everything the billing hooks read to build the
        bills of a contract, but for its identity (party, invoice address,
        number, its lines' ids): contracts of a chunk with the same
        signature get the same bills, and the billing run builds them for
        the first only (the writer copies its rows for the others). A
        signature is a dictionary: 'key' (None to build the contract's
        bills alone), 'contract' and 'lines', its rows ({column: value},
        the contract's with the ids of its 'lines'). billed and cache are
        those of Contract.bill.

        Here: every stored field of the contract and of its lines. A module
        whose billing hooks read more (another model, an x2many) must
        extend it; one that overrides a hook without extending it turns
        the copying off (billing.Contract._bill_copies_allowed)."""
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        names = cls._bill_signature_fields(cls,
            cls._bill_identity_fields | cls._bill_unread_fields)
        line_names = cls._bill_signature_fields(
            Line, cls._bill_line_identity_fields)
        ids = [c.id for c in contracts]
        rows = cls._read_rows(cls, ids,
            sorted(cls._bill_identity_fields) + names)
        # In the order of Contract.lines.
        line_rows = {}
        for row in rows.values():
            row['lines'] = []
        for line in cls._search_rows(Line, [('subscription', 'in', ids)],
                sorted(cls._bill_line_identity_fields) + line_names):
            line_rows[line['id']] = line
            rows[line['subscription']]['lines'].append(line['id'])
        signatures = {}
        for id_, row in rows.items():
            lines = [line_rows[i] for i in row['lines']]
            key = (tuple(_frozen(row[n]) for n in names),
                tuple(tuple(_frozen(l[n]) for n in line_names)
                    for l in lines))
            signatures[id_] = {'key': key, 'contract': row, 'lines': lines}
        return signatures

    @classmethod
    def _search_rows(cls, Model, domain, names, order=None):
        """Return [{name: value}] of the stored columns names of the
        records of Model that search(domain, order=order) finds, in its
        order (with its rules and active filter): the billing run's
        search_read, below the ORM for what it reads (see _read_rows)."""
        cursor = Transaction().connection.cursor()
        cursor.execute(*Model.search(domain, order=order, query=True))
        ids = [i for i, in cursor]
        rows = cls._read_rows(Model, ids, ['id'] + [n for n in names
                if n != 'id'])
        return [rows[i] for i in ids]

    @staticmethod
    def _read_rows(Model, ids, names):
        """Return {id: {name: value}} of the stored columns of Model.

        Below the ORM, for the billing run (tests/bench/billing_run.py):
        read() computes the Function fields the fields' contexts depend
        on (the line's company) and search_read() reads every column,
        which took longer than the rest of the signatures."""
        table = Model.__table__()
        cursor = Transaction().connection.cursor()
        rows = {}
        if backend.name == 'postgresql':
            # One array: formatting a parameter per id cost as much as
            # the query.
            wheres = [table.id == Any(list(ids))] if ids else []
        else:
            wheres = [table.id.in_(list(s)) for s in grouped_slice(ids, 1000)]
        for where in wheres:
            cursor.execute(*table.select(
                    *[Column(table, n) for n in names], where=where))
            for values in cursor:
                row = dict(zip(names, values))
                rows[row['id']] = row
        return rows

    @staticmethod
    def _bill_signature_fields(Model, identity):
        return sorted(n for n, f in Model._fields.items()
            if n not in identity
            and not isinstance(f, fields.Function)
            and f._type not in {'one2many', 'many2many', 'binary'})

    # Workflow ----------------------------------------------------------

    @classmethod
    @ModelView.button
    @Workflow.transition('running')
    def run(cls, contracts):
        pool = Pool()
        Date = pool.get('ir.date')
        Event = pool.get('sale.subscription.event')
        today = Date.today()
        starting = [c for c in contracts if c.state != 'suspended']
        super().run(starting)
        events = []
        for contract in starting:
            if not contract.activation_date:
                contract.activation_date = contract.start_date or today
            trial = (contract.plan.trial_days or 0) if contract.plan else 0
            if not contract.financial_base_date:
                contract.financial_base_date = (
                    contract.start_date + datetime.timedelta(trial))
            if trial and not contract.trial_end_date:
                contract.trial_end_date = (
                    contract.start_date + datetime.timedelta(trial))
                contract.trial_converted = (
                    contract.plan.trial_conversion == 'automatic')
            if contract.plan and not contract.loyalty_end_date:
                months = contract.plan.loyalty_months or 0
                if months:
                    contract.loyalty_end_date = (
                        contract.activation_date
                        + relativedelta(months=months))
            if not contract.expiration_date:
                # The first term: the plan says whether it renews.
                contract.expiration_date = contract.loyalty_end_date
                if contract.plan:
                    contract.auto_renew = contract.plan.auto_renew
            contract.next_billing_date = contract.compute_next_billing_date()
            events.append(contract._get_event(
                    'start', contract.activation_date,
                    Decimal(0),
                    contract.compute_mrr(date=contract.activation_date)))
        cls.save(starting)
        Event.save(events)

    @classmethod
    @ModelView.button
    @Workflow.transition('suspended')
    def suspend(cls, contracts, date=None):
        pool = Pool()
        Date = pool.get('ir.date')
        Event = pool.get('sale.subscription.event')
        date = date or Date.today()
        events = []
        for contract in contracts:
            contract.suspension_date = date
            events.append(contract._get_event(
                    'suspension', date, contract.compute_mrr(date=date),
                    Decimal(0)))
        cls.save(contracts)
        Event.save(events)

    @classmethod
    @ModelView.button
    @Workflow.transition('running')
    def reactivate(cls, contracts, date=None):
        pool = Pool()
        Date = pool.get('ir.date')
        Event = pool.get('sale.subscription.event')
        date = date or Date.today()
        events = []
        for contract in contracts:
            # The suspended days are not billed: billing resumes on the
            # reactivation day, pro-rata to the next billing day.
            if (contract.billed_until or date) < date:
                contract.billed_until = date
                contract.financial_base_date = date
            contract.suspension_date = None
            contract.next_billing_date = contract.compute_next_billing_date()
            events.append(contract._get_event(
                    'reactivation', date, Decimal(0),
                    contract.compute_mrr(date=date)))
        cls.save(contracts)
        Event.save(events)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, contracts, date=None):
        pool = Pool()
        Date = pool.get('ir.date')
        Event = pool.get('sale.subscription.event')
        date = date or Date.today()
        events = []
        to_save = []
        for contract in contracts:
            if contract.activation_date:
                if not contract.cancellation_reason:
                    raise ContractError(gettext(
                            'subscription_core.msg_cancellation_reason_required',
                            contract=contract.rec_name))
                mrr = (contract.compute_mrr(date=date)
                    if contract.state == 'running' else Decimal(0))
                events.append(contract._get_event(
                        'cancellation', date, mrr, Decimal(0),
                        reason=contract.cancellation_reason))
                contract.cancellation_date = date
                contract.end_date = max(
                    date, contract.start_date or date)
                contract.next_billing_date = None
                to_save.append(contract)
        cls.save(to_save)
        Event.save(events)
        super().cancel(contracts)
        # The penalty and the credit of the prepaid days after the end,
        # each contract on one invoice.
        for contract in to_save:
            contract.create_adjustment_invoice(
                contract.get_termination_charges(contract.end_date), date)

    @classmethod
    @ModelView.button
    def convert_trial(cls, contracts):
        "Keep the contracts after their trial: billing starts at its end"
        for contract in contracts:
            contract.trial_converted = True
            if contract.state == 'running':
                contract.next_billing_date = (
                    contract.compute_next_billing_date())
        cls.save(contracts)

    @classmethod
    @Workflow.transition('closed')
    def close(cls, contracts):
        pool = Pool()
        Event = pool.get('sale.subscription.event')
        events = []
        for contract in contracts:
            date = contract.end_date or contract.billed_until
            mrr = (contract.compute_mrr(date=date)
                if contract.state == 'running' else Decimal(0))
            events.append(contract._get_event(
                    'close', date, mrr, Decimal(0)))
            contract.next_billing_date = None
        super().close(contracts)
        Event.save(events)

    def _get_event(self, type_, date, mrr_before, mrr_after, reason=None):
        pool = Pool()
        Event = pool.get('sale.subscription.event')
        return Event(
            contract=self, type=type_, date=date,
            mrr_before=mrr_before, mrr_after=mrr_after,
            currency=self.currency, reason=reason,
            user=Transaction().user)

    @classmethod
    def copy(cls, contracts, default=None):
        default = default.copy() if default is not None else {}
        for name in ['activation_date', 'next_billing_date', 'billed_until',
                'paid_until_date', 'cancellation_date', 'suspension_date',
                'charges', 'events', 'sale', 'financial_base_date',
                'loyalty_end_date', 'trial_end_date', 'trial_converted',
                'expiration_date', 'renewal_date']:
            default.setdefault(name, None)
        return super().copy(contracts, default=default)

    # Paid-until ------------------------------------------------------

    @classmethod
    def update_paid_until(cls, contracts):
        """Set paid-until to the day before the first unpaid charge.

        Paid-until only moves over an unbroken run of paid periods."""
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        charges = Charge.search([
                ('contract', 'in', [c.id for c in contracts]),
                ('invoice', '!=', None),
                ], order=[('contract', 'ASC'), ('period_start', 'ASC')])
        by_contract = {}
        for charge in charges:
            by_contract.setdefault(charge.contract, []).append(charge)
        to_save = []
        for contract in contracts:
            paid_until = None
            for charge in by_contract.get(contract, []):
                if charge.invoice.state != 'paid':
                    break
                end = charge.period_end - datetime.timedelta(1)
                paid_until = max(paid_until or end, end)
            if paid_until != contract.paid_until_date:
                contract.paid_until_date = paid_until
                to_save.append(contract)
        cls.save(to_save)


def _frozen(value):
    "Return value as a hashable signature item (read() gives lists, dicts)"
    if isinstance(value, (list, dict, set)):
        return repr(value)
    return value
