# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
from collections import defaultdict
from decimal import Decimal

from sql.operators import In

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .cnab_occurrences import occurrence as occurrence_row
from .payment import nosso_numero_key
from .reconcile_writer import ReconcileWriter

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


def _amount(record, key):
    "Decimal amount of a retorno field, also where a layout keeps it raw"
    if key not in record:
        return ZERO
    if record.kinds.get(key) == 'amount':
        return record.decimal(key) or ZERO
    raw = record[key].strip()
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
        """Titles of journal by retorno nosso número key.

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
        for sub in grouped_slice(sorted(candidates), 1000):
            cursor.execute(*table.select(table.id, table.boleto_nosso_numero,
                    table.boleto_nosso_numero_dv,
                    where=(table.journal == journal.id)
                    & In(table.boleto_nosso_numero, list(sub))))
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
                found[key] = Payment(payment[0])
        return found

    @classmethod
    def _existing_keys(cls, journal, keys):
        "Idempotency keys already recorded for these nosso números"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        existing = set()
        for sub in grouped_slice(sorted(keys), 1000):
            cursor.execute(*table.select(
                    table.nosso_numero, table.code, table.date,
                    where=(table.journal == journal.id)
                    & In(table.nosso_numero, list(sub))))
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
        titles = cls._find_titles(journal, keys)
        existing = cls._existing_keys(journal, keys)
        to_create, settles, skipped = [], [], 0
        for values, settle in rows:
            key = (values['nosso_numero'], values['code'], values['date'])
            if key in existing:
                skipped += 1
                continue
            existing.add(key)
            payment = titles.get(values['nosso_numero'])
            values = dict(values, file=file.id,
                payment=payment.id if payment else None)
            to_create.append(values)
            settles.append(settle)
        if ReconcileWriter.available():
            ReconcileWriter.check_periods(journal, [
                    v['credit_date'] or v['date']
                    for v, settle in zip(to_create, settles)
                    if settle and v['payment']])
        occurrences = cls._create_occurrences(to_create)
        unmatched = [o for o, v in zip(occurrences, to_create)
            if not v['payment']]
        # One instance per title, so that what one occurrence changes the
        # next one sees; applied in the order the bank reports them. The
        # values are those just created: reading them back would cost a
        # read per occurrence on a 100,000-title retorno.
        payments = {p.id: p for p in Payment.browse(
                {v['payment'] for v in to_create if v['payment']})}
        by_kind = defaultdict(list)
        for occurrence, values, settle in sorted(
                zip(occurrences, to_create, settles),
                key=lambda x: (x[1]['date'], x[1]['line_number'] or 0)):
            if values['payment']:
                occurrence.payment = payments[values['payment']]
                kind = 'liquidation' if settle else (values['kind'] or '')
                by_kind[kind].append(occurrence)
        liquidations = by_kind.pop('liquidation', [])
        touched = set()
        for kind, group in by_kind.items():
            method = getattr(cls, '_apply_%s' % kind, None)
            if method:
                method(group)
                touched.update(o.payment for o in group)
        Payment.save(list(touched))
        # Last: a liquidation ends the title whatever came before
        if liquidations:
            cls._apply_liquidation(liquidations, journal=journal)
        return occurrences, skipped, unmatched

    @classmethod
    def _create_occurrences(cls, vlist):
        "Create the occurrences of vlist, set-based where the writer runs"
        if ReconcileWriter.available() and vlist:
            return cls.browse(ReconcileWriter.insert(cls, vlist))
        return cls.create(vlist)

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
    def _apply_liquidation(cls, occurrences, journal=None):
        """Post the liquidation moves, reconcile them with the titles'
        lines, mark the titles paid and process their invoices.

        occurrences are in the order the bank reports them; a title's
        first liquidation applies, the others stay recorded for the
        operator. On PostgreSQL the set-based writer stores those it
        reproduces exactly (reconcile_writer.py, a measured hot path);
        the others, and all of them with the context key
        br_boleto_reconcile_orm, go through the ORM."""
        pool = Pool()
        Date = pool.get('ir.date')
        first, seen = [], set()
        for occurrence in occurrences:
            if occurrence.payment.id not in seen:
                seen.add(occurrence.payment.id)
                first.append(occurrence)
        others = first
        if ReconcileWriter.available() and first:
            if journal is None:
                journal = first[0].journal
            with Transaction().set_context(company=journal.company.id):
                today = Date.today()
            writer = ReconcileWriter(journal, today)
            titles, others = writer.split(first)
            written, not_written = writer.write(titles)
            for row in written:
                row['occurrence'].move = row['move']
            if not_written:
                order = {o.id: i for i, o in enumerate(first)}
                others = sorted(others + not_written,
                    key=lambda o: order[o.id])
        if others:
            cls._apply_liquidation_orm(others)

    @classmethod
    def _apply_liquidation_orm(cls, occurrences):
        "_apply_liquidation through the ORM, one title at a time"
        pool = Pool()
        Move = pool.get('account.move')
        Line = pool.get('account.move.line')
        Payment = pool.get('account.payment')
        Invoice = pool.get('account.invoice')
        moves, applied = [], []
        for occurrence in occurrences:
            payment = occurrence.payment
            if payment.state not in {'processing', 'failed'}:
                # Already succeeded by another occurrence or never sent:
                # the occurrence stays recorded for the operator.
                continue
            moves.append(occurrence._get_liquidation_move())
            applied.append(occurrence)
        if not applied:
            return
        Move.save(moves)
        Move.post(moves)
        to_reconcile, invoices, partial = [], set(), []
        for occurrence, move in zip(applied, moves):
            occurrence.move = move
            payment = occurrence.payment
            line = payment.line
            credit, = [l for l in move.lines
                if l.account == line.account and l.party == line.party]
            paid = credit.credit - credit.debit
            due = line.debit - line.credit
            if not line.reconciliation and paid == due:
                to_reconcile.append([line, credit])
                if isinstance(line.move_origin, Invoice):
                    invoices.add(line.move_origin)
            elif not line.reconciliation and 0 < paid < due:
                # Paid less than the title: the title counts for what the
                # bank paid (the host subtracts it from the invoice's
                # amount to pay), the invoice stays open for the rest.
                partial.extend(([payment], {'amount': paid}))
        cls.save(applied)
        if partial:
            Payment.write(*partial)
        paid = [o.payment for o in applied]
        Payment.succeed(paid)
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
