# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The billing run's set-based writer stores exactly the rows the host's
ORM stores (differential test, on PostgreSQL where the writer runs).

Two identical sets of contracts are billed, one with the ORM
(context subscription_billing_orm) and one with the writer; every row of
every invoice (lines, line taxes, invoice taxes, move, move lines, tax
lines, charges) must be equal but for ids, numbers and time stamps."""
import datetime
import unittest
from decimal import Decimal

from trytond import backend
from trytond.modules.company.tests import set_company
from trytond.modules.subscription_core.tests.tools import (
    create_billing_setup)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, activate_module
from trytond.transaction import Transaction

from .test_billing_exactly_once import committed

DATE = datetime.date(2026, 3, 10)
# (start date, quantity, unit price, payment term): pro-rata first
# periods, quantities, odd cents that round differently per line and
# per document, split payment terms.
CASES = [
    (DATE, 1, Decimal('99.90'), False),
    (datetime.date(2026, 3, 3), 3, Decimal('33.33'), True),
    (datetime.date(2026, 2, 17), 2, Decimal('10.05'), False),
    (datetime.date(2026, 1, 29), 7, Decimal('0.07'), True),
    (datetime.date(2026, 3, 9), 1, Decimal('1234.56'), True),
    # Same as others: the writer copies the move of the first.
    (DATE, 1, Decimal('99.90'), False),
    (datetime.date(2026, 3, 3), 3, Decimal('33.33'), True),
    ]
IGNORED = {
    'id', 'create_uid', 'create_date', 'write_uid', 'write_date',
    'number', 'number_alnum', 'number_digit', 'post_number', 'move',
    'invoice', 'line', 'move_line', 'contract', 'invoice_line', 'party',
    'invoice_address', 'origin', 'description', 'reconciliation',
    }


@unittest.skipIf(
    backend.name != 'postgresql', "the writer runs on PostgreSQL only")
class BillingWriterTestCase(unittest.TestCase):
    "The set-based writer stores what the ORM stores"

    @classmethod
    def setUpClass(cls):
        activate_module('subscription_core')

    def test_same_rows_document_rounding(self):
        "Writer and ORM store the same rows (tax rounding per document)"
        self.check_same_rows('document')

    def test_same_rows_line_rounding(self):
        "Writer and ORM store the same rows (tax rounding per line)"
        self.check_same_rows('line')

    def check_same_rows(self, tax_rounding):
        company_id = committed(setup_company, tax_rounding)
        orm = committed(bill_cases, committed(create_cases, company_id), True)
        writer = committed(
            bill_cases, committed(create_cases, company_id), False)
        self.assertEqual(orm['result']['errors'], [])
        self.assertEqual(writer['result']['errors'], [])
        self.assertGreater(orm['result']['invoices'], len(CASES))
        self.assertEqual(
            writer['result']['invoices'], orm['result']['invoices'])
        self.assertEqual(writer['writer'], writer['result']['invoices'])
        self.assertEqual(orm['writer'], 0)
        # Contracts of a chunk alike but for their party share their
        # bills: the rows of the first are copied for the others.
        self.assertGreater(writer['copies'], 0)
        orm_rows = committed(invoice_rows, orm['contracts'])
        writer_rows = committed(invoice_rows, writer['contracts'])
        self.assertEqual(len(orm_rows), len(writer_rows))
        for expected, got in zip(orm_rows, writer_rows):
            self.assertEqual(got, expected)
        self.assertEqual(
            committed(billed_until, writer['contracts']),
            committed(billed_until, orm['contracts']))
        # The writer's invoices are posted, balanced and numbered after
        # the ORM's in the same sequence.
        numbers = committed(invoice_numbers, company_id)
        self.assertEqual(numbers, list(range(1, len(numbers) + 1)))

    def test_copies_of_a_template_not_stored(self):
        "Contracts alike whose bills the writer does not store are billed"
        company_id = committed(setup_company, 'document')
        # A free line: the writer leaves a zero invoice to the ORM, so the
        # second contract cannot copy the first's rows.
        cases = [(DATE, 1, Decimal(0), False)] * 2
        orm = committed(bill_cases, committed(
                create_cases, company_id, cases), True)
        writer = committed(bill_cases, committed(
                create_cases, company_id, cases), False)
        self.assertEqual(writer['result']['errors'], [])
        self.assertEqual(writer['copies'], 0)
        self.assertEqual(writer['result']['invoices'], 2)
        orm_rows = committed(invoice_rows, orm['contracts'])
        writer_rows = committed(invoice_rows, writer['contracts'])
        self.assertEqual(len(writer_rows), 2)
        self.assertEqual(writer_rows, orm_rows)
        self.assertEqual(
            committed(billed_until, writer['contracts']),
            committed(billed_until, orm['contracts']))


def setup_company(tax_rounding):
    pool = Pool()
    Tax = pool.get('account.tax')
    Account = pool.get('account.account')
    PaymentTerm = pool.get('account.invoice.payment_term')
    AccountConfiguration = pool.get('account.configuration')
    company, plan = create_billing_setup(DATE)
    with set_company(company):
        config = AccountConfiguration(1)
        config.tax_rounding = tax_rounding
        config.save()
        tax_account, = Account.search([
                ('company', '=', company.id),
                ('code', '=', '6.3.6'),
                ], limit=1)
        # PIS 0.65% and a fixed fee per unit: odd roundings.
        pis, fee = Tax.create([{
                    'name': 'PIS', 'description': 'PIS 0.65%',
                    'type': 'percentage', 'rate': Decimal('.0065'),
                    'invoice_account': tax_account.id,
                    'credit_note_account': tax_account.id,
                    }, {
                    'name': 'Fee', 'description': 'Fee 0.10',
                    'type': 'fixed', 'amount': Decimal('0.10'),
                    'invoice_account': tax_account.id,
                    'credit_note_account': tax_account.id,
                    }])
        category = plan.product.template.account_category
        category.customer_taxes = list(category.customer_taxes) + [pis, fee]
        category.save()
        plan.setup_fee = Decimal('49.99')
        plan.setup_product = plan.product
        plan.minimum_charge = Decimal('20.00')
        plan.save()
        PaymentTerm.create([{
                    'name': '30/60 %s' % company.id,
                    'lines': [('create', [{
                                    'type': 'percent',
                                    'ratio': Decimal('.5'),
                                    'divisor': Decimal('2'),
                                    'relativedeltas': [('create', [{
                                                    'days': 30}])],
                                    }, {
                                    'type': 'remainder',
                                    'relativedeltas': [('create', [{
                                                    'days': 60}])],
                                    }])],
                    }])
    return company.id


def create_cases(company_id, cases=None):
    "Create and run the contracts of cases (CASES); return their ids"
    pool = Pool()
    Company = pool.get('company.company')
    Party = pool.get('party.party')
    Plan = pool.get('sale.subscription.plan')
    Contract = pool.get('sale.subscription')
    PaymentTerm = pool.get('account.invoice.payment_term')
    company = Company(company_id)
    with set_company(company):
        plan, = Plan.search([('company', '=', company_id)])
        term, = PaymentTerm.search([('name', '=', '30/60 %s' % company_id)])
        unit = plan.service.product.sale_uom
        values = []
        for start, quantity, price, split in (cases or CASES):
            party, = Party.create([{
                        'name': 'Customer', 'addresses': [('create', [{}])],
                        }])
            values.append({
                    'company': company_id,
                    'party': party.id,
                    'invoice_address': party.addresses[0].id,
                    'currency': company.currency.id,
                    'plan': plan.id,
                    'invoice_recurrence': plan.recurrence.id,
                    'start_date': start,
                    'billing_day': 10,
                    'payment_term': term.id if split else None,
                    'lines': [('create', [{
                                    'service': plan.service.id,
                                    'quantity': quantity,
                                    'unit': unit.id,
                                    'unit_price': price,
                                    'start_date': start,
                                    }])],
                    })
        contracts = Contract.create(values)
        Contract.quote(contracts)
        Contract.run(contracts)
    return company_id, [c.id for c in contracts]


def bill_cases(created, orm):
    """Bill the contracts created with the ORM or the writer; return
    their ids, the run's result and how many invoices the writer
    stored."""
    pool = Pool()
    Contract = pool.get('sale.subscription')
    Writer = Contract._get_billing_writer
    company_id, contract_ids = created
    stored = {'writer': 0, 'copies': 0}

    def count_writer(posted, date):
        writer = Writer(posted, date)
        if writer:
            write = writer.write

            def counted(bills, copies=()):
                stored['writer'] += len(bills) + len(copies)
                stored['copies'] += len(copies)
                return write(bills, copies)
            writer.write = counted
        return writer

    Contract._get_billing_writer = count_writer
    try:
        with Transaction().set_context(
                company=company_id, subscription_billing_orm=orm):
            result = Contract.billing_run(DATE)
    finally:
        Contract._get_billing_writer = Writer
    return {
        'contracts': contract_ids,
        'result': result,
        'writer': stored['writer'],
        'copies': stored['copies'],
        }


def table_rows(cursor, table, column, ids, order='id'):
    if not ids:
        return []
    cursor.execute('SELECT * FROM "%s" WHERE "%s" = ANY(%%s) ORDER BY %s'
        % (table, column, order), (list(ids),))
    names = [d[0] for d in cursor.description]
    rows = []
    for row in cursor.fetchall():
        rows.append((row[0], {n: v for n, v in zip(names, row)}))
    return rows


def clean(values):
    values = {k: v for k, v in values.items() if k not in IGNORED}
    return values


def invoice_rows(contract_ids):
    """Return, per contract, its invoices with every row they own,
    without what differs between two runs (ids, numbers, stamps)."""
    cursor = Transaction().connection.cursor()
    out = []
    for contract_id in contract_ids:
        cursor.execute('SELECT COALESCE(invoice_party, party), '
            'invoice_address, number FROM sale_subscription WHERE id = %s',
            (contract_id,))
        party, address, number = cursor.fetchone()
        cursor.execute('SELECT id FROM sale_subscription_line '
            'WHERE subscription = %s', (contract_id,))
        contract_lines = {'sale.subscription.line,%s' % i for i, in cursor}
        cursor.execute('SELECT DISTINCT invoice FROM sale_subscription_charge '
            'WHERE contract = %s ORDER BY invoice', (contract_id,))
        invoice_ids = [i for i, in cursor]
        charges = table_rows(cursor, 'sale_subscription_charge', 'contract',
            [contract_id], order='period_start, kind')
        for invoice_id in invoice_ids:
            invoice, = table_rows(cursor, 'account_invoice', 'id',
                [invoice_id])
            lines = table_rows(cursor, 'account_invoice_line', 'invoice',
                [invoice_id])
            line_taxes = table_rows(cursor,
                'account_invoice_line-account_tax', 'line',
                [i for i, _ in lines], order='line, tax')
            taxes = table_rows(cursor, 'account_invoice_tax', 'invoice',
                [invoice_id])
            move_id = invoice[1]['move']
            moves = table_rows(cursor, 'account_move', 'id', [move_id])
            move_lines = table_rows(cursor, 'account_move_line', 'move',
                [move_id])
            tax_lines = table_rows(cursor, 'account_tax_line', 'move_line',
                [i for i, _ in move_lines], order='move_line, type, tax')
            line_index = {i: k for k, (i, _) in enumerate(lines)}
            tax_index = {i: k for k, (i, _) in enumerate(taxes)}
            move_line_index = {i: k for k, (i, _) in enumerate(move_lines)}

            def origin(value):
                # Origins point at rows of the same invoice: compare their
                # position, not their id.
                if not value:
                    return value
                model, id_ = value.split(',')
                index = {'account.invoice.line': line_index,
                    'account.invoice.tax': tax_index}.get(model)
                return (model, index[int(id_)] if index else None)
            own_charges = [c for _, c in charges if c['invoice'] == invoice_id]
            # What the rows of two runs cannot share: the contract's own
            # party, address, number and lines, each where it belongs.
            identity = {
                'party': invoice[1]['party'] == party,
                'address': invoice[1]['invoice_address'] == address,
                'description': invoice[1]['description'].startswith(
                    number + ' '),
                'move_party': all(l['party'] in {None, party}
                    for _, l in move_lines),
                'line_origins': all(l['origin'] in contract_lines
                    for _, l in lines),
                'charges': all(c['contract'] == contract_id
                    and 'sale.subscription.line,%s' % c['line']
                    in contract_lines
                    and c['invoice_line'] in line_index
                    for c in own_charges),
                }
            assert all(identity.values()), (contract_id, identity)
            out.append({
                    'identity': identity,
                    'invoice': clean(invoice[1]),
                    'invoice_has_move': bool(move_id),
                    'lines': [dict(clean(l), origin=origin(l['origin']),
                            description=l['description'])
                        for _, l in lines],
                    'line_taxes': [(line_index[l['line']], l['tax'])
                        for _, l in line_taxes],
                    'taxes': [dict(clean(t), description=t['description'])
                        for _, t in taxes],
                    'move': [dict(clean(m), origin=m['origin'].split(',')[0])
                        for _, m in moves],
                    'move_lines': [dict(clean(l), origin=origin(l['origin']),
                            party=same(l['party'], invoice[1]['party']),
                            description=same(l['description'],
                                invoice[1]['description']))
                        for _, l in move_lines],
                    'tax_lines': [dict(clean(t),
                            move_line=move_line_index[t['move_line']])
                        for _, t in tax_lines],
                    'charges': [dict(clean(c),
                            invoice_line=line_index.get(c['invoice_line']))
                        for _, c in charges if c['invoice'] == invoice_id],
                    })
    return out


def billed_until(contract_ids):
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT billed_until, next_billing_date '
        'FROM sale_subscription WHERE id = ANY(%s) ORDER BY id',
        (list(contract_ids),))
    return cursor.fetchall()


def same(value, invoice_value):
    "The invoice's own party or description, which differ between runs"
    return '<invoice>' if value == invoice_value else value


def invoice_numbers(company_id):
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT i.number, m.state, i.state FROM account_invoice i '
        'JOIN account_move m ON m.id = i.move WHERE i.company = %s '
        'ORDER BY i.id', (company_id,))
    rows = cursor.fetchall()
    assert {(m, i) for _, m, i in rows} == {('posted', 'posted')}, rows
    cursor.execute('SELECT count(*) FROM account_move_line l '
        'JOIN account_move m ON m.id = l.move WHERE m.company = %s '
        'AND l.state <> %s', (company_id, 'valid'))
    assert cursor.fetchone()[0] == 0
    return [int(n) for n, _, _ in rows]
