# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
from collections import defaultdict
from decimal import Decimal

from sql.operators import Any, In

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .cnab_occurrences import occurrence as occurrence_row
from .payment import nosso_numero_key
from .reconcile_writer import ReconcileWriter
from .retorno_lock import RetornoLock

ZERO = Decimal('0.00')
# Retorno amounts read into occurrence fields. FEBRABAN 240 (segment U)
# and the CNAB 400 banks report the late interest as juros de mora and
# put a separate late fee, when they separate it, in "outros créditos".
AMOUNT_FIELDS = [
    ('amount', 'valor_titulo'),
    ('amount_paid', 'valor_pago'),
    ('interest', 'juros_mora'),
    ('fine', 'outros_creditos'),
    ('fee', 'valor_tarifa'),
    ('discount', 'desconto'),
    ('abatement', 'abatimento'),
    ]


def _in(column, values):
    """column in values, per 1000 values; on PostgreSQL as one array:
    formatting 100,000 parameters into queries took 2 s."""
    values = sorted(values)
    if backend.name == 'postgresql':
        if values:
            yield column == Any(values)
        return
    for sub in grouped_slice(values, 1000):
        yield In(column, list(sub))


def _amount(record, key):
    "Decimal amount of a retorno field, also where a layout keeps it raw"
    if key not in record:
        return ZERO
    raw = record[key].strip()
    if record.kinds.get(key) == 'amount':
        # record.decimal(key) without its three calls: 700,000 of them
        # for a 100,000-title retorno
        return Decimal(int(raw)).scaleb(-2) if raw else ZERO
    return (Decimal(int(raw)).scaleb(-2) if raw.isdigit() else ZERO)


class Occurrence(ModelSQL, ModelView):
    "Boleto Occurrence"
    __name__ = 'account.payment.boleto.occurrence'
    journal = fields.Many2One('account.payment.journal', "Journal",
        required=True, readonly=True, ondelete='RESTRICT')
    payment = fields.Many2One('account.payment', "Title", readonly=True,
        ondelete='RESTRICT')
    file = fields.Many2One('account.payment.boleto.file', "Retorno",
        required=True, readonly=True, ondelete='RESTRICT')
    line_number = fields.Integer("Line", readonly=True)
    nosso_numero = fields.Char("Nosso Número", required=True, readonly=True)
    code = fields.Char("Code", required=True, readonly=True)
    description = fields.Char("Description", readonly=True)
    kind = fields.Char("Kind", readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    credit_date = fields.Date("Credit Date", readonly=True)
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    amount = Monetary("Title Amount", currency='currency',
        digits='currency', readonly=True)
    amount_paid = Monetary("Paid Amount", currency='currency',
        digits='currency', readonly=True)
    interest = Monetary("Interest", currency='currency', digits='currency',
        readonly=True)
    fine = Monetary("Fine", currency='currency', digits='currency',
        readonly=True)
    fee = Monetary("Bank Fee", currency='currency', digits='currency',
        readonly=True)
    discount = Monetary("Discount", currency='currency', digits='currency',
        readonly=True)
    abatement = Monetary("Abatement", currency='currency',
        digits='currency', readonly=True)
    move = fields.Many2One('account.move', "Move", readonly=True,
        ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))
        cls._order.insert(1, ('id', 'DESC'))
        t = cls.__table__()
        # The idempotency key: one title's occurrence of one code on one
        # date is recorded once, whichever file (or overlap) brings it.
        cls._sql_constraints += [
            ('occurrence_unique',
                Unique(t, t.journal, t.nosso_numero, t.code, t.date),
                'br_boleto_cnab.msg_occurrence_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.payment, Index.Range())))

    def get_currency(self, name):
        return self.journal.currency.id

    @classmethod
    def rows_from_retorno(cls, journal, result, default_date):
        """Occurrence values of every title record of a parsed retorno.

        Return (rows, errors); errors lists (line, message) of records that
        cannot be recorded (no nosso número, no occurrence code)."""
        rows, errors = [], []
        for record in result.titles:
            line = record.line
            nosso_numero = nosso_numero_key(record.text('nosso_numero'))
            code = record.text('codigo_ocorrencia') or ''
            if not nosso_numero:
                errors.append((line, gettext(
                            'br_boleto_cnab.msg_retorno_no_nosso_numero')))
                continue
            if not code:
                errors.append((line, gettext(
                            'br_boleto_cnab.msg_retorno_no_code')))
                continue
            row = occurrence_row(result.bank_code, result.layout, code)
            values = {
                'journal': journal.id,
                'line_number': line,
                'nosso_numero': nosso_numero,
                'code': code,
                'description': row.description if row else None,
                'kind': row.kind if row else None,
                'date': (record.date('data_ocorrencia')
                    or result.file_date or default_date),
                'credit_date': record.date('data_credito'),
                }
            for name, key in AMOUNT_FIELDS:
                values[name] = _amount(record, key)
            rows.append((values, bool(row and row.settles)))
        return rows, errors

    @classmethod
    def _find_titles(cls, journal, keys):
        """Title ids of journal by retorno nosso número key.

        Banks echo the number with or without its check digit (per bank
        and layout), so a key matches the number first, else the number
        followed by its digit."""
        pool = Pool()
        Payment = pool.get('account.payment')
        candidates = set(keys) | {k[:-1].lstrip('0') for k in keys
            if len(k) > 1}
        # Only the numbers: reading whole titles through the ORM costs
        # ~2 ms each on a 100,000-title retorno.
        table = Payment.__table__()
        cursor = Transaction().connection.cursor()
        by_number = {}
        for where in _in(table.boleto_nosso_numero, candidates):
            cursor.execute(*table.select(table.id, table.boleto_nosso_numero,
                    table.boleto_nosso_numero_dv,
                    where=(table.journal == journal.id) & where))
            for id_, number, dv in cursor:
                by_number[number] = (id_, dv)
        found = {}
        for key in keys:
            payment = by_number.get(key)
            if payment is None and len(key) > 1:
                payment = by_number.get(key[:-1].lstrip('0'))
                if payment is not None and payment[1] != key[-1]:
                    payment = None
            if payment is not None:
                found[key] = payment[0]
        return found

    @classmethod
    def _existing_keys(cls, journal, keys):
        "Idempotency keys already recorded for these nosso números"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        existing = set()
        for where in _in(table.nosso_numero, keys):
            cursor.execute(*table.select(
                    table.nosso_numero, table.code, table.date,
                    where=(table.journal == journal.id) & where))
            for nosso_numero, code, date in cursor:
                if isinstance(date, str):
                    # SQLite returns dates as text
                    date = datetime.date.fromisoformat(date)
                existing.add((nosso_numero, code, date))
        return existing

    @classmethod
    def record(cls, journal, file, rows):
        """Record the new occurrences of rows and apply them to titles.

        Rows already recorded (same title, code and date, by any file)
        are skipped. Return (occurrences, skipped, unmatched)."""
        pool = Pool()
        Payment = pool.get('account.payment')
        keys = {values['nosso_numero'] for values, _ in rows}
        cls.lock_retorno(journal, rows, file.name)
        titles = cls._find_titles(journal, keys)
        existing = cls._existing_keys(journal, keys)
        to_create, settles, skipped = [], [], 0
        for values, settle in rows:
            key = (values['nosso_numero'], values['code'], values['date'])
            if key in existing:
                skipped += 1
                continue
            existing.add(key)
            values = dict(values, file=file.id,
                payment=titles.get(values['nosso_numero']))
            to_create.append(values)
            settles.append(settle)
        # The writer stores a liquidation's occurrence with its move
        occurrences, pending = cls._create_occurrences(to_create, [
                i for i, (v, settle) in enumerate(zip(to_create, settles))
                if settle and v['payment']])
        unmatched = [o for o, v in zip(occurrences, to_create)
            if not v['payment']]
        # Applied in the order the bank reports them, liquidations by
        # title id (setting titles on 100,000 instances takes seconds),
        # the others with one instance per title, so that what one
        # occurrence changes the next one sees. The values are those just
        # created: reading them back would cost a read per occurrence.
        by_kind, title_of = defaultdict(list), {}
        for occurrence, values, settle in sorted(
                zip(occurrences, to_create, settles),
                key=lambda x: (x[1]['date'], x[1]['line_number'] or 0)):
            if values['payment']:
                kind = 'liquidation' if settle else (values['kind'] or '')
                by_kind[kind].append(occurrence)
                title_of[occurrence.id] = values['payment']
        liquidations = by_kind.pop('liquidation', [])
        payments = {p.id: p for p in Payment.browse(
                {title_of[o.id] for g in by_kind.values() for o in g})}
        for group in by_kind.values():
            for occurrence in group:
                occurrence.payment = payments[title_of[occurrence.id]]
        touched = set()
        for kind, group in by_kind.items():
            method = getattr(cls, '_apply_%s' % kind, None)
            if method:
                method(group)
                touched.update(o.payment for o in group)
        Payment.save(list(touched))
        # Last: a liquidation ends the title whatever came before
        if liquidations:
            cls._apply_liquidation(liquidations, journal=journal,
                titles=title_of, pending=pending)
        return occurrences, skipped, unmatched

    @classmethod
    def lock_retorno(cls, journal, rows, name):
        """Take the locks of the import of rows (from rows_from_retorno)
        before it changes anything (retorno_lock.py): another import of
        the journal's titles is waited for, then what it recorded is
        skipped."""
        RetornoLock(journal, cls._get_retorno_wait(journal)).take(
            [v['credit_date'] or v['date'] for v, settle in rows if settle],
            name)

    @classmethod
    def _get_retorno_wait(cls, journal):
        """Seconds an import waits for another import of journal's
        titles before it fails (a 100,000-title retorno takes a minute)"""
        return Transaction().context.get('br_boleto_retorno_wait', 120)

    @classmethod
    def _create_occurrences(cls, vlist, defer=()):
        """Create the occurrences of vlist, set-based where the writer
        runs; there those at the indexes defer only get their ids, to be
        stored by _apply_liquidation. Return (occurrences, values not
        stored yet by id)."""
        if ReconcileWriter.available() and vlist:
            ids = ReconcileWriter.nextids(cls, len(vlist))
            defer = set(defer)
            now = [i for i in range(len(vlist)) if i not in defer]
            if now:
                ReconcileWriter.insert(cls, [vlist[i] for i in now],
                    ids=[ids[i] for i in now])
            return cls.browse(ids), {ids[i]: vlist[i] for i in defer}
        return cls.create(vlist), {}

    @classmethod
    def _store_pending(cls, occurrences, pending):
        "Store the occurrences whose values are still in pending"
        ids = [o.id for o in occurrences if o.id in pending]
        if ids:
            ReconcileWriter.insert(cls, [pending.pop(i) for i in ids],
                ids=ids)

    @classmethod
    def _apply_registered(cls, occurrences):
        for occurrence in occurrences:
            if occurrence.payment.boleto_state in {'sent', 'to_register',
                    'rejected'}:
                occurrence.payment.boleto_state = 'registered'

    @classmethod
    def _apply_rejected(cls, occurrences):
        for occurrence in occurrences:
            if occurrence.payment.boleto_state in {'sent', 'to_register'}:
                occurrence.payment.boleto_state = 'rejected'

    @classmethod
    def _apply_written_off(cls, occurrences):
        pool = Pool()
        Payment = pool.get('account.payment')
        to_fail = []
        for occurrence in occurrences:
            payment = occurrence.payment
            if payment.boleto_state != 'paid':
                payment.boleto_state = 'written_off'
                if payment.state in {'processing', 'succeeded'}:
                    to_fail.append(payment)
        Payment.save(to_fail)
        Payment.fail(to_fail)

    @classmethod
    def _apply_liquidation(cls, occurrences, journal=None, titles=None,
            pending=None):
        """Post the liquidation moves, reconcile them with the titles'
        lines, mark the titles paid and process their invoices.

        occurrences are in the order the bank reports them; a title's
        first liquidation settles it, and a later one in the same file
        (another code or date: the title was paid again) goes through
        _apply_liquidation_orm afterwards, which keeps its money as the
        customer's credit. On PostgreSQL the set-based writer stores those it
        reproduces exactly (reconcile_writer.py, a measured hot path);
        the others, and all of them with the context key
        br_boleto_reconcile_orm, go through the ORM. titles maps
        occurrence ids to their title ids when known (else read); pending
        the values of occurrences not stored yet (_create_occurrences).
        The writer stores its moves below the ORM: read an occurrence's
        move from the database (the instances do not have it)."""
        pool = Pool()
        Date = pool.get('ir.date')
        if pending is None:
            pending = {}
        if titles is None:
            titles = {o.id: (pending[o.id]['payment'] if o.id in pending
                    else o.payment.id) for o in occurrences}
        first, seen = [], set()
        for occurrence in occurrences:
            if titles[occurrence.id] not in seen:
                seen.add(titles[occurrence.id])
                first.append(occurrence)
        # A title's later liquidations are applied after the first ones
        first_ids = {o.id for o in first}
        cls._store_pending(
            [o for o in occurrences if o.id not in first_ids], pending)
        others = first
        if ReconcileWriter.available() and first:
            if journal is None:
                journal = first[0].journal
            with Transaction().set_context(company=journal.company.id):
                today = Date.today()
            writer = ReconcileWriter(journal, today)
            rows, others = writer.split(first, pending)
            written, not_written = writer.write(rows)
            for row in written:
                pending.pop(row['id'], None)
            if not_written:
                order = {o.id: i for i, o in enumerate(first)}
                others = sorted(others + not_written,
                    key=lambda o: order[o.id])
        if others:
            cls._store_pending(others, pending)
            cls._apply_liquidation_orm(others)
        later = [o for o in occurrences if o.id not in first_ids]
        if later:
            cls._apply_liquidation_orm(later)
        cls._store_pending(occurrences, pending)

    @classmethod
    def _apply_liquidation_orm(cls, occurrences):
        """_apply_liquidation through the ORM, one title at a time.

        What the open lines still owe decides (liquidation.py): paid
        less, the title counts for what was paid and the invoice stays
        open for a remainder title; paid more, late charges the bank did
        not itemise go to the journal's fine and interest accounts and
        the rest stays on the receivable as the customer's credit, as
        does all of a title whose line was already paid."""
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Payment = pool.get('account.payment')
        Invoice = pool.get('account.invoice')
        moves, applied, opens = [], [], []
        for occurrence in occurrences:
            payment = occurrence.payment
            if (payment.state not in {'processing', 'failed', 'succeeded'}
                    or (payment.state == 'succeeded'
                        and not occurrence.amount_paid)):
                # Never sent, or a succeeded title reported again without
                # money: the occurrence stays recorded for the operator.
                continue
            open_lines = occurrence._get_liquidation_open_lines()
            due = sum((l.debit - l.credit for l in open_lines), ZERO)
            settled = occurrence._allocate_liquidation(due)
            move = occurrence._get_liquidation_move()
            if occurrence.overpaid and settled > occurrence.overpaid:
                # One credit settles the title, another is the credit
                line = payment.line
                title_credit, = [l for l in move.lines
                    if l.account == line.account and l.party == line.party]
                title_credit.credit -= occurrence.overpaid
                move.lines += (Line(account=title_credit.account,
                        party=title_credit.party, debit=ZERO,
                        credit=occurrence.overpaid,
                        description=occurrence.get_balance_note(
                            'balance_note')),)
            moves.append(move)
            applied.append(occurrence)
            opens.append((open_lines, min(settled, due)))
        if not applied:
            return
        Move.save(moves)
        Move.post(moves)
        to_reconcile, invoices, amounts = [], set(), []
        for occurrence, move, (open_lines, to_title) in zip(
                applied, moves, opens):
            occurrence.move = move
            payment = occurrence.payment
            line = payment.line
            credit = [l for l in move.lines
                if l.account == line.account and l.party == line.party
                and l.credit - l.debit == to_title]
            if open_lines and to_title == sum(
                    (l.debit - l.credit for l in open_lines), ZERO):
                to_reconcile.append(open_lines + credit[:1])
                if isinstance(line.move_origin, Invoice):
                    invoices.add(line.move_origin)
            if occurrence.remainder or payment.state == 'succeeded':
                # The title counts for what the bank paid of it (the host
                # subtracts it from the invoice's amount to pay); the
                # invoice stays open for the remainder.
                amount = to_title + (payment.amount
                    if payment.state == 'succeeded' else ZERO)
                if to_title and amount != payment.amount:
                    amounts.extend(([payment], {'amount': amount}))
        cls.save(applied)
        if amounts:
            Payment.write(*amounts)
        paid = [o.payment for o in applied]
        Payment.succeed([p for p in paid if p.state != 'succeeded'])
        Payment.write(paid, {
                'boleto_state': 'paid',
                'boleto_instruction': None,
                })
        if to_reconcile:
            Line.reconcile(*to_reconcile)
        if invoices:
            Invoice.process(list(invoices))

    @classmethod
    def _get_liquidation_description(cls, nosso_numero):
        "The description of the liquidation move of a title"
        return gettext('br_boleto_cnab.msg_liquidation_move',
            nosso_numero=nosso_numero)

    def _get_liquidation_move(self):
        "The move of a liquidation: bank, fees, discounts and charges"
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Period = pool.get('account.period')
        journal = self.journal
        payment = self.payment
        company = journal.company
        date = self.credit_date or self.date
        interest, fine = self.interest or ZERO, self.fine or ZERO
        fee = self.fee or ZERO
        discount, abatement = self.discount or ZERO, self.abatement or ZERO
        paid = self.amount_paid or ZERO
        settled = paid + discount + abatement - interest - fine
        lines = [Line(account=payment.line.account, party=payment.party,
                debit=max(-settled, ZERO), credit=max(settled, ZERO))]
        for account, debit, credit in [
                (journal.boleto_bank_account, paid - fee, ZERO),
                (journal.boleto_fee_account, fee, ZERO),
                (journal.boleto_discount_account, discount, ZERO),
                (journal.boleto_abatement_account, abatement, ZERO),
                (journal.boleto_interest_account, ZERO, interest),
                (journal.boleto_fine_account, ZERO, fine),
                ]:
            if debit or credit:
                lines.append(Line(account=account,
                        debit=max(debit, ZERO) + max(-credit, ZERO),
                        credit=max(credit, ZERO) + max(-debit, ZERO),
                        party=(payment.party if account.party_required
                            else None)))
        return Move(company=company, journal=journal.boleto_account_journal,
            period=Period.find(company, date=date), date=date,
            origin=payment,
            description=self._get_liquidation_description(
                payment.boleto_nosso_numero_printed
                or payment.boleto_nosso_numero),
            lines=lines)
