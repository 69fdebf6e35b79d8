# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
import logging
import time
from decimal import ROUND_HALF_EVEN, Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.model.multivalue import filter_pattern
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


_STAMPS = {'id', 'create_uid', 'create_date', 'write_uid', 'write_date'}


def _id(value):
    "The id of a record, or the value itself"
    return getattr(value, 'id', value)


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
        writer = cls._get_billing_writer(posted, date)
        signatures = {}
        # The context key subscription_billing_no_copies builds every
        # contract's bills with the hooks (to compare, to measure).
        if (writer and cls._bill_copies_allowed()
                and not Transaction().context.get(
                    'subscription_billing_no_copies')):
            signatures = cls._get_bill_signatures(contracts, billed, cache)
        else:
            cls._prefetch_billing_parties(
                [c.invoice_party or c.party for c in contracts]
                + [c.party for c in contracts], cache)
        # The first contract of each signature is billed by the hooks, the
        # others get copies of its bills.
        first = {}
        hooked, copies = [], []
        for contract in contracts:
            signature = signatures.get(contract.id)
            key = signature['key'] if signature else None
            if key is not None and key in first:
                copies.append((contract, first[key]))
                continue
            if key is not None:
                first[key] = contract.id
            hooked.append(contract)
        if copies:
            # Reading a field of one of contracts reads it for the whole
            # chunk: the copies need none.
            hooked = cls.browse([c.id for c in hooked])
        bills, bills_of = [], {}
        for contract in hooked:
            contract_bills = list(contract._get_bills(date, billed, cache))
            contract.next_billing_date = contract.compute_next_billing_date()
            bills_of[contract.id] = (contract, contract_bills)
            bills.extend(contract_bills)
        invoices = []
        # template id -> its values to write on its copies; the copies of
        # each template; the contracts billed alone after all.
        template_values, copy_writes, alone = {}, {}, []
        if writer:
            fast, slow = [], []
            for bill in bills:
                (fast if writer.prepare(*bill[:2]) else slow).append(bill)
            copied = []
            for contract, template_id in copies:
                template, template_bills = bills_of[template_id]
                values = template_values.get(template_id)
                if values is None:
                    values = template_values[template_id] = (
                        cls._get_copy_values(template, template_bills,
                            writer))
                if values is not False:
                    copied.append((contract.id, template_id))
                    copy_writes.setdefault(template_id, []).append(contract)
                    continue
                # The template's bills or values cannot be copied: the
                # contract is billed alone.
                for bill in contract._get_bills(date, billed, cache):
                    (fast if writer.prepare(*bill[:2]) else slow).append(
                        bill)
                contract.next_billing_date = (
                    contract.compute_next_billing_date())
                alone.append(contract)
            to_copy = cls._get_bill_copies(
                copied, bills_of, signatures, cache)
            bills = slow
            if fast or to_copy:
                invoices.extend(writer.write(fast, to_copy))
        if bills:
            invoices.extend(cls._store_bills(bills, posted))
        cls._save_billed(list(hooked) + alone)
        if copy_writes:
            # The copies change as their template: one write for each.
            cls.write(*(a for t, records in copy_writes.items()
                    for a in (records, dict(template_values[t]))))
        return invoices

    @classmethod
    def _get_copy_values(cls, template, template_bills, writer):
        """Return the values billing changed on template, to write on its
        copies, or False when they cannot be copied (the writer does not
        store its bills, or the values hold x2many actions)."""
        if not all(writer.is_prepared(b[0]) for b in template_bills):
            return False
        values = template._save_values()
        if any(isinstance(v, (list, tuple)) for v in values.values()):
            return False
        return values

    # The methods that build a contract's bills: a class that overrides one
    # must extend _get_bill_signatures too, or no bill is copied.
    _bill_hooks = ['_get_bills', '_get_period_charges',
        '_get_charge', '_get_billing_invoice', '_get_billing_party',
        '_get_product_accounting', '_get_billing_tax_rule',
        '_get_invoice_description', '_format_period', '_round_unit_price',
        'get_periods', '_get_billing_limit', 'get_billing_mode',
        'compute_next_billing_date', '_first_anchor', '_cycle_starts',
        '_iter_cycle_starts', '_recurrence_freq',
        '_prefetch_billing_parties', '_billing_party_fields',
        '_prefetch_invoice_addresses']

    @classmethod
    def _bill_copies_allowed(cls):
        """Whether every class overriding a billing hook says what its
        bills depend on (extends _get_bill_signatures)"""
        for klass in cls.__mro__:
            defined = vars(klass)
            if ('_get_bill_signatures' not in defined
                    and any(h in defined for h in cls._bill_hooks)):
                return False
        return True

    @classmethod
    def _get_bill_signatures(cls, contracts, billed, cache):
        pool = Pool()
        Party = pool.get('party.party')
        signatures = super()._get_bill_signatures(contracts, billed, cache)
        # The last period charged per contract line.
        latest = {}
        for line, _, period_start in billed:
            if period_start > latest.get(line, datetime.date.min):
                latest[line] = period_start
        cls._prefetch_billing_parties(Party.browse(list({
                        p for s in signatures.values()
                        for p in (s['contract']['party'],
                            s['contract']['invoice_party']) if p})), cache)
        party_fields = cls._billing_party_fields()
        for signature in signatures.values():
            if signature['key'] is None:
                continue
            row = signature['contract']
            start = (row['billed_until'] or row['financial_base_date']
                or row['start_date'])
            if any(latest.get(l['id'], datetime.date.min) >= start
                    for l in signature['lines']):
                # Some of what is due is charged already (a run killed
                # mid-way): its bills are not those of a new contract.
                signature['key'] = None
                continue
            party = cache[('party', row['invoice_party'] or row['party'])]
            own = cache[('party', row['party'])]
            signature['key'] += (
                tuple(_id(party[n]) for n in party_fields),
                _id(own['customer_tax_rule']))
        return signatures

    @classmethod
    def _get_bill_copies(cls, copied, bills_of, signatures, cache):
        """Return what the writer changes in the rows of the template's
        bills to store them as the contract's, for each (contract id,
        template id) of copied: [(invoice, values)]."""
        # One contract with the values of each in turn, but only its own
        # (reading another would read the whole chunk) and not relational
        # (setting one reads the record for its context): what the
        # description hook reads.
        contract = cls()
        names = [n for n in cls._bill_identity_fields - _STAMPS
            if not cls._fields[n]._type.endswith('2one')]
        periods = {}
        copies = []
        for contract_id, template_id in copied:
            row = signatures[contract_id]['contract']
            party_id = row['invoice_party'] or row['party']
            address = row['invoice_address'] or _id(
                cache[('party', party_id)].get('invoice_address'))
            lines = dict(zip(
                    signatures[template_id]['contract']['lines'],
                    row['lines']))
            contract._id = contract_id
            for name in names:
                setattr(contract, name, row[name])
            if template_id not in periods:
                periods[template_id] = [
                    (invoice, charges[0].period_start, charges[0].period_end)
                    for invoice, _, charges in bills_of[template_id][1]]
            for invoice, period_start, period_end in periods[template_id]:
                copies.append((invoice, {
                            'party': party_id,
                            'invoice_address': address,
                            'description': contract._get_invoice_description(
                                period_start, period_end),
                            'contract': contract_id,
                            'lines': lines,
                            }))
        return copies

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
            # Rows, not a record instance per party with its lazy reads
            # (most of this method's time).
            columns = ['party'] + [f for f in pattern if f not in names]
            for sub_ids in grouped_slice(ids, 1000):
                for row in cls._search_rows(Value, [
                            ('party', 'in', list(sub_ids)),
                            ], columns + names, order=[('id', 'ASC')]):
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
            for row in cls._search_rows(Address, [
                        ('party', 'in', list(sub_ids)),
                        ], ['party'] + (['invoice'] if flag else [])):
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

