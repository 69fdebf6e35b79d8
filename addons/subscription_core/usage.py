# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Usage records: ingestion (RPC batch method and CSV wizard) and rating
in the billing run; the usage statement (extrato de utilização) is in
usage_statement.py."""
import csv
import datetime
import io
import weakref
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from sql import Cast, Conflict, Literal, Null, Select, Values
from sql.aggregate import Count, Max, Min, Sum
from sql.functions import CurrentTimestamp, Function

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.tools import grouped_slice
from trytond.tools.timezone import UTC, get_tzinfo
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import pricing

# Rows per multi-row INSERT (SQLite): at most 65535 parameters per
# statement and a usage row has 9.
INSERT_SIZE = 5000
FIELDS = ('contract', 'metric', 'quantity', 'timestamp', 'key')
_FIELD_SET = frozenset(FIELDS)
KEY_SIZE = 100
# The usage of the contracts being billed, per transaction (the billing
# run bills each chunk in a transaction of its own).
_billing_caches = weakref.WeakKeyDictionary()


class Unnest(Function):
    __slots__ = ()
    _function = 'UNNEST'


class Any(Function):
    "column = ANY(array): python-sql's Any omits the parentheses"
    __slots__ = ()
    _function = 'ANY'


def _pg_array(values, type_):
    """Return the text of a PostgreSQL array of values of type_.

    Numbers, dates and ISO date-times have no character the array syntax
    reserves; text is quoted and escaped."""
    if type_ == 'VARCHAR[]':
        return '{%s}' % ','.join('"%s"' % v.replace('\\', '\\\\').replace(
                '"', '\\"') for v in values)
    return '{%s}' % ','.join(map(str, values))


class UsageError(UserError):
    pass


class _BadRecord(Exception):
    "A record of a batch is malformed: (index, reason)"


class Usage(ModelSQL, ModelView):
    """Usage Record

    A quantity of a metric used by a contract at a time. The key is the
    sender's idempotency key: the same key sent twice is stored once."""
    __name__ = 'sale.subscription.usage'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    contract = fields.Many2One(
        'sale.subscription', "Contract", required=True, readonly=True,
        ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))])
    metric = fields.Many2One(
        'sale.subscription.metric', "Metric", required=True, readonly=True,
        ondelete='RESTRICT')
    quantity = fields.Numeric("Quantity", required=True, readonly=True)
    timestamp = fields.DateTime("Timestamp", required=True, readonly=True)
    date = fields.Date(
        "Date", required=True, readonly=True,
        help="The day of the timestamp in the company's timezone.")
    key = fields.Char(
        "Key", required=True, readonly=True, size=KEY_SIZE,
        help="The idempotency key: the same key is stored once.")
    charge = fields.Many2One(
        'sale.subscription.charge', "Charge", readonly=True,
        ondelete='RESTRICT')
    invoice = fields.Function(fields.Many2One(
            'account.invoice', "Invoice"), 'get_invoice',
        searcher='search_invoice')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('contract')
        t = cls.__table__()
        cls._sql_constraints += [
            # What makes ingestion idempotent (ON CONFLICT DO NOTHING).
            ('company_key_uniq', Unique(t, t.company, t.key),
                'subscription_core.msg_usage_key_unique'),
            ]
        cls._sql_indexes.update({
                # The billing run reads the unrated usage of its contracts.
                Index(t,
                    (t.contract, Index.Equality()),
                    (t.date, Index.Range()),
                    where=t.charge == Null),
                # No index of our own on charge: the host indexes a
                # Many2One where it is set, and one on every row would add
                # a NULL entry per record ingested.
                })
        cls._order = [('timestamp', 'DESC'), ('id', 'DESC')]
        cls.__rpc__.update({
                'ingest': RPC(readonly=False),
                })

    def get_invoice(self, name):
        if self.charge and self.charge.invoice:
            return self.charge.invoice.id

    @classmethod
    def search_invoice(cls, name, clause):
        return [('charge.' + clause[0],) + tuple(clause[1:])]

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'delete' and any(r.charge for r in records):
            raise AccessError(gettext('subscription_core.msg_usage_rated'))

    # Ingestion ---------------------------------------------------------

    @classmethod
    def ingest(cls, records):
        """Store a batch of usage records; return the number of records
        inserted and of duplicates (keys already stored).

        Each record is a dict: contract (id or number), metric (code),
        quantity (Decimal, int or decimal string, >= 0), timestamp
        (datetime or ISO 8601 string; naive means UTC) and key. The whole
        batch is checked first: one malformed record rejects it all and
        nothing is stored."""
        def error(index, reason):
            return UsageError(gettext(
                    'subscription_core.msg_usage_batch_invalid',
                    row=index, reason=reason))
        return cls._ingest(records, error)

    @classmethod
    def _ingest(cls, records, error):
        try:
            rows = cls._check_batch(records)
        except _BadRecord as exception:
            raise error(*exception.args) from None
        inserted = cls._insert_rows(rows)
        _billing_caches.pop(Transaction(), None)
        return {'inserted': inserted, 'duplicates': len(rows) - inserted}

    @classmethod
    def _check_batch(cls, records):
        """Return the rows to insert: (contract, metric, quantity,
        timestamp, date, key), or raise _BadRecord(index, reason).

        A few queries for the whole batch, none per record."""
        pool = Pool()
        Company = pool.get('company.company')
        transaction = Transaction()
        company_id = transaction.context.get('company')
        if company_id is None or company_id < 0:
            raise UsageError(gettext('subscription_core.msg_usage_company'))
        company = Company(company_id)
        tz = get_tzinfo(company.timezone) if company.timezone else UTC
        if not isinstance(records, (list, tuple)):
            raise _BadRecord(0, gettext(
                    'subscription_core.msg_usage_reason_not_list'))
        parsed = []
        for index, record in enumerate(records):
            parsed.append(cls._parse_record(index, record, tz))
        contracts = cls._get_batch_contracts(
            {r[0] for r in parsed}, company_id)
        metrics = cls._get_batch_metrics({r[1] for r in parsed})
        rows = []
        for index, (contract, metric, quantity, timestamp, date, key) in (
                enumerate(parsed)):
            if contract not in contracts:
                raise _BadRecord(index, gettext(
                        'subscription_core.msg_usage_reason_contract',
                        contract=contract))
            contract_id, state, priced = contracts[contract]
            if state != 'running':
                raise _BadRecord(index, gettext(
                        'subscription_core.msg_usage_reason_inactive',
                        contract=contract))
            if metric not in metrics:
                raise _BadRecord(index, gettext(
                        'subscription_core.msg_usage_reason_metric',
                        metric=metric))
            metric_id = metrics[metric]
            if metric_id not in priced:
                raise _BadRecord(index, gettext(
                        'subscription_core.msg_usage_reason_not_priced',
                        contract=contract, metric=metric))
            rows.append(
                (contract_id, metric_id, quantity, timestamp, date, key))
        return rows

    @classmethod
    def _parse_record(cls, index, record, tz):
        "Return (contract, metric, quantity, timestamp, date, key)"
        if not isinstance(record, dict):
            raise _BadRecord(index, gettext(
                    'subscription_core.msg_usage_reason_not_dict'))
        if not record.keys() <= _FIELD_SET:
            raise _BadRecord(index, gettext(
                    'subscription_core.msg_usage_reason_unknown',
                    fields=', '.join(sorted(
                            map(str, set(record) - _FIELD_SET)))))
        for name in FIELDS:
            value = record.get(name)
            if value is None or value == '':
                raise _BadRecord(index, gettext(
                        'subscription_core.msg_usage_reason_missing',
                        field=name))
        contract = record['contract']
        if isinstance(contract, str):
            contract = contract.strip()
        elif isinstance(contract, bool) or not isinstance(contract, int):
            raise _BadRecord(index, gettext(
                    'subscription_core.msg_usage_reason_contract',
                    contract=contract))
        metric = str(record['metric']).strip()
        quantity = record['quantity']
        try:
            if isinstance(quantity, str):
                quantity = Decimal(quantity.strip())
            elif isinstance(quantity, int) and not isinstance(
                    quantity, bool):
                quantity = Decimal(quantity)
            elif not isinstance(quantity, Decimal):
                # A float is refused: it may already have lost exactness.
                raise InvalidOperation
            if not quantity.is_finite() or quantity < 0:
                raise InvalidOperation
        except InvalidOperation:
            raise _BadRecord(index, gettext(
                    'subscription_core.msg_usage_reason_quantity',
                    quantity=record['quantity'])) from None
        timestamp = record['timestamp']
        try:
            if isinstance(timestamp, str):
                timestamp = datetime.datetime.fromisoformat(
                    timestamp.strip())
            elif not isinstance(timestamp, datetime.datetime):
                raise ValueError
        except ValueError:
            raise _BadRecord(index, gettext(
                    'subscription_core.msg_usage_reason_timestamp',
                    timestamp=record['timestamp'])) from None
        if timestamp.tzinfo is None:
            # Tryton's convention: naive date-times are UTC.
            date = (timestamp.date() if tz is UTC
                else timestamp.replace(tzinfo=UTC).astimezone(tz).date())
        else:
            date = timestamp.astimezone(tz).date()
            timestamp = timestamp.astimezone(UTC).replace(tzinfo=None)
        key = record['key']
        if not isinstance(key, str) or len(key) > KEY_SIZE:
            raise _BadRecord(index, gettext(
                    'subscription_core.msg_usage_reason_key',
                    size=KEY_SIZE))
        return contract, metric, quantity, timestamp, date, key

    @classmethod
    def _get_batch_contracts(cls, references, company_id):
        """Return {reference: (id, state, {metric priced})} for the
        contract ids and numbers, in one query per kind of reference.

        Measured hot path (tests/bench/usage.py: a batch of 10,000 records
        names up to 10,000 contracts): on PostgreSQL the references travel
        as one array parameter; thousands of IN placeholders cost more to
        build and parse than the query."""
        pool = Pool()
        Contract = pool.get('sale.subscription')
        Line = pool.get('sale.subscription.line')
        Component = pool.get('sale.subscription.component')
        table = Contract.__table__()
        line = Line.__table__()
        component = Component.__table__()
        cursor = Transaction().connection.cursor()
        priced = line.join(component,
            condition=component.line == line.id
            ).select(line.subscription, component.metric,
            where=component.metric != Null)
        query = table.join(priced, 'LEFT',
            condition=priced.subscription == table.id)
        result = {}
        ids = [r for r in references if isinstance(r, int)]
        numbers = [r for r in references if isinstance(r, str)]
        for column, values, type_ in [
                (table.id, ids, 'INTEGER[]'),
                (table.number, numbers, 'VARCHAR[]')]:
            if not values:
                continue
            if backend.name == 'postgresql':
                wheres = [column == Any(Cast(
                            Literal(_pg_array(values, type_)), type_))]
            else:
                wheres = [column.in_(list(sub))
                    for sub in grouped_slice(values, 1000)]
            for where in wheres:
                cursor.execute(*query.select(
                        column, table.id, table.state, priced.metric,
                        where=where & (table.company == company_id)))
                for reference, id_, state, metric in cursor.fetchall():
                    _, _, metrics = result.setdefault(
                        reference, (id_, state, set()))
                    if metric is not None:
                        metrics.add(metric)
        return result

    @classmethod
    def _get_batch_metrics(cls, codes):
        pool = Pool()
        Metric = pool.get('sale.subscription.metric')
        return {m.code: m.id for m in Metric.search([
                    ('code', 'in', list(codes)),
                    ])}

    @classmethod
    def _insert_rows(cls, rows):
        """Insert rows, skipping keys already stored; return the count
        inserted.

        Measured hot path (tests/bench/usage.py): the ORM's create costs
        a few hundred records per second; one INSERT ... ON CONFLICT DO
        NOTHING per batch is set-based and lets the unique constraint on
        (company, key) drop duplicates, concurrent senders included. On
        PostgreSQL the rows travel as one array per column (UNNEST): a
        multi-row VALUES of 10,000 rows spends more time parsing its
        90,000 placeholders than inserting. The rows are fully checked
        before (_check_batch)."""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        table = cls.__table__()
        company = transaction.context['company']
        user = transaction.user
        columns = [table.company, table.contract, table.metric,
            table.quantity, table.timestamp, table.date, table.key,
            table.create_uid, table.create_date]
        now = CurrentTimestamp()
        inserted = 0
        if backend.name == 'postgresql':
            for sub in grouped_slice(rows, 50000):
                # Each column as the text of an array: psycopg adapts a
                # list element by element in Python, which cost more than
                # the INSERT.
                arrays = list(zip(*sub))
                arrays[3] = map(datetime.datetime.isoformat, arrays[3])
                query = Select([Literal(company)] + [
                        Unnest(Cast(Literal(_pg_array(a, t)), t))
                        for a, t in zip(arrays, [
                                'INTEGER[]', 'INTEGER[]', 'NUMERIC[]',
                                'TIMESTAMP[]', 'DATE[]', 'VARCHAR[]'])]
                    + [Literal(user), now])
                cursor.execute(*table.insert(
                        columns, query, on_conflict=Conflict(table)))
                inserted += cursor.rowcount
            return inserted
        for sub in grouped_slice(rows, INSERT_SIZE):
            values = [[company, c, m, q, ts, d, k, user, now]
                for c, m, q, ts, d, k in sub]
            cursor.execute(*table.insert(
                    columns, values, on_conflict=Conflict(table)))
            inserted += cursor.rowcount
        return inserted

    # Rating ------------------------------------------------------------

    @classmethod
    def get_unrated(cls, windows):
        """Return {(contract, metric, since): (quantity, count, first day,
        last day)} of the usage not rated yet in each window, a list of
        (contract, metric, since, until) with until exclusive.

        Measured hot path (tests/bench/usage.py, 1,000,000 records for
        10,000 contracts): the windows of a whole billing chunk go in one
        query that sums each in SQL, instead of a query or a row per
        contract and day."""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        sqlite = backend.name == 'sqlite'
        for sub in grouped_slice(windows, 1000):
            values = Values([list(w) for w in sub])
            where = ((table.contract == values.column1)
                & (table.metric == values.column2)
                & (table.date >= values.column3)
                & (table.date < values.column4)
                & (table.charge == Null))
            if sqlite:
                # SQLite sums NUMERIC as float: sum the Decimals here.
                cursor.execute(*table.join(values, condition=where).select(
                        values.column1, values.column2, values.column3,
                        table.date, table.quantity))
                for contract, metric, since, date, quantity in cursor:
                    if isinstance(since, str):
                        since = datetime.date.fromisoformat(since)
                    if isinstance(date, str):
                        date = datetime.date.fromisoformat(date)
                    key = (contract, metric, since)
                    total, count, first, last = result.get(
                        key, (Decimal(0), 0, date, date))
                    result[key] = (total + Decimal(str(quantity)),
                        count + 1, min(first, date), max(last, date))
            else:
                cursor.execute(*table.join(values, condition=where).select(
                        values.column1, values.column2, values.column3,
                        Sum(table.quantity), Count(table.id),
                        Min(table.date), Max(table.date),
                        group_by=[values.column1, values.column2,
                            values.column3]))
                for contract, metric, since, *aggregate in cursor:
                    result[contract, metric, since] = tuple(aggregate)
        return result

    @classmethod
    def mark_rated(cls, charges):
        """Link the usage each charge rated to it.

        One UPDATE for all the charges; under the billing transaction's
        snapshot it updates exactly the rows the rating summed."""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        for sub in grouped_slice(charges, 1000):
            values = Values([[c.id, c.contract.id, c.metric.id,
                        c.usage_from, c.usage_until] for c in sub])
            cursor.execute(*table.update(
                    [table.charge], [values.column1], from_=[values],
                    where=(table.contract == values.column2)
                    & (table.metric == values.column3)
                    & (table.charge == Null)
                    & (table.date >= values.column4)
                    & (table.date < values.column5)))


class Charge(metaclass=PoolMeta):
    __name__ = 'sale.subscription.charge'

    metric = fields.Many2One(
        'sale.subscription.metric', "Metric", readonly=True,
        ondelete='RESTRICT')
    usage_from = fields.Date(
        "Usage From", readonly=True,
        help="The first day of the usage rated (inclusive).")
    usage_until = fields.Date(
        "Usage Until", readonly=True,
        help="The day after the usage rated (exclusive).")
    usage_quantity = fields.Numeric(
        "Usage Quantity", readonly=True)
    usage = fields.One2Many(
        'sale.subscription.usage', 'charge', "Usage", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.kind.selection += [
            ('component', "Price Component"),
            ('usage', "Usage"),
            ]


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    usage = fields.One2Many(
        'sale.subscription.usage', 'contract', "Usage", readonly=True)

    @classmethod
    def bill(cls, contracts, date):
        pool = Pool()
        Usage = pool.get('sale.subscription.usage')
        cls._load_billing_usage(contracts, date)
        invoices = super().bill(contracts, date)
        # The charges are stored (by the ORM or set-based): link the usage
        # they rated to them.
        cache = _billing_caches.pop(Transaction(), None)
        if cache and cache['charges']:
            Usage.mark_rated(cache['charges'])
        return invoices

    @classmethod
    def _get_billing_usage_cache(cls):
        """Return the usage cache of the transaction.

        It is kept until bill() ends (each billing chunk has a transaction
        of its own); ingesting in the transaction drops it."""
        return _billing_caches.setdefault(Transaction(), {
                'usage': {}, 'bounds': {}, 'cuts': defaultdict(set),
                'windows': {}, 'charges': []})

    @classmethod
    def _load_billing_usage(cls, contracts, date):
        """Sum the unrated usage of the periods contracts bill on date, in
        one query for them all: a window per period and metric rated in
        arrears, from the previous period's cut (the start of time for the
        first) to the period's own."""
        pool = Pool()
        Usage = pool.get('sale.subscription.usage')
        Component = pool.get('sale.subscription.component')
        cache = cls._get_billing_usage_cache()
        # Searched, not read through the contracts' lines: that would
        # read every contract of the chunk, most without usage.
        metrics_of = defaultdict(set)
        for component in Component.search_read([
                    ('line.subscription', 'in', [c.id for c in contracts]),
                    ('plan', '=', None),
                    ('timing', '=', 'arrears'),
                    ('metric', '!=', None),
                    ], fields_names=['line.subscription', 'metric']):
            metrics_of[component['line.']['subscription']].add(
                component['metric'])
        windows = []
        for contract in cls.browse(list(metrics_of)):
            metrics = metrics_of[contract.id]
            bounds = cache['bounds'][contract.id] = [datetime.date.min]
            for until in contract._get_usage_cuts(date):
                for metric in metrics:
                    windows.append((contract.id, metric, bounds[-1], until))
                bounds.append(until)
        for key, value in Usage.get_unrated(windows).items():
            cache['usage'][key] = value

    def _get_usage_cuts(self, date):
        "Yield the day each period billed on date rates the usage until"
        start = self.billed_until or (
            self.financial_base_date or self.start_date)
        arrears = self.get_billing_mode() == 'arrears'
        for period_start, period_end, _ in self.get_periods(start, date):
            yield period_end if arrears else period_start

    def _get_unrated_usage(self, metric, since, until):
        """Return (quantity, count, first day, last day) of the unrated
        usage of metric in [since, until), or None.

        From the windows bill() loaded when they bound it, else with a
        query (e.g. the final charges of a cancellation)."""
        pool = Pool()
        Usage = pool.get('sale.subscription.usage')
        cache = self._get_billing_usage_cache()
        bounds = cache['bounds'].get(self.id, ())
        if since in bounds and until in bounds:
            windows = [cache['usage'].get((self.id, metric.id, b))
                for b in bounds if since <= b < until]
        else:
            windows = list(Usage.get_unrated(
                    [(self.id, metric.id, since, until)]).values())
        windows = [w for w in windows if w]
        if windows:
            return (
                sum((Decimal(str(w[0])) for w in windows), Decimal(0)),
                sum(w[1] for w in windows),
                min(w[2] for w in windows), max(w[3] for w in windows))

    @classmethod
    def _get_bill_signatures(cls, contracts, billed, cache):
        pool = Pool()
        Component = pool.get('sale.subscription.component')
        signatures = super()._get_bill_signatures(contracts, billed, cache)
        line_contracts = {l['id']: i for i, s in signatures.items()
            for l in s['lines']}
        # A component prices its line from its tiers or the usage
        # recorded: such a contract is billed alone.
        for component in Component.search_read([
                    ('line', 'in', list(line_contracts)),
                    ], fields_names=['line']):
            signatures[line_contracts[component['line']]]['key'] = None
        return signatures

    def _get_period_charges(self, period_start, period_end, ratio, first):
        priced = {l.id for l in self.lines if l.component}
        unpriced = Decimal(0)
        minimum = None
        for charge in super()._get_period_charges(
                period_start, period_end, ratio, first):
            line, kind, amount = charge[:3]
            if kind == 'recurring' and line.id in priced:
                # The component prices the line, not its unit price.
                unpriced += amount
                continue
            if kind == 'minimum':
                minimum = charge
                continue
            yield charge
        total = Decimal(0)
        for line in self.lines:
            component = line.component
            if not component or not line.is_active_in(
                    period_start, period_end):
                continue
            charge = getattr(self, '_get_component_charge_%s'
                % component.timing)(
                line, component, period_start, period_end, ratio)
            if charge:
                total += charge[2]
                yield charge
        if minimum:
            # The plan's minimum applies to the components too.
            difference = minimum[2] + unpriced - total
            if difference > 0:
                yield minimum[:2] + (difference, 1, difference) + minimum[5:]

    def _get_component_charge_advance(
            self, line, component, period_start, period_end, ratio):
        "Price the line's quantity for the period, pro-rata"
        quantity = Decimal(str(line.quantity or 0))
        charge = component.get_price_model().compute(quantity)
        amount = pricing.round_amount(
            charge.amount * ratio, self.currency.rounding)
        if not amount:
            return
        description = '%s (%s)' % (
            component.rec_name,
            self._format_period(period_start, period_end))
        return (line, 'component', amount, 1, amount,
            component.service.product, description)

    def _get_component_charge_arrears(
            self, line, component, period_start, period_end, ratio):
        """Rate the usage recorded until the period's billing date.

        In arrears the period's own usage is rated when it ends; a
        contract billed in advance rates the usage before the period it
        bills. Late records of periods already billed are rated with the
        next period rather than lost."""
        cache = self._get_billing_usage_cache()
        metric = component.metric
        until = (period_end if self.get_billing_mode() == 'arrears'
            else period_start)
        # The cuts of the periods billed before in this run bound the
        # window from below (catching up several periods at once).
        cuts = cache['cuts'][self.id, metric.id]
        cuts.add(until)
        since = max((c for c in cuts if c < until),
            default=datetime.date.min)
        usage = self._get_unrated_usage(metric, since, until)
        if not usage:
            return
        quantity, count, first_day, last_day = usage
        charge = component.get_price_model().compute(quantity, count)
        amount = pricing.round_amount(charge.amount, self.currency.rounding)
        cache['windows'][line.id, period_start] = (
            metric, since, until, quantity)
        description = gettext('subscription_core.msg_usage_charge_line',
            component=component.rec_name,
            period=self._format_period(first_day,
                last_day + datetime.timedelta(1)),
            quantity=format(quantity.normalize(), 'f'),
            unit=metric.unit)
        return (line, 'usage', amount, 1, amount,
            component.service.product, description)

    def _get_charge(self, key_line, kind, period_start, period_end, ratio,
            amount, quantity, unit_price, product, description, cache):
        charge, line = super()._get_charge(
            key_line, kind, period_start, period_end, ratio, amount,
            quantity, unit_price, product, description, cache)
        if kind == 'usage':
            usage_cache = _billing_caches.get(Transaction(), {})
            window = usage_cache.get('windows', {}).get(
                (key_line.id, period_start))
            if window:
                (charge.metric, charge.usage_from, charge.usage_until,
                    charge.usage_quantity) = window
                usage_cache['charges'].append(charge)
        return charge, line


class UsageImportStart(ModelView):
    "Import Usage"
    __name__ = 'sale.subscription.usage.import.start'

    file = fields.Binary(
        "File", required=True,
        help="A CSV file (UTF-8) with the columns contract, metric, "
        "quantity, timestamp and key.")
    delimiter = fields.Selection([
            (',', "Comma (,)"),
            (';', "Semicolon (;) with decimal comma"),
            ], "Delimiter", required=True)

    @classmethod
    def default_delimiter(cls):
        return ','


class UsageImportResult(ModelView):
    "Import Usage"
    __name__ = 'sale.subscription.usage.import.result'

    inserted = fields.Integer("Records Stored", readonly=True)
    duplicates = fields.Integer(
        "Duplicates Skipped", readonly=True,
        help="Records whose key was already stored.")


class UsageImport(Wizard):
    "Import Usage"
    __name__ = 'sale.subscription.usage.import'

    start = StateView(
        'sale.subscription.usage.import.start',
        'subscription_core.usage_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    result = StateView(
        'sale.subscription.usage.import.result',
        'subscription_core.usage_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_import_(self):
        pool = Pool()
        Usage = pool.get('sale.subscription.usage')
        records, lines = self.read_csv(self.start.file, self.start.delimiter)

        def error(index, reason):
            return UsageError(gettext(
                    'subscription_core.msg_usage_csv_invalid',
                    line=lines[index] if index < len(lines) else 1,
                    reason=reason))
        self._result = Usage._ingest(records, error)
        return 'result'

    @staticmethod
    def read_csv(data, delimiter=','):
        "Return the records of the CSV data and their line numbers"
        try:
            text = bytes(data).decode('utf-8-sig')
        except UnicodeDecodeError:
            raise UsageError(gettext(
                    'subscription_core.msg_usage_csv_encoding'))
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
        missing = set(FIELDS) - set(
            (n or '').strip() for n in (reader.fieldnames or []))
        if missing:
            raise UsageError(gettext(
                    'subscription_core.msg_usage_csv_columns',
                    columns=', '.join(sorted(missing))))
        records, lines = [], []
        for row in reader:
            if not any((v or '').strip() for v in row.values()
                    if isinstance(v, str)):
                continue
            record = {(k or '').strip(): v for k, v in row.items()
                if (k or '').strip() in FIELDS}
            if delimiter == ';' and record.get('quantity'):
                # Brazilian spreadsheets: 1.234,5
                record['quantity'] = record['quantity'].replace(
                    '.', '').replace(',', '.')
            records.append(record)
            # The line the row ends on (rows may span lines).
            lines.append(reader.line_num)
        return records, lines

    def default_result(self, fields):
        result = getattr(self, '_result', None) or {}
        return {
            'inserted': result.get('inserted', 0),
            'duplicates': result.get('duplicates', 0),
            }

