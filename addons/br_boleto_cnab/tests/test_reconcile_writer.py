# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The retorno reconcile's set-based writer stores exactly the rows the
host's ORM stores (differential test, on PostgreSQL where it runs).

Two identical sets of contracts are billed, their invoices get boleto
titles (one journal per set, so both sets have the same nosso números)
and the same retorno is imported for each: once through the ORM
(context br_boleto_reconcile_orm) and once with the writer. Every row
(liquidation moves and lines, reconciliations, titles, occurrences,
transition logs, invoice state and amounts, contract paid-until) must
be equal but for ids, numbers and time stamps. The cases cover what the
writer stores (exact payment with interest, fine and fee; with
discount; two titles with the same amounts) and what it leaves to the
ORM (partial payment, overpayment)."""
import datetime
import unittest
from decimal import Decimal

from trytond import backend
from trytond.modules.br_boleto_cnab import reconcile_writer
from trytond.modules.br_boleto_cnab.cnab_retorno import build_retorno_400
from trytond.modules.br_boleto_cnab.tests.tools import create_itau_journal
from trytond.modules.company.tests import set_company
from trytond.modules.subscription_core.tests.tools import (
    create_billing_setup, create_contracts)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, activate_module
from trytond.transaction import Transaction, TransactionError

DATE = datetime.date(2026, 3, 10)
PAID = datetime.date(2026, 3, 16)
CREDIT = datetime.date(2026, 3, 17)
# Per title: (paid, interest, fine, fee, discount) as offsets of the
# title amount for paid, and whether the writer stores it.
CASES = [
    # Paid late: interest, fine and the bank fee
    (Decimal('2.20'), Decimal('0.20'), Decimal('2.00'), Decimal('1.50'),
        Decimal(0), True),
    # Paid early with a discount
    (Decimal('-1.00'), Decimal(0), Decimal(0), Decimal('1.50'),
        Decimal('1.00'), True),
    # Partial payment: the invoice stays open with the rest
    (Decimal('-30.00'), Decimal(0), Decimal(0), Decimal('1.50'),
        Decimal(0), False),
    # Overpaid: the excess stays on the receivable as a credit (ORM)
    (Decimal('5.00'), Decimal(0), Decimal(0), Decimal(0), Decimal(0),
        False),
    # The same amounts as the first: the writer copies its move
    (Decimal('2.20'), Decimal('0.20'), Decimal('2.00'), Decimal('1.50'),
        Decimal(0), True),
    ]
STAMPS = {'id', 'create_uid', 'create_date', 'write_uid', 'write_date'}
# Columns that differ between the two sets by construction: their own
# records (journal, title line, group, file), sequence numbers.
IGNORED = {
    'account_move': {'number', 'origin'},
    'account_move_line': {'move', 'reconciliation'},
    'account_move_reconciliation': {'number'},
    'account_payment': {'journal', 'line', 'group', 'number', 'party'},
    'account_payment_boleto_occurrence': {
        'journal', 'file', 'payment', 'move'},
    'account_invoice': {
        'number', 'number_alnum', 'number_digit', 'move', 'party',
        'invoice_address', 'boleto_journal',
        # The contract's number and period
        'description'},
    }


def committed(func, *args, **context):
    "Run func in a committed transaction, with the host's lock protocol"
    extras = {}
    while True:
        try:
            with Transaction().start(DB_NAME, 0, context=context,
                    **extras) as transaction:
                result = func(*args)
                transaction.commit()
                return result
        except TransactionError as exception:
            exception.fix(extras)


def setup_company():
    company, plan = create_billing_setup(DATE)
    return company.id, plan.id


def create_titles(company_id, plan_id, name):
    """Create a boleto journal and len(CASES) contracts collected by it;
    return their ids."""
    pool = Pool()
    Company = pool.get('company.company')
    Plan = pool.get('sale.subscription.plan')
    company = Company(company_id)
    with set_company(company):
        journal = create_itau_journal(company, name)
        contracts = create_contracts(
            company, Plan(plan_id), len(CASES), DATE)
        for contract in contracts:
            contract.party.boleto_journal = journal
            contract.party.save()
    return journal.id, [c.id for c in contracts]


def bill_titles(company_id, created):
    "Bill the contracts (the run commits per chunk)"
    pool = Pool()
    Company = pool.get('company.company')
    Contract = pool.get('sale.subscription')
    company = Company(company_id)
    with set_company(company):
        result = Contract.billing_run(DATE)
        assert not result['errors'], result['errors']
    return created


def send_titles(company_id, created):
    "Register the boletos of the contracts' invoices and send them"
    pool = Pool()
    Company = pool.get('company.company')
    Contract = pool.get('sale.subscription')
    Invoice = pool.get('account.invoice')
    Payment = pool.get('account.payment')
    Group = pool.get('account.payment.group')
    PaymentJournal = pool.get('account.payment.journal')
    company = Company(company_id)
    journal_id, contract_ids = created
    journal = PaymentJournal(journal_id)
    with set_company(company):
        invoices = Invoice.search([
                ('party', 'in', [c.party.id
                        for c in Contract.browse(contract_ids)]),
                ], order=[('id', 'ASC')])
        assert len(invoices) == len(CASES)
        # The billing run registers the titles of what it posts
        # (billing.py); register_boletos does those it did not.
        Invoice.register_boletos(DATE, invoices)
        payments = Payment.search([('journal', '=', journal_id)],
            order=[('id', 'ASC')])
        assert len(payments) == len(CASES)

        def group():
            group = Group(company=company, journal=journal,
                kind='receivable')
            group.save()
            return group
        payments = Payment.browse([p.id for p in payments])
        Payment.process(payments, group)
        assert all(p.state == 'processing' for p in Payment.browse(
                    [p.id for p in payments]))
    return journal.id


def import_retorno(journal_id, orm):
    """Import the retorno of CASES for the titles of journal; return the
    number of titles the writer stored and the summary."""
    pool = Pool()
    File = pool.get('account.payment.boleto.file')
    PaymentJournal = pool.get('account.payment.journal')
    Payment = pool.get('account.payment')
    journal = PaymentJournal(journal_id)
    payments = Payment.search([('journal', '=', journal_id)],
        order=[('id', 'ASC')])
    details = []
    for payment, (offset, interest, fine, fee, discount, _) in zip(
            payments, CASES):
        details.append({
                'nosso_numero': '%08d' % int(payment.boleto_nosso_numero),
                'codigo_ocorrencia': '06', 'data_ocorrencia': PAID,
                'valor_titulo': payment.amount,
                'valor_pago': payment.amount + offset,
                'juros_mora': interest, 'outros_creditos': fine,
                'valor_tarifa': fee, 'desconto': discount,
                'data_credito': CREDIT})
    data = build_retorno_400('341', CREDIT, details)
    written = []
    write = reconcile_writer.ReconcileWriter.write

    def counted(self, titles):
        result = write(self, titles)
        written.extend(result[0])
        return result
    reconcile_writer.ReconcileWriter.write = counted
    try:
        with Transaction().set_context(
                company=journal.company.id, br_boleto_reconcile_orm=orm):
            _, (occurrences, skipped, unmatched) = File.import_retorno(
                journal, data, 'CB%s.RET' % journal_id, date=CREDIT)
    finally:
        reconcile_writer.ReconcileWriter.write = write
    return len(written), (len(occurrences), skipped, len(unmatched))


def table_rows(cursor, table, column, ids, order='id'):
    if not ids:
        return []
    cursor.execute('SELECT * FROM "%s" WHERE "%s" = ANY(%%s) ORDER BY %s'
        % (table, column, order), (list(ids),))
    names = [d[0] for d in cursor.description]
    ignored = STAMPS | IGNORED.get(table, set())
    return [{n: v for n, v in zip(names, row) if n not in ignored}
        for row in cursor.fetchall()]


def title_rows(journal_id):
    """Per title (in nosso número order), every row the reconcile
    stored or changed, without what differs between two sets."""
    pool = Pool()
    Invoice = pool.get('account.invoice')
    Contract = pool.get('sale.subscription')
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT id, line FROM account_payment WHERE journal = %s '
        'ORDER BY boleto_nosso_numero::int', (journal_id,))
    titles = cursor.fetchall()
    out = []
    for payment_id, line_id in titles:
        rows = {}
        rows['payment'] = table_rows(cursor, 'account_payment', 'id',
            [payment_id])
        rows['occurrences'] = table_rows(cursor,
            'account_payment_boleto_occurrence', 'payment', [payment_id])
        cursor.execute('SELECT move FROM account_payment_boleto_occurrence '
            'WHERE payment = %s', (payment_id,))
        move_ids = [m for m, in cursor if m]
        rows['moves'] = table_rows(cursor, 'account_move', 'id', move_ids)
        cursor.execute('SELECT origin FROM account_move WHERE id = ANY(%s)',
            (move_ids,))
        rows['origins_are_title'] = all(o == 'account.payment,%s'
            % payment_id for o, in cursor)
        lines = table_rows(cursor, 'account_move_line', 'move', move_ids,
            order='account, debit, credit')
        cursor.execute('SELECT l.id, l.reconciliation, p.name '
            'FROM account_move_line l LEFT JOIN party_party p '
            'ON p.id = l.party WHERE l.move = ANY(%s) OR l.id = %s '
            'ORDER BY l.account, l.debit, l.credit', (move_ids, line_id))
        line_info = cursor.fetchall()
        for line in lines:
            line['party'] = None
        rows['lines'] = lines
        rows['line_parties'] = [(r is not None, p) for _, r, p in line_info]
        reconciliation_ids = {r for _, r, _ in line_info if r}
        rows['reconciliations'] = table_rows(cursor,
            'account_move_reconciliation', 'id', reconciliation_ids)
        # The title line and the liquidation's line, reconciled together
        cursor.execute('SELECT count(*) FROM account_move_line '
            'WHERE reconciliation = ANY(%s)', (list(reconciliation_ids),))
        rows['reconciled_lines'], = cursor.fetchone()
        cursor.execute('SELECT target, event FROM ir_model_log '
            'WHERE resource = %s ORDER BY id',
            ('account.payment,%s' % payment_id,))
        rows['payment_log'] = cursor.fetchall()
        cursor.execute('SELECT i.id FROM account_invoice i '
            'JOIN account_move_line l ON l.move = i.move WHERE l.id = %s',
            (line_id,))
        invoice_ids = [i for i, in cursor]
        rows['invoices'] = table_rows(cursor, 'account_invoice', 'id',
            invoice_ids)
        for invoice in Invoice.browse(invoice_ids):
            rows.setdefault('invoice_amounts', []).append((
                    invoice.state, invoice.total_amount,
                    invoice.amount_to_pay, invoice.reconciled,
                    len(invoice.payment_lines)))
            cursor.execute('SELECT target FROM ir_model_log '
                'WHERE resource = %s ORDER BY id',
                ('account.invoice,%s' % invoice.id,))
            rows.setdefault('invoice_log', []).append(cursor.fetchall())
        cursor.execute('SELECT DISTINCT contract FROM '
            'sale_subscription_charge WHERE invoice = ANY(%s)',
            (invoice_ids,))
        rows['paid_until'] = [c.paid_until_date
            for c in Contract.browse([c for c, in cursor])]
        out.append(rows)
    return out


def differences(expected, got, path=''):
    "The paths where got differs from expected, with both values"
    if isinstance(expected, dict) and isinstance(got, dict):
        return [d for k in sorted(expected.keys() | got.keys(), key=str)
            for d in differences(expected.get(k, '<missing>'),
                got.get(k, '<missing>'), '%s.%s' % (path, k))]
    if (isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple))
            and len(expected) == len(got)):
        return [d for i, (e, g) in enumerate(zip(expected, got))
            for d in differences(e, g, '%s[%d]' % (path, i))]
    return [] if expected == got else [(path, expected, got)]


def count_moves(journal_id):
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT count(*) FROM account_move m '
        'JOIN account_payment p ON m.origin = %s || p.id '
        'WHERE p.journal = %s', ('account.payment,', journal_id))
    return cursor.fetchone()[0]


def move_numbers():
    "The numbers of the posted moves (one strict sequence)"
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT number FROM account_move WHERE state = 'posted' "
        'ORDER BY id')
    return [int(n) for n, in cursor]


@unittest.skipIf(
    backend.name != 'postgresql', "the writer runs on PostgreSQL only")
class ReconcileWriterTestCase(unittest.TestCase):
    "The retorno writer stores what the ORM stores"

    @classmethod
    def setUpClass(cls):
        activate_module('br_boleto_cnab')

    def test_same_rows(self):
        "Writer and ORM store the same rows for the same retorno"
        company_id, plan_id = committed(setup_company)
        journals = []
        for name in ['ORM', 'Writer']:
            created = committed(create_titles, company_id, plan_id, name)
            committed(bill_titles, company_id, created, company=company_id)
            journals.append(committed(send_titles, company_id, created,
                    company=company_id))
        orm_journal, writer_journal = journals
        orm_written, orm_summary = committed(
            import_retorno, orm_journal, True)
        written, summary = committed(import_retorno, writer_journal, False)
        self.assertEqual(orm_written, 0)
        self.assertEqual(written, sum(1 for c in CASES if c[-1]))
        self.assertEqual(summary, orm_summary)
        self.assertEqual(summary, (len(CASES), 0, 0))

        orm_rows = committed(title_rows, orm_journal)
        writer_rows = committed(title_rows, writer_journal)
        self.assertEqual(len(writer_rows), len(CASES))
        for case, expected, got in zip(CASES, orm_rows, writer_rows):
            self.assertEqual(differences(expected, got), [], case)
        for case, rows in zip(CASES, writer_rows):
            move, = rows['moves']
            self.assertEqual(move['state'], 'posted')
            self.assertTrue(rows['origins_are_title'])
            self.assertEqual(rows['payment'][0]['state'], 'succeeded')
            self.assertEqual(rows['payment'][0]['boleto_state'], 'paid')
            state, total, to_pay, reconciled, _ = rows['invoice_amounts'][0]
            # Paid exactly or more (the excess stays as the customer's
            # credit, liquidation.py): the title line is settled
            settled = case[0] + case[4] - case[1] - case[2] >= 0
            if settled:
                self.assertEqual(state, 'paid')
                self.assertEqual(reconciled, CREDIT)
                self.assertEqual(rows['reconciled_lines'], 2)
                self.assertIsNotNone(rows['paid_until'][0])
            else:
                self.assertEqual(state, 'posted')
                self.assertEqual(rows['reconciled_lines'], 0)
                self.assertIsNone(rows['paid_until'][0])
        # Partial payment: the invoice stays open for the rest
        partial = writer_rows[2]
        state, total, to_pay, reconciled, payment_lines = (
            partial['invoice_amounts'][0])
        self.assertEqual(to_pay, Decimal('30.00'))
        self.assertEqual(partial['payment'][0]['amount'], total - 30)
        self.assertEqual(partial['payment'][0]['state'], 'succeeded')
        self.assertIsNone(reconciled)
        # The writer numbers its moves from the strict sequence as Move.post
        # does: no gap, no number twice
        numbers = sorted(committed(move_numbers))
        self.assertEqual(numbers, list(range(
                    numbers[0], numbers[0] + len(numbers))))

        # The same retorno again: everything skipped, no second payment
        moves = committed(count_moves, writer_journal)
        self.assertEqual(moves, len(CASES))
        written, summary = committed(import_retorno, writer_journal, False)
        self.assertEqual((written, summary), (0, (0, len(CASES), 0)))
        self.assertEqual(committed(count_moves, writer_journal), moves)
