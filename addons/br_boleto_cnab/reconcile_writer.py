# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Set-based storage of the liquidations of a retorno.

Through the ORM a liquidation costs about 150 ms here (create and post
the move, reconcile it, succeed the payment, process the invoice):
tests/bench/retorno.py measured 4-8 titles/s where the target is
100,000 titles in under 60 s. So the retorno reconcile, a measured hot
path, stores below the ORM, but only the storage: the move and its
lines are built by the host's methods (Occurrence._get_liquidation_move,
once per distinct amounts and date, then copied per title with its
party, origin and description, as the billing writer does), numbers
come from the host's sequences, the reconciliation is the one
Line.reconcile would create, payments and invoices get the states their
workflows give, and contracts are updated by the host's
update_paid_until. Ids are reserved per table; occurrences, moves,
reconciliations and lines are COPYed per chunk in foreign-key order;
payments, title lines and occurrences get one UPDATE per chunk, and the
paid invoices one Invoice.paid call (the host's transition, which other
modules extend) per chunk.

The writer only takes what it reproduces exactly (the differential test
tests/test_reconcile_writer.py compares its rows with the ORM's): a
title in processing, in the company currency, whose move line is not
reconciled, no other title paid part of, and is settled exactly by the
liquidation, on PostgreSQL.
Everything else (partial payment, overpayment, failed titles, foreign
currency, SQLite, context br_boleto_reconcile_orm) goes through the ORM
(Occurrence._apply_liquidation)."""
from collections import defaultdict
from decimal import Decimal

from sql.aggregate import Count
from sql import Column
from sql.operators import Any

from trytond import backend
from trytond.modules.subscription_core.billing_writer import BillingWriter
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

ZERO = Decimal('0.00')
CHUNK = 2000


class ReconcileWriter:
    "Store the liquidation moves, reconciliations and states of titles"

    # Per database: the name of each table's id sequence
    _id_sequences = {}

    def __init__(self, journal, date):
        self.journal = journal
        self.date = date
        # The billing writer's storage helpers: stored fields with their
        # defaults, the transaction's time stamp and COPY.
        self.store = BillingWriter(True, date)
        self._templates = {}
        self._periods = {}
        self._cache = {}

    @staticmethod
    def available():
        "Whether the writer can run: PostgreSQL and no ORM forced"
        context = Transaction().context
        return (backend.name == 'postgresql'
            and not context.get('br_boleto_reconcile_orm'))

    @classmethod
    def insert(cls, Model, vlist, ids=None):
        """Insert the rows of vlist (values of stored fields, already
        validated by their builder) into Model's table with COPY, with ids
        when given (from nextids); return their ids. The table's
        constraints (unique keys) still hold."""
        transaction = Transaction()
        if ids is None:
            ids = cls.nextids(Model, len(vlist))
        store = BillingWriter(True, None)
        names = sorted({n for v in vlist for n in v})
        user, now = transaction.user, store._now()
        # Plain values (ids, text, dates, Decimal): COPY adapts them as
        # sql_format would, at a tenth of its cost.
        store._copy(Model._table,
            ['id', 'create_uid', 'create_date'] + names,
            ([id_, user, now] + [v.get(n) for n in names]
                for id_, v in zip(ids, vlist)))
        transaction.create_records[Model.__name__].extend(ids)
        return ids

    # --- selecting ----------------------------------------------------------

    def split(self, occurrences, pending=None):
        """Split liquidation occurrences (in the order the bank reports
        them) into those the writer stores and those for the ORM.
        pending: the values of occurrences not stored yet, by id (the
        writer stores them with their move).

        Return (titles, others): titles are dicts read per chunk."""
        journal = self.journal
        company = journal.company
        titles, others = [], []
        if (journal.currency != company.currency
                or not self._reconciliation_sequence()):
            return titles, list(occurrences)
        by_id = {o.id: o for o in occurrences}
        for sub in grouped_slice(list(by_id), CHUNK):
            sub = list(sub)
            rows = self._read(sub, pending or {})
            for id_ in sub:
                row = rows.get(id_)
                occurrence = by_id[id_]
                if row and self._writable(row):
                    row['occurrence'] = occurrence
                    titles.append(row)
                else:
                    others.append(occurrence)
        # Keep the bank's order (the order moves are numbered in)
        order = {o.id: i for i, o in enumerate(occurrences)}
        titles.sort(key=lambda r: order[r['id']])
        return titles, others

    def _read(self, ids, pending):
        """Occurrence, title, line and move values of occurrence ids, the
        occurrence's from pending when not stored yet"""
        pool = Pool()
        Occurrence = pool.get('account.payment.boleto.occurrence')
        Payment = pool.get('account.payment')
        Line = pool.get('account.move.line')
        Move = pool.get('account.move')
        Account = pool.get('account.account')
        occurrence = Occurrence.__table__()
        payment = Payment.__table__()
        line = Line.__table__()
        move = Move.__table__()
        account = Account.__table__()
        cursor = Transaction().connection.cursor()
        names = ['id', 'date', 'credit_date', 'amount_paid', 'interest',
            'fine', 'fee', 'discount', 'abatement', 'payment']
        occurrences = {}
        stored = [i for i in ids if i not in pending]
        if stored:
            cursor.execute(*occurrence.select(
                    *[Column(occurrence, n) for n in names],
                    where=occurrence.id == Any(stored)))
            for values in cursor:
                occurrences[values[0]] = dict(zip(names, values))
        for id_ in ids:
            if id_ in pending:
                occurrences[id_] = dict(
                    {n: pending[id_].get(n) for n in names}, id=id_)
        columns = [
            payment.id, payment.state, payment.party,
            payment.boleto_nosso_numero, payment.boleto_nosso_numero_printed,
            line.id, line.account, line.party, line.debit, line.credit,
            line.reconciliation, line.second_currency, line.move,
            move.date, account.reconcile,
            ]
        title_names = [
            'payment', 'payment_state', 'party', 'nosso_numero',
            'nosso_numero_printed',
            'line', 'account', 'line_party', 'debit', 'credit',
            'reconciliation', 'second_currency', 'line_move', 'line_date',
            'account_reconcile',
            ]
        cursor.execute(*payment
            .join(line, condition=payment.line == line.id)
            .join(move, condition=line.move == move.id)
            .join(account, condition=line.account == account.id)
            .select(*columns, where=payment.id == Any(list(
                        {o['payment'] for o in occurrences.values()
                            if o['payment']}))))
        titles = {v[0]: dict(zip(title_names, v)) for v in cursor}
        rows = {}
        for id_, row in occurrences.items():
            if row['payment'] not in titles:
                continue
            row.update(titles[row['payment']])
            for name in ['amount_paid', 'interest', 'fine', 'fee',
                    'discount', 'abatement']:
                row[name] = row[name] or ZERO
            row['pending'] = pending.get(id_)
            rows[id_] = row
        # Lines another title already paid part of: what they still owe
        # is for the ORM to allocate (liquidation.py)
        other = Payment.__table__()
        cursor.execute(*other.select(other.line, other.id,
                where=(other.line == Any(
                        list({r['line'] for r in rows.values()})))
                & (other.state == 'succeeded')))
        paid = defaultdict(set)
        for line_id, payment_id in cursor:
            paid[line_id].add(payment_id)
        for row in rows.values():
            row['paid_before'] = bool(paid[row['line']] - {row['payment']})
        return rows

    def _writable(self, row):
        "Whether the writer stores the liquidation of row exactly"
        settled = self._settled(row)
        return (row['payment_state'] == 'processing'
            and not row['paid_before']
            and row['reconciliation'] is None
            and row['second_currency'] is None
            and row['account_reconcile']
            and row['party'] == row['line_party']
            and settled > 0
            and settled == row['debit'] - row['credit'])

    @staticmethod
    def _settled(row):
        "What the liquidation pays of the title (as the move credits it)"
        return (row['amount_paid'] + row['discount'] + row['abatement']
            - row['interest'] - row['fine'])

    # --- building -----------------------------------------------------------

    def _get_template_key(self, row):
        """What the liquidation move depends on but for the party, the
        origin and the description: titles with the same key get the
        same lines (most titles of a retorno do)."""
        return (row['account'], row['credit_date'] or row['date'],
            row['amount_paid'], row['interest'], row['fine'], row['fee'],
            row['discount'], row['abatement'])

    def _template(self, row):
        """The move rows of the first title of a key, built by the host's
        Occurrence._get_liquidation_move; None when the writer cannot
        copy it (unbalanced, or no single line to reconcile)."""
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        key = self._get_template_key(row)
        if key in self._templates:
            return self._templates[key]
        # A lone instance: one read, not one per title of the chunk; an
        # occurrence not stored yet is built from its values
        Occurrence = row['occurrence'].__class__
        if row['pending'] is not None:
            occurrence = Occurrence(**row['pending'])
        else:
            occurrence = Occurrence(row['id'])
        move = occurrence._get_liquidation_move()
        lines = list(move.lines)
        balance = sum((l.debit - l.credit for l in lines), ZERO)
        credit = [i for i, l in enumerate(lines)
            if l.account.id == row['account']
            and (l.party.id if l.party else None) == row['party']]
        template = None
        if (balance == 0 and len(credit) == 1
                and (lines[credit[0]].credit - lines[credit[0]].debit
                    == self._settled(row))):
            period = move.period
            journal_period = (move.journal.id, period.id)
            if journal_period not in self._periods:
                Line.check_journal_period_modify(period, move.journal)
                self._periods[journal_period] = period
            move.state = 'posted'
            move.post_date = self.date
            self.store._set_defaults(move)
            move_names, move_row = self._row(Move, move)
            line_rows = []
            for line in lines:
                # Set per title when copied
                line.move = None
                line.state = 'valid'
                self.store._set_defaults(line)
                line_names, line_row = self._row(Line, line)
                line_rows.append((line_row, line.party is not None))
            template = {
                'move': move_row, 'move_names': move_names,
                'lines': line_rows, 'line_names': line_names,
                'credit': credit[0], 'period': period,
                'sequence': period.move_sequence_used,
                'date': move.date, 'company': move.company.id,
                'party_required': [l.party is not None for l in lines],
                }
        self._templates[key] = template
        return template

    def _row(self, Model, record):
        "Column names and SQL values of record (without id and stamps)"
        names, defaults = self.store._stored_fields(Model)
        values = record._values
        row = []
        for name in names:
            value = values._get(name, _MISSING) if values else _MISSING
            if value is _MISSING:
                value = defaults.get(name)
            row.append(Model._fields[name].sql_format(value))
        return names, row

    # --- storing ------------------------------------------------------------

    def write(self, titles):
        """Store the liquidations of titles (from split).

        Return the titles written; the others (template not copiable)
        are returned second for the ORM."""
        written, others = [], []
        for sub in grouped_slice(titles, CHUNK):
            sub = list(sub)
            done = []
            for row in sub:
                template = self._template(row)
                if template is None:
                    others.append(row['occurrence'])
                else:
                    row['template'] = template
                    done.append(row)
            if done:
                self._write_chunk(done)
                written.extend(done)
        return written, others

    def _write_chunk(self, rows):
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Reconciliation = pool.get('account.move.reconciliation')
        Occurrence = pool.get('account.payment.boleto.occurrence')
        transaction = Transaction()
        connection = transaction.connection
        user, now = transaction.user, self.store._now()
        n = len(rows)
        move_ids = self.nextids(Move, n)
        reconciliation_ids = self.nextids(Reconciliation, n)
        all_line_ids = self.nextids(
            Line, sum(len(r['template']['lines']) for r in rows))
        self._set_move_numbers(rows)
        reconciliation_numbers = self._reconciliation_numbers(n)
        # The message once, the number put in per title: gettext costs
        # ~0.3 ms a call.
        marker = '\x00'
        description = Occurrence._get_liquidation_description(marker)

        move_rows, line_rows, reconciliation_rows, to_link = [], [], [], []
        line_ids = iter(all_line_ids)
        for row, move_id, reconciliation_id, number in zip(
                rows, move_ids, reconciliation_ids, reconciliation_numbers):
            template = row['template']
            names = template['move_names']
            values = dict(zip(names, template['move']))
            values.update({
                    'number': row['move_number'],
                    'origin': 'account.payment,%s' % row['payment'],
                    'description': description.replace(marker,
                        row['nosso_numero_printed'] or row['nosso_numero']),
                    })
            move_rows.append([move_id, user, now, user, now]
                + [values[n] for n in names])
            row['move'] = move_id
            line_names = template['line_names']
            party_index = line_names.index('party')
            move_index = line_names.index('move')
            reconciliation_index = line_names.index('reconciliation')
            for i, (line_row, has_party) in enumerate(template['lines']):
                line_id = next(line_ids)
                line_row = list(line_row)
                line_row[move_index] = move_id
                if has_party:
                    line_row[party_index] = row['party']
                if i == template['credit']:
                    line_row[reconciliation_index] = reconciliation_id
                line_rows.append([line_id, user, now, user, now] + line_row)
            # As Line.reconcile: the highest date of the lines
            reconciliation_rows.append([reconciliation_id, user, now,
                    number, template['company'],
                    max(row['line_date'], template['date']), None])
            to_link.append((row['line'], reconciliation_id))

        stamps = ['id', 'create_uid', 'create_date', 'write_uid',
            'write_date']
        template = rows[0]['template']
        self.store._copy(Move._table, stamps + template['move_names'],
            move_rows)
        self.store._copy(Reconciliation._table,
            ['id', 'create_uid', 'create_date', 'number', 'company', 'date',
                'delegate_to'], reconciliation_rows)
        # All templates share the stored columns of their model
        self.store._copy(Line._table, stamps + template['line_names'],
            line_rows)
        for Model, ids in [(Move, move_ids), (Line, all_line_ids),
                (Reconciliation, reconciliation_ids)]:
            transaction.create_records[Model.__name__].extend(ids)

        cursor = connection.cursor()
        line = Line.__table__()
        cursor.execute(
            'UPDATE "%s" AS l SET reconciliation = v.r, write_uid = %%s, '
            'write_date = %%s FROM unnest(%%s::int[], %%s::int[]) '
            'AS v(l, r) WHERE l.id = v.l AND l.reconciliation IS NULL'
            % line._name, (user, now, [l for l, _ in to_link],
                [r for _, r in to_link]))
        if cursor.rowcount != n:
            # Another transaction reconciled a line since it was read:
            # the host restarts the transaction on this error.
            raise backend.DatabaseOperationalError(
                'reconciled meanwhile: %s' % Line.__name__)
        # Occurrences not stored yet are stored with their move: inserting
        # then updating them cost 20-50 µs a row more (measured)
        pending = [r for r in rows if r['pending'] is not None]
        if pending:
            self.insert(Occurrence,
                [dict(r['pending'], move=r['move']) for r in pending],
                ids=[r['id'] for r in pending])
        stored = [r for r in rows if r['pending'] is None]
        if stored:
            occurrence = Occurrence.__table__()
            cursor.execute(
                'UPDATE "%s" AS o SET move = v.m, write_uid = %%s, '
                'write_date = %%s FROM unnest(%%s::int[], %%s::int[]) '
                'AS v(o, m) WHERE o.id = v.o' % occurrence._name,
                (user, now, [r['id'] for r in stored],
                    [r['move'] for r in stored]))
        self._succeed_payments(rows)
        self._clear_cache()
        self._process_invoices({r['line_move'] for r in rows})

    @classmethod
    def nextids(cls, Model, count):
        """count new ids of Model, as the host's Database.nextid gives
        them: it looks the id sequence up for every id (1.2 s per 100,000
        ids, and a 100,000-title retorno needs 800,000); looked up once
        per table, 0.13 s."""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        sequences = cls._id_sequences.setdefault(
            transaction.database.name, {})
        if Model._table not in sequences:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')",
                ('"%s"' % Model._table,))
            sequences[Model._table], = cursor.fetchone()
        cursor.execute('SELECT nextval(%s::regclass) '
            'FROM generate_series(1, %s)', (sequences[Model._table], count))
        return [i for i, in cursor]

    def _set_move_numbers(self, rows):
        "Number the moves as Move.post does, in the order they are posted"
        by_sequence = defaultdict(list)
        for row in rows:
            template = row['template']
            by_sequence[(template['sequence'], template['company'])].append(
                row)
        for (sequence, company), s_rows in by_sequence.items():
            with Transaction().set_context(company=company):
                for row, number in zip(
                        s_rows, self._numbers(sequence, len(s_rows))):
                    row['move_number'] = number

    @staticmethod
    def _numbers(sequence, count):
        """The count next numbers of sequence, those count calls of its
        get would give. The host's get_many increments once but formats
        prefix and suffix per number (2.6 s of a 20,000-title reconcile
        under cProfile); here they are formatted once. A strict sequence
        is locked by the import (Occurrence.lock_retorno)."""
        if sequence.type != 'incremental':
            return list(sequence.get_many(count))
        if getattr(sequence, '_strict', False):
            sequence.lock()
        with without_check_access():
            numbers = list(sequence._get_many(count))
            prefix = sequence._process(sequence.prefix)
            suffix = sequence._process(sequence.suffix)
        return [prefix + n + suffix for n in numbers]

    def _reconciliation_sequence(self):
        "The sequence Reconciliation.preprocess_values numbers with"
        pool = Pool()
        Configuration = pool.get('account.configuration')
        if 'reconciliation_sequence' not in self._cache:
            self._cache['reconciliation_sequence'] = (
                Configuration(1).get_multivalue('reconciliation_sequence',
                    company=self.journal.company.id))
        return self._cache['reconciliation_sequence']

    def _reconciliation_numbers(self, count):
        with Transaction().set_context(company=self.journal.company.id):
            return self._numbers(self._reconciliation_sequence(), count)

    def _succeed_payments(self, rows):
        """Payment.succeed and the boleto state, as _apply_liquidation
        writes them. The payment amount cache of the title lines does not
        change (processing and succeeded both count), so it is not
        recomputed."""
        pool = Pool()
        Payment = pool.get('account.payment')
        User = pool.get('res.user')
        transaction = Transaction()
        user, now = transaction.user, self.store._now()
        employee = User(user).employee
        employee_id = (employee.id if employee
            and employee.company == self.journal.company else None)
        ids = [r['payment'] for r in rows]
        cursor = transaction.connection.cursor()
        cursor.execute(
            'UPDATE "%s" SET state = %%s, boleto_state = %%s, '
            'boleto_instruction = NULL, '
            'succeeded_by = COALESCE(succeeded_by, %%s::integer), '
            'write_uid = %%s, write_date = %%s '
            'WHERE id = ANY(%%s) AND state = %%s' % Payment._table,
            ('succeeded', 'paid', employee_id, user, now, ids, 'processing'))
        if cursor.rowcount != len(set(ids)):
            raise backend.DatabaseOperationalError(
                'changed meanwhile: %s' % Payment.__name__)
        self._log_transitions(Payment, ids, 'state:succeeded')

    def _log_transitions(self, Model, ids, target):
        "The ir.model.log rows a Workflow transition stores"
        pool = Pool()
        Log = pool.get('ir.model.log')
        if not Model._log or not ids:
            return
        transaction = Transaction()
        user, now = transaction.user, self.store._now()
        self.store._copy(Log._table,
            ['create_uid', 'create_date', 'resource', 'event', 'target',
                'user'],
            [[user, now, '%s,%s' % (Model.__name__, i), 'transition',
                    target, user] for i in ids])

    def _clear_cache(self):
        "The rows changed below the ORM: forget what it read of them"
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            cache.clear()

    def _process_invoices(self, move_ids):
        """Invoice.process of the invoices of the reconciled title lines:
        posted invoices whose lines to pay are all reconciled (found with
        one query per chunk) are paid; those with delegated
        reconciliations go through Invoice.process, which follows them."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        AdditionalMove = pool.get('account.invoice-additional-account.move')
        Reconciliation = pool.get('account.move.reconciliation')
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        invoice = Invoice.__table__()
        additional = AdditionalMove.__table__()
        move_ids = list(move_ids)
        cursor.execute(*invoice.select(invoice.id,
                where=(invoice.move == Any(move_ids))
                & (invoice.state == 'posted')))
        invoice_ids = {i for i, in cursor}
        cursor.execute(*additional.join(invoice,
                condition=additional.invoice == invoice.id).select(
                invoice.id, where=(additional.move == Any(move_ids))
                & (invoice.state == 'posted')))
        invoice_ids.update(i for i, in cursor)
        if not invoice_ids:
            return
        invoice_ids = sorted(invoice_ids)
        lines = Invoice._query_lines_to_pay(invoice_ids)
        reconciliation = Reconciliation.__table__()
        cursor.execute(*lines
            .join(reconciliation, 'LEFT',
                condition=lines.reconciliation == reconciliation.id)
            .select(lines.invoice,
                Count(lines.line), Count(lines.reconciliation),
                Count(reconciliation.delegate_to),
                group_by=[lines.invoice]))
        paid, to_process = [], []
        for invoice_id, total, reconciled, delegated in cursor:
            if total and total == reconciled:
                (to_process if delegated else paid).append(invoice_id)
        if paid:
            # The host's transition, one write for the chunk: modules hook
            # it (subscription_core moves paid-until, isp_provisioning
            # restores accesses).
            Invoice.paid(Invoice.browse(paid))
        if to_process:
            Invoice.process(Invoice.browse(to_process))


_MISSING = object()
