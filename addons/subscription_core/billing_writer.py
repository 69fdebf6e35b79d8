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
table gets one COPY per chunk, in foreign-key order.

Most invoices of a run are alike: same plan, price, taxes, terms and
dates, another customer. The host's methods build the first invoice of
each kind (_get_bill_key); the taxes, move, move lines and tax lines of
the others are copies of its rows with their own ids, party, description
and origins (_clone_rows). One step further, contracts with the same bill
signature (Contract._get_bill_signatures) are not even built: every row
of the first one's bills is copied for them (bill_copy.py).

The writer takes only invoices whose storage it reproduces exactly (the
differential test compares its rows with the ORM's): company currency,
positive total, no zero line, PostgreSQL. The others go through the
ORM (Contract._post_invoices)."""
import copy
from collections import defaultdict
from itertools import groupby

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Model as TrytonModel, fields
from trytond.modules.account_invoice.exceptions import InvoiceNumberError
from trytond.modules.party.party import Party as HostParty
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .bill_copy import BillCopier
from .exceptions import BillingError

_SKIP = {'id', 'create_uid', 'create_date', 'write_uid', 'write_date'}


class BillingWriter(BillCopier):
    "Store billing invoices (with their lines, taxes, move and charges)"

    def __init__(self, posted, today):
        self.posted = posted
        self.today = today
        self._defaults = {}
        self._columns = {}
        # bill key -> (template invoice, whether the writer takes it)
        self._templates = {}
        # id(invoice) -> its template: its taxes and move are copied
        # from the template's rows (see _clone_rows)
        self._clone_of = {}
        # id() of the invoices prepared that the writer stores
        self._fast = set()

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
        invoice.alternative_payees = []
        key = self._get_bill_key(invoice, lines)
        if key in self._templates:
            template, fast = self._templates[key]
            if fast:
                invoice.lines = lines
                self._prepare_clone(invoice, lines, template)
                self._fast.add(id(invoice))
            return fast
        invoice.lines = lines
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
        fast = (invoice.currency == invoice.company.currency
            and invoice.total_amount_cache > 0
            and all(l.amount for l in lines))
        self._templates[key] = (invoice, fast)
        if fast:
            self._fast.add(id(invoice))
        else:
            self._release(invoice)
        return fast

    @staticmethod
    def _release(invoice):
        """Leave an invoice the writer does not store as the billing hooks
        built it, for the ORM (Contract._store_bills): with its lines set
        on it, saving it would create them, and saving them would create
        them a second time."""
        invoice.lines = []
        invoice.taxes = []
        invoice.untaxed_amount_cache = None
        invoice.tax_amount_cache = None
        invoice.total_amount_cache = None

    def is_prepared(self, invoice):
        "Whether invoice was prepared and the writer stores it"
        return id(invoice) in self._fast

    def _depends_set(self, template_record):
        "Return the names of the (non x2many) fields template_record has"
        key = ('depends_set', id(template_record))
        if key not in self._defaults:
            fields_ = template_record._fields
            self._defaults[key] = [n for n in template_record._values._keys()
                if fields_[n]._type not in {'one2many', 'many2many'}]
        return self._defaults[key]

    def _get_bill_key(self, invoice, lines):
        """Return what the amounts, taxes and move of an unsaved invoice
        depend on, but for its party, description and origins.

        Invoices with the same key get the taxes and the move lines the
        host built for the first one (most invoices of a run have the
        same plan, price and dates): override to add what a module makes
        them depend on."""
        def values(record, names):
            # Unsaved records hold all they have in _values (no reads).
            get = record._values._get
            for name in names:
                value = get(name, None)
                yield value.id if isinstance(value, TrytonModel) else value
        return (tuple(values(invoice, self._bill_key_fields))
            + tuple(
                tuple(values(l, self._bill_key_line_fields))
                + (tuple(int(t) for t in l.taxes or []),)
                for l in lines))

    _bill_key_fields = ['company', 'currency', 'type', 'journal', 'account',
        'payment_term', 'payment_term_date', 'invoice_date',
        'accounting_date', 'party_lang']
    _bill_key_line_fields = ['type', 'product', 'account', 'unit',
        'quantity', 'unit_price', 'description', 'taxes_date']

    def _prepare_clone(self, invoice, lines, template):
        "Prepare invoice as a copy of template, an invoice of the same key"
        # The host's methods set the fields they depend on (to None or
        # their default) on the template: the copy gets them too.
        # (Never the template's x2many: setting them on the copy would
        # move the template's records to it.)
        invoice.taxes = []
        for record, template_record in zip(
                [invoice] + list(lines), [template] + list(template.lines)):
            values = record._values
            for name in self._depends_set(template_record):
                if values._get(name, _SKIP) is _SKIP:
                    setattr(record, name,
                        template_record._values._get(name, None))
        for line, template_line in zip(lines, template.lines):
            line.amount = template_line.amount
        invoice.untaxed_amount_cache = template.untaxed_amount_cache
        invoice.tax_amount_cache = template.tax_amount_cache
        invoice.total_amount_cache = template.total_amount_cache
        self._clone_of[id(invoice)] = template

    def write(self, bills, copies=()):
        """Store bills: a list of (invoice, lines, charges) prepared, and
        copies: a list of (invoice, values), an invoice of bills to store
        again for another contract of the same signature, with the values
        that differ (see Contract._get_bill_copies and _copy_bills).

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
        own = [i for i in invoices if id(i) not in self._clone_of]
        clones = [i for i in invoices if id(i) in self._clone_of]
        lines = [l for b in bills for l in b[1]]
        charges = [c for b in bills for c in b[2]]
        taxes = [t for i in own for t in i.taxes]
        for charge in charges:
            charge.invoice = charge.invoice_line.invoice
        moves, move_lines, tax_lines = [], [], []
        clone_moves = []
        if self.posted:
            self._set_numbers(invoices)
            templates = {}
            for invoice in own:
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
            for invoice in clones:
                invoice.state = 'posted'
                clone_moves.append(_CloneMove(
                        invoice, self._clone_of[id(invoice)].move))
            self._set_move_numbers(moves + clone_moves)
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
        for move, id_ in zip(
                clone_moves, self._next_ids(Move, len(clone_moves))):
            move.id = id_
            move.invoice.move = id_
        tables = {}
        for Model, records in order:
            tables[Model] = self._rows(Model, records)
        if clones:
            self._clone_rows(clones, clone_moves, tables)
        invoice_ids = [i.id for i in invoices]
        line_taxes = []
        if copies:
            invoice_ids += self._copy_bills(copies, tables, line_taxes)
        for Model, _ in order:
            columns, rows = tables[Model]
            self._copy(Model._table, columns, rows.values())
            Transaction().create_records[Model.__name__].extend(rows)
        self._insert_line_taxes(lines, line_taxes)
        if invoice_ids and self.posted:
            self._set_payment_means(invoice_ids)
        return Invoice.browse(invoice_ids)

    def _clone_rows(self, clones, clone_moves, tables):
        """Add to tables the invoice taxes, moves, move lines and tax
        lines of the clones, copied from their template's rows: the
        host's methods give the same rows but for the ids, the party,
        the description and the origins."""
        pool = Pool()
        InvoiceTax = pool.get('account.invoice.tax')
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        TaxLine = pool.get('account.tax.line')
        moves = {id(m.invoice): m for m in clone_moves}

        def copier(Model):
            columns, rows = tables[Model]
            index = {c: i for i, c in enumerate(columns)}
            return rows, index
        tax_rows, tax_index = copier(InvoiceTax)
        move_rows, move_index = copier(Move)
        line_rows, line_index = copier(MoveLine)
        tline_rows, tline_index = copier(TaxLine)
        # Columns no template line used are not stored at all.
        party = line_index.get('party')
        description = line_index.get('description')
        origin = line_index.get('origin')

        # One reservation per table for all the clones.
        templates = [self._clone_of[id(i)] for i in clones]
        tax_ids = iter(self._next_ids(
                InvoiceTax, sum(len(t.taxes) for t in templates)))
        if self.posted:
            template_moves = [moves[id(i)].template for i in clones]
            line_ids = iter(self._next_ids(
                    MoveLine, sum(len(m.lines) for m in template_moves)))
            tline_ids = iter(self._next_ids(TaxLine, sum(
                        len(l._values._get('tax_lines', None) or [])
                        for m in template_moves for l in m.lines)))
        for invoice in clones:
            template = self._clone_of[id(invoice)]
            origins = {'account.invoice,%s' % template.id:
                'account.invoice,%s' % invoice.id}
            for old, new in zip(template.lines, invoice.lines):
                origins['account.invoice.line,%s' % old.id] = (
                    'account.invoice.line,%s' % new.id)
            for tax, new_id in zip(template.taxes, tax_ids):
                row = list(tax_rows[tax.id])
                row[0] = new_id
                row[tax_index['invoice']] = invoice.id
                tax_rows[new_id] = row
                origins['account.invoice.tax,%s' % tax.id] = (
                    'account.invoice.tax,%s' % new_id)
            if not self.posted:
                continue
            move = moves[id(invoice)]
            row = list(move_rows[move.template.id])
            row[0] = move.id
            row[move_index['number']] = move.number
            row[move_index['origin']] = origins[row[move_index['origin']]]
            move_rows[move.id] = row
            template_lines = move.template.lines
            for line, new_id in zip(template_lines, line_ids):
                row = list(line_rows[line.id])
                row[0] = new_id
                row[line_index['move']] = move.id
                if party is not None and row[party] is not None:
                    row[party] = invoice.party.id
                if (description is not None
                        and row[description] == template.description):
                    row[description] = invoice.description
                if origin is not None and row[origin] is not None:
                    row[origin] = origins.get(row[origin], row[origin])
                line_rows[new_id] = row
                # Not getattr: the line has its id, it would read it.
                tax_lines = line._values._get('tax_lines', None) or []
                for tax_line, tax_id in zip(tax_lines, tline_ids):
                    row = list(tline_rows[tax_line.id])
                    row[0] = tax_id
                    row[tline_index['move_line']] = new_id
                    tline_rows[tax_id] = row

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
        party_identifiers = self._party_tax_identifiers(
            [i.party.id for i in invoices])
        for invoice in sorted(invoices, key=lambda i: i.invoice_date):
            if 'sales' in Invoice._fields:
                # Billing invoices come from contracts, not sales.
                invoice.sales = []
            invoice.tax_identifier = self._tax_identifier(invoice)
            invoice.party_tax_identifier = party_identifiers[
                invoice.party.id]
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

    def _party_tax_identifiers(self, party_ids):
        """Return {party id: its tax identifier id} as set_number stores
        it: Party.get_tax_identifier, read for all the parties at once
        when it is the host's (the first identifier of a tax type, in the
        order of Party.identifiers)."""
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        party_ids = list(set(party_ids))
        if (Party.get_tax_identifier is not HostParty.get_tax_identifier
                or Party._get_identifier is not HostParty._get_identifier):
            return {p.id: p.tax_identifier.id if p.tax_identifier else None
                for p in Party.browse(party_ids)}
        found = dict.fromkeys(party_ids)
        for sub_ids in grouped_slice(party_ids, 1000):
            for row in Identifier.search_read([
                        ('party', 'in', list(sub_ids)),
                        ('type', 'in', Party.tax_identifier_types()),
                        ], fields_names=['party']):
                if found[row['party']] is None:
                    found[row['party']] = row['id']
        return found

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
        for record, id_ in zip(records, self._next_ids(Model, len(records))):
            record._id = id_

    def _next_ids(self, Model, count):
        "Reserve count ids of Model's table"
        if not count:
            return []
        cursor = Transaction().connection.cursor()
        # Database.nextid looks the sequence up for each id (a tenth of
        # the time of storing a row).
        key = ('id_sequence', Model._table)
        if key not in self._defaults:
            cursor.execute(
                "SELECT pg_get_serial_sequence(format(%s, %s::text), 'id')",
                ('%I', Model._table))
            self._defaults[key], = cursor.fetchone()
        cursor.execute(
            'SELECT nextval(%s::regclass) FROM generate_series(1, %s)',
            (self._defaults[key], count))
        return [i for i, in cursor]

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

    def _rows(self, Model, records):
        """Return the columns and the rows of records to store in
        Model's table: {id: [id, create_uid, create_date, ...]}."""
        names, defaults = self._stored_fields(Model)
        if not records:
            return ['id', 'create_uid', 'create_date'] + names, {}
        used = set()
        for record in records:
            used.update(n for n in record._values._keys())
        names = [n for n in names if n in used or n in defaults]
        formats = [Model._fields[n].sql_format for n in names]
        user, now = Transaction().user, self._now()
        rows = {}
        for record in records:
            values = record._values
            row = [record.id, user, now]
            for name, sql_format in zip(names, formats):
                value = values._get(name, _SKIP)
                if value is _SKIP:
                    value = defaults.get(name)
                row.append(sql_format(value))
            rows[record.id] = row
        return ['id', 'create_uid', 'create_date'] + names, rows

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
        if not rows:
            return
        cursor = Transaction().connection.cursor()
        with cursor.copy('COPY "%s" (%s) FROM STDIN' % (
                    table, ', '.join('"%s"' % c for c in columns))) as copy:
            for row in rows:
                copy.write_row(row)

    def _insert_line_taxes(self, lines, copied=()):
        "Store the taxes of lines and copied: [(line id, tax id)]"
        pool = Pool()
        LineTax = pool.get('account.invoice.line-account.tax')
        transaction = Transaction()
        user, now = transaction.user, self._now()
        rows = [[line.id, int(tax), user, now]
            for line in lines for tax in (line.taxes or [])]
        rows += [[line, tax, user, now] for line, tax in copied]
        if rows:
            self._copy(LineTax._table,
                ['line', 'tax', 'create_uid', 'create_date'], rows)

    def _set_payment_means(self, invoice_ids):
        "Add payment means as Invoice._post does, when rules exist"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Rule = pool.get('account.invoice.payment.mean.rule')
        if Rule.search([], limit=1):
            Invoice.set_payment_means(Invoice.browse(invoice_ids))


class _CloneMove:
    "The move of a cloned invoice: what numbering needs"
    __slots__ = ('invoice', 'template', 'period', 'company', 'number', 'id')

    def __init__(self, invoice, template):
        self.invoice = invoice
        self.template = template
        self.period = template.period
        self.company = template.company
        self.number = None
        self.id = None
