# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
import logging
import time
from decimal import ROUND_HALF_EVEN, Decimal

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import AccessError
from trytond.model.multivalue import filter_pattern
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, TransactionError
from trytond.wizard import Button, StateTransition, StateView, Wizard

from trytond.backend import DatabaseOperationalError

from .billing_writer import BillingWriter

logger = logging.getLogger(__name__)

# How long (seconds) a chunk keeps trying when it meets a concurrent run
# (lock or serialization failure) before it is left to the next run. The
# strict invoice sequence makes concurrent runs post one chunk at a time.
CHUNK_PATIENCE = 300

# Locks each database's billing chunks learned they need (the host's
# protocol raises and restarts a transaction for each lock it meets): the
# next runs take them up front instead of billing a chunk again per lock.
_learned_locks = {}


class Charge(ModelSQL, ModelView):
    """Contract Charge

    One row per contract line, kind and period billed. The unique
    constraint on (line, kind, period_start) is what makes the billing run
    exactly-once: a re-run, a restart after a crash or a concurrent run
    cannot insert the same charge twice."""
    __name__ = 'sale.subscription.charge'

    contract = fields.Many2One(
        'sale.subscription', "Contract", required=True, ondelete='RESTRICT')
    line = fields.Many2One(
        'sale.subscription.line', "Line", required=True, ondelete='RESTRICT')
    kind = fields.Selection([
            ('recurring', "Recurring"),
            ('setup', "Setup Fee"),
            ('minimum', "Minimum Charge"),
            ], "Kind", required=True)
    period_start = fields.Date("Period Start", required=True)
    period_end = fields.Date(
        "Period End", required=True,
        help="The first day after the period.")
    ratio = fields.Numeric(
        "Ratio", digits=(16, 6), required=True,
        help="The share of a full period billed (pro-rata).")
    currency = fields.Many2One('currency.currency', "Currency", required=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True)
    invoice_line = fields.Many2One(
        'account.invoice.line', "Invoice Line", readonly=True,
        ondelete='RESTRICT')
    invoice = fields.Many2One(
        'account.invoice', "Invoice", readonly=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('contract')
        t = cls.__table__()
        cls._sql_constraints += [
            ('line_kind_period_uniq',
                Unique(t, t.line, t.kind, t.period_start),
                'subscription_core.msg_charge_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.contract, Index.Range())),
                Index(t, (t.invoice, Index.Range())),
                })
        cls._order = [('period_start', 'DESC'), ('id', 'DESC')]

    def get_rec_name(self, name):
        return '%s @ %s' % (self.period_start, self.contract.rec_name)

    @classmethod
    def billed_keys(cls, contracts):
        "Return the set of (line, kind, period_start) already charged"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        keys = set()
        for sub_ids in grouped_slice([c.id for c in contracts], 1000):
            cursor.execute(*table.select(
                    table.line, table.kind, table.period_start,
                    where=table.contract.in_(list(sub_ids))))
            for line, kind, period_start in cursor:
                if isinstance(period_start, str):
                    # SQLite returns dates as text
                    period_start = datetime.date.fromisoformat(period_start)
                keys.add((line, kind, period_start))
        return keys

    @classmethod
    def check_modification(cls, mode, charges, values=None, external=False):
        super().check_modification(
            mode, charges, values=values, external=external)
        if mode == 'delete' or (mode == 'write' and external):
            raise AccessError(gettext(
                    'subscription_core.msg_charge_modify'))


def _match(row, pattern):
    "MatchMixin.match (match_none=False) on a search_read dictionary"
    for name, wanted in pattern.items():
        value = row.get(name)
        if value in ('', None):
            continue
        if isinstance(wanted, bool) or isinstance(value, bool):
            value, wanted = bool(value), bool(wanted)
        elif hasattr(wanted, 'id'):
            wanted = wanted.id
        if value != wanted:
            return False
    return True


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def billing_run(cls, date=None):
        """Bill every active contract due on date.

        The cron and the wizard both call this. Contracts are billed in
        chunks, each in its own transaction, so one failing contract
        does not roll back the others and a killed run loses at most the
        chunk under way (which the next run bills again)."""
        pool = Pool()
        Date = pool.get('ir.date')
        Configuration = pool.get('sale.configuration')
        if date is None:
            date = Date.today()
        chunk = Configuration(1).contract_billing_chunk or 500
        result = {'contracts': 0, 'invoices': 0, 'busy': 0, 'errors': []}
        cls._billing_lifecycle(date, result)
        ids = cls._billing_due_ids(date)
        extras = _learned_locks.setdefault(
            Transaction().database.name, {})
        if ids and not extras:
            # The locks a chunk needs are learned by restarting it (the
            # host's protocol): learn them on one contract, not on a
            # whole chunk.
            cls._billing_run_chunk(ids[:1], date, result, extras)
            ids = ids[1:]
        for sub_ids in grouped_slice(ids, chunk):
            cls._billing_run_chunk(list(sub_ids), date, result, extras)
        return result

    @classmethod
    def _billing_lifecycle(cls, date, result):
        """Apply what falls due on date (scheduled changes, trials
        ending, terms expiring) before billing it, in its own committed
        transaction: a plan switched at the period's end is billed at
        the new price whichever cron runs first."""
        transaction = Transaction()
        try:
            with transaction.new_transaction() as lifecycle:
                cls.process_lifecycle(date)
                lifecycle.commit()
        except Exception as exception:
            # Billing still runs: each contract is billed as it stands.
            logger.warning("contract lifecycle failed", exc_info=True)
            result['errors'].append(
                ('lifecycle', str(exception) or repr(exception)))

    @classmethod
    def _billing_due_ids(cls, date):
        "Return the ids of the contracts due for billing on date"
        transaction = Transaction()
        company_id = transaction.context.get('company', -1)
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        cursor.execute(*table.select(
                table.id,
                where=(table.state == 'running')
                & (table.company == company_id)
                & (table.next_billing_date <= date),
                order_by=[table.id.asc]))
        return [i for i, in cursor]

    @classmethod
    def _billing_run_chunk(cls, ids, date, result, extras):
        transaction = Transaction()
        deadline = time.monotonic() + CHUNK_PATIENCE
        attempt = 0
        while True:
            try:
                with transaction.new_transaction(
                        **extras) as chunk_transaction, \
                        chunk_transaction.set_context(
                            subscription_billing=True,
                            # No one is there to answer a warning.
                            _skip_warnings=True):
                    contracts = cls._lock_for_billing(ids, date)
                    invoices = cls.bill(contracts, date)
                    chunk_transaction.commit()
                result['contracts'] += len(contracts)
                result['invoices'] += len(invoices)
                return
            except TransactionError as exception:
                # The host's protocol: locks (e.g. the strict invoice
                # sequence) are taken when the transaction starts, so
                # start again with them.
                exception.fix(extras)
                continue
            except DatabaseOperationalError:
                # A concurrent run holds or changed these contracts:
                # start again with a fresh snapshot.
                attempt += 1
                if time.monotonic() > deadline:
                    logger.info(
                        "billing of %s left to the next run (busy)", ids)
                    result['busy'] += len(ids)
                    return
                time.sleep(min(0.05 * attempt, 1))
                continue
            except Exception as exception:
                if len(ids) > 1:
                    # Find the failing contract: bill the chunk one by one.
                    for id_ in ids:
                        cls._billing_run_chunk([id_], date, result, extras)
                    return
                logger.warning(
                    "billing contract %s failed", ids[0], exc_info=True)
                result['errors'].append(
                    (ids[0], str(exception) or repr(exception)))
                return

    @classmethod
    def _lock_for_billing(cls, ids, date):
        """Lock the contracts still due and return them.

        Contracts locked by a concurrent run are skipped, not waited
        for: that run bills them."""
        transaction = Transaction()
        database = transaction.database
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        where = (table.id.in_(ids)
            & (table.state == 'running')
            & (table.next_billing_date <= date))
        query = table.select(table.id, where=where, order_by=[table.id.asc])
        if database.has_select_for():
            For = database.get_select_for_skip_locked()
            query.for_ = For('UPDATE')
        cursor.execute(*query)
        return cls.browse([i for i, in cursor])

    @classmethod
    def bill(cls, contracts, date):
        """Create the invoices of the periods due on date.

        Works in the current transaction, batched: a few queries for all
        the contracts, none per contract."""
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        Configuration = pool.get('sale.configuration')
        if not contracts:
            return []
        posted = Configuration(1).contract_invoice_state == 'posted'
        billed = Charge.billed_keys(contracts)
        cache = {}
        cls._prefetch_billing_parties(
            [c.invoice_party or c.party for c in contracts]
            + [c.party for c in contracts], cache)
        bills = []
        for contract in contracts:
            bills.extend(contract._get_bills(date, billed, cache))
            contract.next_billing_date = contract.compute_next_billing_date()
        invoices = []
        if bills:
            writer = cls._get_billing_writer(posted, date)
            if writer:
                fast, slow = [], []
                for bill in bills:
                    (fast if writer.prepare(*bill[:2]) else slow).append(bill)
                bills = slow
                if fast:
                    invoices.extend(writer.write(fast))
            if bills:
                invoices.extend(cls._store_bills(bills, posted))
        cls._save_billed(contracts)
        return invoices

    @classmethod
    def _save_billed(cls, contracts):
        """Save the contracts billed as save() does, but with one write
        per distinct values: most contracts of a run get the same dates,
        and save() sends one UPDATE per record (a tenth of the run)."""
        groups = {}
        for contract in contracts:
            values = contract._save_values()
            if not values:
                continue
            try:
                key = tuple(sorted(values.items()))
                hash(key)
            except TypeError:
                # x2many actions are lists: such a contract goes alone.
                key = ('contract', contract.id)
            groups.setdefault(key, ([], values))[0].append(contract)
        if not groups:
            return
        cls.write(*(a for records_values in groups.values()
                for a in records_values))
        for records, _ in groups.values():
            for contract in records:
                contract._values = None
                contract._init_values = None
                contract._deleted = None
                contract._removed = None

    @classmethod
    def _get_billing_writer(cls, posted, date):
        """Return the set-based writer of the billing invoices, or None
        to store them all with the ORM (the context key
        subscription_billing_orm forces it)."""
        pool = Pool()
        Date = pool.get('ir.date')
        if (Transaction().context.get('subscription_billing_orm')
                or not BillingWriter.available()):
            return None
        return BillingWriter(posted, Date.today())

    @classmethod
    def _store_bills(cls, bills, posted):
        "Store bills, a list of (invoice, lines, charges), with the ORM"
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        invoices = [b[0] for b in bills]
        Invoice.save(invoices)
        InvoiceLine.save([l for b in bills for l in b[1]])
        charges = [c for b in bills for c in b[2]]
        for charge in charges:
            charge.invoice = charge.invoice_line.invoice
        Charge.save(charges)
        Invoice.update_taxes(invoices)
        if posted:
            cls._post_invoices(invoices)
        return invoices

    @classmethod
    def _post_invoices(cls, invoices):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Invoice._post(invoices)

    def _get_bills(self, date, billed, cache):
        """Yield (invoice, lines, charges) for each period due on date.

        billed holds the (line, kind, period_start) keys already charged:
        those are skipped, which makes a re-run bill only what is
        missing."""
        start = self.billed_until or (
            self.financial_base_date or self.start_date)
        first = not self.billed_until
        for period_start, period_end, ratio in self.get_periods(start, date):
            lines, charges = [], []
            for key_line, kind, amount, quantity, unit_price, product, \
                    description in self._get_period_charges(
                        period_start, period_end, ratio, first):
                first = False
                if (key_line.id, kind, period_start) in billed:
                    continue
                charge, line = self._get_charge(
                    key_line, kind, period_start, period_end, ratio, amount,
                    quantity, unit_price, product, description, cache)
                lines.append(line)
                charges.append(charge)
            self.billed_until = period_end
            if lines:
                invoice = self._get_billing_invoice(
                    date, period_start, period_end, cache)
                for line in lines:
                    line.invoice = invoice
                yield invoice, lines, charges
            first = False

    def _get_period_charges(self, period_start, period_end, ratio, first):
        """Yield what a period charges: (line, kind, amount, quantity,
        unit_price, product, description).

        Override to add charge kinds (usage, add-ons, discounts)."""
        plan = self.plan
        total = Decimal(0)
        lines = [l for l in self.lines
            if (not l.start_date or l.start_date < period_end)
            and (not l.end_date or l.end_date >= period_start)]
        if not lines:
            return
        period = self._format_period(period_start, period_end)
        for line in lines:
            unit_price = self._round_unit_price(line.unit_price * ratio)
            amount = self.currency.round(
                Decimal(str(line.quantity)) * unit_price)
            total += amount
            description = '%s (%s)' % (
                line.description or line.service.rec_name, period)
            yield (line, 'recurring', amount, line.quantity, unit_price,
                line.service.product, description)
        if first and plan and plan.setup_fee:
            yield (lines[0], 'setup', plan.setup_fee, 1, plan.setup_fee,
                plan.setup_product, plan.setup_product.rec_name)
        if plan and plan.minimum_charge:
            minimum = self.currency.round(plan.minimum_charge * ratio)
            if total < minimum:
                difference = minimum - total
                yield (lines[0], 'minimum', difference, 1, difference,
                    lines[0].service.product,
                    gettext('subscription_core.msg_minimum_charge_line',
                        period=period))

    @staticmethod
    def _round_unit_price(unit_price):
        """Round a (pro-rata) unit price to the invoice line's digits.

        The charge amount is computed from the rounded unit price, so it
        always equals the amount of its invoice line."""
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        digits = InvoiceLine.unit_price.digits[1]
        # Half-even, as the host rounds currencies.
        return unit_price.quantize(
            Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)

    @staticmethod
    def _format_period(period_start, period_end):
        last = period_end - datetime.timedelta(1)
        return '%s–%s' % (
            period_start.strftime('%d/%m/%Y'), last.strftime('%d/%m/%Y'))

    def _get_charge(self, key_line, kind, period_start, period_end, ratio,
            amount, quantity, unit_price, product, description, cache):
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        InvoiceLine = pool.get('account.invoice.line')
        account, taxes = self._get_product_accounting(product, cache)
        invoice_line = InvoiceLine(
            type='line',
            company=self.company,
            currency=self.currency,
            product=product,
            unit=product.sale_uom,
            quantity=quantity,
            unit_price=unit_price,
            description=description,
            account=account,
            taxes=taxes,
            origin=key_line)
        charge = Charge(
            contract=self, line=key_line, kind=kind,
            period_start=period_start, period_end=period_end,
            ratio=ratio.quantize(Decimal('0.000001')),
            currency=self.currency, amount=amount,
            invoice_line=invoice_line)
        return charge, invoice_line

    def _get_product_accounting(self, product, cache):
        "Return the revenue account and taxes of product, cached per run"
        tax_rule = self._get_billing_tax_rule(cache)
        key = ('product', product.id, tax_rule)
        if key not in cache:
            account = product.account_revenue_used
            taxes = []
            pattern = {}
            for tax in product.customer_taxes_used:
                if tax_rule:
                    tax_ids = tax_rule.apply(tax, pattern)
                    if tax_ids:
                        taxes.extend(tax_ids)
                    continue
                taxes.append(tax.id)
            if tax_rule:
                tax_ids = tax_rule.apply(None, pattern)
                if tax_ids:
                    taxes.extend(tax_ids)
            cache[key] = account, taxes
        return cache[key]

    def _get_billing_tax_rule(self, cache):
        "Return the customer tax rule of the contract's party"
        key = ('party', self.party.id)
        if key not in cache:
            self._prefetch_billing_parties([self.party], cache)
        return cache[key]['customer_tax_rule']

    def _get_billing_invoice(self, date, period_start, period_end, cache):
        """Return the invoice for a period, issued on date.

        It falls due on the period's billing day (its start when billed
        in advance, its end in arrears), never before it is issued."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        party = self.invoice_party or self.party
        due = (period_start if self.get_billing_mode() == 'advance'
            else period_end)
        values = self._get_billing_party(party, cache)
        invoice = Invoice(
            company=self.company,
            type='out',
            party=party,
            invoice_address=(
                self.invoice_address or values.get('invoice_address')),
            currency=self.currency,
            account=values['account_receivable'],
            invoice_date=date,
            payment_term_date=max(due, date),
            payment_term=(
                self.payment_term or values['customer_payment_term']),
            party_lang=values['lang'],
            description=self._get_invoice_description(
                period_start, period_end),
            )
        journal_key = ('journal', self.company.id)
        if journal_key not in cache:
            invoice.set_journal()
            cache[journal_key] = invoice.journal
        invoice.journal = cache[journal_key]
        return invoice

    def _get_billing_party(self, party, cache):
        """Return the company values of party the invoice needs:
        receivable account, customer payment term, language code."""
        pool = Pool()
        Configuration = pool.get('ir.configuration')
        key = ('party', party.id)
        if key not in cache:
            # A party outside the prefetched chunk (e.g. a test calling
            # _get_bills directly).
            self._prefetch_billing_parties([party], cache)
        values = dict(cache[key])
        if not values['account_receivable']:
            default = ('default_account_receivable', self.company.id)
            if default not in cache:
                cache[default] = party.account_receivable_used
            values['account_receivable'] = cache[default]
        lang = values['lang']
        values['lang'] = lang.code if lang else Configuration.get_language()
        return values

    @classmethod
    def _prefetch_billing_parties(cls, parties, cache):
        """Read the company values (MultiValue fields) the invoices need
        for all the parties at once, as MultiValueMixin.get_multivalue
        picks them: the host reads them party by party, a search each,
        which was a third of the billing run's time."""
        pool = Pool()
        Party = pool.get('party.party')
        company = Transaction().context.get('company')
        parties = [p for p in parties if ('party', p.id) not in cache]
        ids = list(dict.fromkeys(p.id for p in parties))
        values = {i: {} for i in ids}
        # Fields stored on the same value model are read with one search.
        by_model = {}
        for name in cls._billing_party_fields():
            by_model.setdefault(
                Party.multivalue_model(name), []).append(name)
        for Value, names in by_model.items():
            pattern = filter_pattern({'company': company}, Value)
            found = {}
            # search_read: dictionaries, not a record instance per party
            # with its lazy reads (most of this method's time).
            columns = ['party'] + [f for f in pattern if f not in names]
            for sub_ids in grouped_slice(ids, 1000):
                for row in Value.search_read([
                            ('party', 'in', list(sub_ids)),
                            ], order=[('id', 'ASC')],
                        fields_names=columns + names):
                    if not _match(row, pattern):
                        continue
                    best = found.get(row['party'])
                    # A record with the company filled wins (as
                    # CompanyMultiValueMixin.multivalue_records sorts).
                    if best is None or (
                            best.get('company') is None
                            and row.get('company') is not None):
                        found[row['party']] = row
            default = Value(**pattern)
            for name in names:
                setattr(default, name, getattr(
                        Party, 'default_%s' % name, lambda **kw: None)(
                        **pattern))
            for name in names:
                field = Value._fields[name]
                instances = {}
                if field._type == 'many2one':
                    Target = pool.get(field.model_name)
                    targets = {r[name] for r in found.values()} - {None}
                    instances = {t.id: t for t in Target.browse(targets)}
                fallback = getattr(default, name)
                for id_ in ids:
                    row = found.get(id_)
                    if row is None:
                        values[id_][name] = fallback
                    else:
                        values[id_][name] = instances.get(
                            row[name], row[name])
        addresses = cls._prefetch_invoice_addresses(ids)
        for id_ in ids:
            values[id_]['invoice_address'] = addresses.get(id_)
            cache[('party', id_)] = values[id_]

    @classmethod
    def _prefetch_invoice_addresses(cls, party_ids):
        """Return the invoice address of each party as Party.address_get
        picks it (the first with the invoice flag, else the first one),
        read for all the parties at once."""
        pool = Pool()
        Address = pool.get('party.address')
        chosen = {}
        flag = 'invoice' in Address._fields
        for sub_ids in grouped_slice(party_ids, 1000):
            # The model's order is the one of Party.addresses.
            for row in Address.search_read([
                        ('party', 'in', list(sub_ids)),
                        ], fields_names=['party'] + (
                        ['invoice'] if flag else [])):
                party = row['party']
                if party not in chosen or (
                        flag and row['invoice']
                        and not chosen[party][1]):
                    chosen[party] = (row['id'], flag and row['invoice'])
        records = {a.id: a for a in Address.browse(
                [i for i, _ in chosen.values()])}
        return {p: records[i] for p, (i, _) in chosen.items()}

    @classmethod
    def _billing_party_fields(cls):
        return ['account_receivable', 'customer_payment_term', 'lang',
            'customer_tax_rule']

    def _get_invoice_description(self, period_start, period_end):
        return '%s %s' % (
            self.number or '', self._format_period(period_start, period_end))


class BillingRunStart(ModelView):
    "Billing Run"
    __name__ = 'sale.subscription.billing_run.start'
    date = fields.Date(
        "Date", required=True,
        help="Bill every period due on this date.")

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


class BillingRunResult(ModelView):
    "Billing Run Result"
    __name__ = 'sale.subscription.billing_run.result'
    contracts = fields.Integer("Contracts Billed", readonly=True)
    invoices = fields.Integer("Invoices Created", readonly=True)
    errors = fields.Text("Errors", readonly=True)


class BillingRun(Wizard):
    "Billing Run"
    __name__ = 'sale.subscription.billing_run'
    start = StateView(
        'sale.subscription.billing_run.start',
        'subscription_core.billing_run_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Bill", 'run', 'tryton-ok', default=True),
            ])
    run = StateTransition()
    result = StateView(
        'sale.subscription.billing_run.result',
        'subscription_core.billing_run_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_run(self):
        pool = Pool()
        Contract = pool.get('sale.subscription')
        self._result = Contract.billing_run(self.start.date)
        return 'result'

    def default_result(self, fields):
        result = getattr(self, '_result', None) or {}
        return {
            'contracts': result.get('contracts', 0),
            'invoices': result.get('invoices', 0),
            'errors': '\n'.join(
                '%s: %s' % e for e in result.get('errors', [])),
            }

