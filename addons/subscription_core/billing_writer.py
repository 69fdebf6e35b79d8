# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Set-based storage of the invoices of a billing chunk.

The host's ORM stores a posted invoice in about 70 ms here: every save
validates its domains, posting re-reads and re-writes the invoice, its
taxes and its move. The billing run is the measured hot path
(tests/bench/billing_run.py), so below the ORM, but only for storage:
every record is still built by the host's own methods (invoice taxes,
move lines, tax lines, payment terms, numbering sequences), so a module
that overrides them is honoured. Ids are reserved per table and each
table gets one multi-row INSERT per chunk, in foreign-key order.

The writer takes only invoices whose storage it reproduces exactly (the
differential test compares its rows with the ORM's): company currency,
positive total, no zero line, PostgreSQL. The others go through the
ORM (Contract._post_invoices)."""
import copy
from collections import defaultdict
from itertools import groupby

from trytond import backend
from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.account_invoice.exceptions import InvoiceNumberError
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import BillingError

_SKIP = {'id', 'create_uid', 'create_date', 'write_uid', 'write_date'}


class BillingWriter:
    "Store billing invoices (with their lines, taxes, move and charges)"

    def __init__(self, posted, today):
        self.posted = posted
        self.today = today
        self._defaults = {}
        self._columns = {}

    @staticmethod
    def available():
        "Whether the database can reserve ids (PostgreSQL sequences)"
        database = Transaction().database
        return (database.has_multirow_insert()
            and backend.name == 'postgresql')

    def prepare(self, invoice, lines):
        """Compute the amounts and taxes of an unsaved invoice.

        Return whether the writer can store it."""
        pool = Pool()
        InvoiceTax = pool.get('account.invoice.tax')
        # The ORM would fill the defaults when creating them; the host's
        # methods (and other modules') read them.
        for record in [invoice] + list(lines):
            self._set_defaults(record)
        invoice.lines = lines
        invoice.alternative_payees = []
        for line in lines:
            line.amount = line.on_change_with_amount()
        taxes = []
        for _, values in invoice._compute_taxes():
            values = dict(values)
            values.pop('invoice', None)
            tax = InvoiceTax(**values)
            tax.invoice = invoice
            taxes.append(tax)
        invoice.taxes = taxes
        untaxed = sum((l.amount for l in lines), invoice.currency.round(0))
        tax_amount = sum((t.amount for t in taxes), untaxed * 0)
        invoice.untaxed_amount_cache = untaxed
        invoice.tax_amount_cache = tax_amount
        invoice.total_amount_cache = untaxed + tax_amount
        return (invoice.currency == invoice.company.currency
            and invoice.total_amount_cache > 0
            and all(l.amount for l in lines))

    def write(self, bills):
        """Store bills: a list of (invoice, lines, charges) prepared.

        Return the invoices, saved."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        InvoiceTax = pool.get('account.invoice.tax')
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        TaxLine = pool.get('account.tax.line')
        Charge = pool.get('sale.subscription.charge')
        invoices = [b[0] for b in bills]
        lines = [l for b in bills for l in b[1]]
        charges = [c for b in bills for c in b[2]]
        taxes = [t for i in invoices for t in i.taxes]
        for charge in charges:
            charge.invoice = charge.invoice_line.invoice
        moves, move_lines, tax_lines = [], [], []
        if self.posted:
            self._set_numbers(invoices)
            templates = {}
            for invoice in invoices:
                key = self._get_move_key(invoice)
                if key not in templates:
                    move = self._get_move(invoice)
                    templates[key] = (invoice, move)
                else:
                    move = self._clone_move(invoice, *templates[key])
                invoice.move = move
                invoice.state = 'posted'
                moves.append(move)
                for line in move.lines:
                    line.move = move
                    move_lines.append(line)
                    for tax_line in getattr(line, 'tax_lines', []):
                        tax_line.move_line = line
                        tax_lines.append(tax_line)
            self._set_move_numbers(moves)
        else:
            for invoice in invoices:
                invoice.state = 'draft'
                invoice.untaxed_amount_cache = None
                invoice.tax_amount_cache = None
                invoice.total_amount_cache = None
        # Reserve every id first: the invoice points at its move and the
        # move back at the invoice (origin).
        order = [
            (Move, moves), (Invoice, invoices), (InvoiceLine, lines),
            (InvoiceTax, taxes), (MoveLine, move_lines),
            (TaxLine, tax_lines), (Charge, charges)]
        for Model, records in order:
            self._reserve_ids(Model, records)
        for Model, records in order:
            self._insert(Model, records)
        self._insert_line_taxes(lines)
        if invoices and self.posted:
            self._set_payment_means(invoices)
        return Invoice.browse([i.id for i in invoices])

    def _set_defaults(self, record):
        "Set the default values of the fields record does not have"
        _, defaults = self._stored_fields(record.__class__)
        values = record._values
        for name, value in defaults.items():
            if values is None or values._get(name, _SKIP) is _SKIP:
                setattr(record, name, value)

    # --- building -----------------------------------------------------------

    def _set_numbers(self, invoices):
        """Number the invoices as Invoice.set_number does, one
        get_many call per sequence and date."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Lang = pool.get('ir.lang')
        to_number = defaultdict(list)
        checked = set()
        for invoice in sorted(invoices, key=lambda i: i.invoice_date):
            if 'sales' in Invoice._fields:
                # Billing invoices come from contracts, not sales.
                invoice.sales = []
            invoice.tax_identifier = self._tax_identifier(invoice)
            invoice.party_tax_identifier = invoice.party.tax_identifier
            invoice.sequence_type_cache = 'invoice'
            # The sequence depends on the company, the type and the
            # period: one search per date, not one per invoice.
            key = ('sequence', invoice.company.id, invoice.type,
                invoice.accounting_date or invoice.invoice_date)
            if key not in self._defaults:
                self._defaults[key] = invoice._number_sequence()
            sequence, date = self._defaults[key]
            to_number[(sequence, date)].append(invoice)
            if sequence not in checked:
                after = Invoice.search([
                        ('sequence', '=', sequence),
                        ('invoice_date', '>', invoice.invoice_date),
                        ], limit=1, order=[('invoice_date', 'DESC')])
                if after:
                    after, = after
                    raise InvoiceNumberError(gettext(
                            'account_invoice.msg_invoice_number_after',
                            invoice=invoice.rec_name,
                            sequence=sequence.rec_name,
                            date=Lang.get().strftime(invoice.invoice_date),
                            after_invoice=after.rec_name))
                checked.add(sequence)
        for (sequence, date), n_invoices in to_number.items():
            company = n_invoices[0].company
            with Transaction().set_context(date=date, company=company.id):
                numbers = sequence.get_many(len(n_invoices))
                for invoice, number in zip(n_invoices, numbers):
                    invoice.sequence = sequence
                    invoice.number = number
                    for fname, value in invoice.compute_fields(
                            {'number'}).items():
                        setattr(invoice, fname, value)

    def _tax_identifier(self, invoice):
        key = ('tax_identifier', invoice.company.id)
        if key not in self._defaults:
            self._defaults[key] = invoice.get_tax_identifier()
        return self._defaults[key]

    def _get_move(self, invoice):
        """Return the posted move of invoice, built like Invoice.get_move
        (without its warnings: nobody is there to answer them)."""
        pool = Pool()
        Move = pool.get('account.move')
        Period = pool.get('account.period')
        MoveLine = pool.get('account.move.line')
        move_lines = []
        for line in invoice.lines:
            line.invoice = invoice
            move_lines += line.get_move_lines()
        for tax in invoice.taxes:
            move_lines += tax.get_move_lines()
        total = invoice.total_amount_cache
        if invoice.payment_term:
            term_lines = invoice.payment_term.compute(
                total, invoice.currency,
                invoice.payment_term_date or invoice.invoice_date)
        else:
            term_lines = [(invoice.payment_term_date or self.today, total)]
        for date, amount in term_lines:
            move_lines.append(invoice._get_move_line(date, amount))
        balance = sum(l.debit - l.credit for l in move_lines)
        if not invoice.currency.is_zero(balance):
            raise BillingError(gettext(
                    'subscription_core.msg_billing_unbalanced',
                    invoice=invoice.description))
        for line in move_lines:
            line.state = 'valid'
        date = invoice.accounting_date or invoice.invoice_date
        key = ('period', invoice.company.id, date)
        if key not in self._defaults:
            period = Period.find(invoice.company, date=date)
            MoveLine.check_journal_period_modify(period, invoice.journal)
            self._defaults[key] = period
        move = Move(
            journal=invoice.journal, period=self._defaults[key], date=date,
            origin=invoice, company=invoice.company, lines=move_lines,
            state='posted', post_date=self.today)
        return move

    def _get_move_key(self, invoice):
        """Return what the move of invoice depends on but for its party,
        description and origins: invoices with the same key get the same
        move lines (most invoices of a run do)."""
        def id_(record):
            return record.id if record else None
        return (id_(invoice.company), id_(invoice.currency), invoice.type,
            id_(invoice.journal), id_(invoice.account),
            id_(invoice.payment_term), invoice.payment_term_date,
            invoice.invoice_date, invoice.accounting_date,
            invoice.party_lang,
            tuple((id_(l.product), id_(l.account), l.quantity,
                    l.unit_price, l.amount,
                    tuple(int(t) for t in l.taxes or []))
                for l in invoice.lines),
            tuple((id_(t.tax), id_(t.account), t.base, t.amount)
                for t in invoice.taxes))

    def _clone_move(self, invoice, template, template_move):
        """Return the move of invoice as a copy of the move built by the
        host for template, an invoice with the same key: the host's
        methods give the same lines but for the party, the description
        and the origins, which are set here."""
        pool = Pool()
        Move = pool.get('account.move')
        origins = {}
        for old, new in zip(template.lines, invoice.lines):
            origins[id(old)] = new
        for old, new in zip(template.taxes, invoice.taxes):
            origins[id(old)] = new
        lines = []
        for template_line in template_move.lines:
            line = copy.copy(template_line)
            origin = getattr(template_line, 'origin', None)
            if origin is not None and id(origin) in origins:
                line.origin = origins[id(origin)]
            if getattr(template_line, 'party', None) is not None:
                line.party = invoice.party
            if (getattr(template_line, 'description', None)
                    == template.description):
                line.description = invoice.description
            line.tax_lines = [
                copy.copy(t) for t in getattr(template_line, 'tax_lines', [])]
            lines.append(line)
        return Move(
            journal=template_move.journal, period=template_move.period,
            date=template_move.date, origin=invoice,
            company=template_move.company, lines=lines, state='posted',
            post_date=self.today)

    def _set_move_numbers(self, moves):
        "Number the moves as Move.post does"
        key = lambda m: (m.period.move_sequence_used, m.company.id)
        for (sequence, company), p_moves in groupby(
                sorted(moves, key=lambda m: (m.period.id, m.company.id)),
                key=key):
            p_moves = list(p_moves)
            with Transaction().set_context(company=company):
                for move, number in zip(
                        p_moves, sequence.get_many(len(p_moves))):
                    move.number = number

    # --- storing ------------------------------------------------------------

    def _reserve_ids(self, Model, records):
        if not records:
            return
        transaction = Transaction()
        ids = transaction.database.nextid(
            transaction.connection, Model._table, count=len(records))
        if len(records) == 1:
            ids = [ids]
        for record, id_ in zip(records, ids):
            record._id = id_

    def _stored_fields(self, Model):
        if Model.__name__ not in self._columns:
            names = [n for n, f in Model._fields.items()
                if n not in _SKIP
                and not isinstance(f, fields.Function)
                and f._type not in {'one2many', 'many2many'}]
            with Transaction().set_context(_skip_warnings=True):
                defaults = Model.default_get(names, with_rec_name=False)
            self._columns[Model.__name__] = names
            self._defaults[Model.__name__] = defaults
        return (self._columns[Model.__name__],
            self._defaults[Model.__name__])

    def _insert(self, Model, records):
        if not records:
            return
        transaction = Transaction()
        names, defaults = self._stored_fields(Model)
        used = set()
        for record in records:
            used.update(n for n in record._values._keys())
        names = [n for n in names if n in used or n in defaults]
        formats = [Model._fields[n].sql_format for n in names]
        user, now = transaction.user, self._now()
        rows = []
        for record in records:
            values = record._values
            row = [record.id, user, now]
            for name, sql_format in zip(names, formats):
                value = values._get(name, _SKIP)
                if value is _SKIP:
                    value = defaults.get(name)
                row.append(sql_format(value))
            rows.append(row)
        self._copy(Model._table, ['id', 'create_uid', 'create_date'] + names,
            rows)
        transaction.create_records[Model.__name__].extend(
            r.id for r in records)

    def _now(self):
        "The transaction's time stamp, as CURRENT_TIMESTAMP gives it"
        if 'now' not in self._defaults:
            cursor = Transaction().connection.cursor()
            cursor.execute('SELECT CAST(CURRENT_TIMESTAMP AS TIMESTAMP)')
            self._defaults['now'], = cursor.fetchone()
        return self._defaults['now']

    @staticmethod
    def _copy(table, columns, rows):
        "COPY rows into table: the fastest way PostgreSQL takes rows"
        cursor = Transaction().connection.cursor()
        with cursor.copy('COPY "%s" (%s) FROM STDIN' % (
                    table, ', '.join('"%s"' % c for c in columns))) as copy:
            for row in rows:
                copy.write_row(row)

    def _insert_line_taxes(self, lines):
        pool = Pool()
        LineTax = pool.get('account.invoice.line-account.tax')
        transaction = Transaction()
        user, now = transaction.user, self._now()
        rows = [[line.id, int(tax), user, now]
            for line in lines for tax in (line.taxes or [])]
        if rows:
            self._copy(LineTax._table,
                ['line', 'tax', 'create_uid', 'create_date'], rows)

    def _set_payment_means(self, invoices):
        "Add payment means as Invoice._post does, when rules exist"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Rule = pool.get('account.invoice.payment.mean.rule')
        if Rule.search([], limit=1):
            Invoice.set_payment_means(
                Invoice.browse([i.id for i in invoices]))
