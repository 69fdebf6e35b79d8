# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Two imports of overlapping retorno files at the same time, on
PostgreSQL (two threads, each with its own transaction).

Titles 1-4 are in file A, titles 3-6 in file B. Whatever the timing,
every title gets exactly one liquidation move and is paid once, and each
import either succeeds (the second skipping what the first recorded) or
fails with the translated "another import is running" error, having
changed nothing."""
import datetime
import threading
import unittest
from decimal import Decimal

from trytond import backend
from trytond.i18n import gettext
from trytond.modules.br_boleto_cnab.exceptions import RetornoError
from trytond.modules.br_boleto_cnab.tests.tools import (
    create_itau_journal, liquidation_retorno)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, activate_module
from trytond.transaction import Transaction, TransactionError

TODAY = datetime.date(2026, 3, 10)
PAID = datetime.date(2026, 3, 16)
CREDIT = datetime.date(2026, 3, 17)
AMOUNT = Decimal('99.90')
INTEREST, FINE, FEE = Decimal('0.20'), Decimal('2.00'), Decimal('1.50')
TITLES = 6
FILE_A, FILE_B = range(0, 4), range(2, 6)


def committed(func, *args, context=None):
    """Run func in a committed transaction as root, restarted on the
    host's TransactionError as its dispatcher does; return (result,
    attempts)."""
    extras, attempts = {}, 0
    while True:
        attempts += 1
        try:
            with Transaction().start(DB_NAME, 0, context=context or {},
                    **extras) as transaction:
                result = func(*args)
                transaction.commit()
                return result, attempts
        except TransactionError as exception:
            exception.fix(extras)


def setup():
    "A company collecting by boleto and TITLES titles in processing"
    from trytond.modules.account.tests import create_chart, get_fiscalyear
    from trytond.modules.company.tests import create_company, set_company
    pool = Pool()
    Account = pool.get('account.account')
    FiscalYear = pool.get('account.fiscalyear')
    Journal = pool.get('account.journal')
    Party = pool.get('party.party')
    Move = pool.get('account.move')
    Period = pool.get('account.period')
    Payment = pool.get('account.payment')
    Group = pool.get('account.payment.group')
    company = create_company()
    with set_company(company):
        create_chart(company)
        fiscalyear = get_fiscalyear(company, TODAY)
        fiscalyear.save()
        FiscalYear.create_period([fiscalyear])

        def account(kind):
            return Account.search([('company', '=', company.id),
                    ('type.%s' % kind, '=', True),
                    ('closed', '!=', True)], limit=1)[0]
        receivable, revenue = account('receivable'), account('revenue')
        revenue_journal, = Journal.search([('type', '=', 'revenue')])
        journal = create_itau_journal(company)
        party = Party(name='Cliente')
        party.save()
        move = Move(journal=revenue_journal, date=TODAY,
            period=Period.find(company, date=TODAY),
            lines=[{'account': receivable.id, 'party': party.id,
                    'debit': AMOUNT, 'credit': 0, 'maturity_date': TODAY}
                for _ in range(TITLES)] + [{'account': revenue.id,
                    'debit': 0, 'credit': AMOUNT * TITLES}])
        move.save()
        Move.post([move])
        lines = [l for l in move.lines if l.account == receivable]
        payments = Payment.create_boletos(
            [(l, journal) for l in lines], date=TODAY)
        group = Group(company=company, journal=journal, kind='receivable')
        group.save()
        Payment.process(payments, lambda: group)
        numbers = [p.boleto_nosso_numero for p in Payment.browse(
                sorted(p.id for p in payments))]
    return company.id, journal.id, numbers


def retorno(numbers):
    return liquidation_retorno(
        numbers, AMOUNT, PAID, CREDIT, INTEREST, FINE, FEE)


def import_file(journal_id, data, name):
    pool = Pool()
    File = pool.get('account.payment.boleto.file')
    Journal = pool.get('account.payment.journal')
    _, (occurrences, skipped, _) = File.import_retorno(
        Journal(journal_id), data, name, date=CREDIT)
    return len(occurrences), skipped


def state(journal_id):
    "Per title: liquidation moves, payment state; and the retorno files"
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT p.id, p.state, p.boleto_state, '
        '(SELECT count(*) FROM account_move m '
        "WHERE m.origin = 'account.payment,' || p.id), "
        '(SELECT count(*) FROM account_payment_boleto_occurrence o '
        'WHERE o.payment = p.id) '
        'FROM account_payment p WHERE p.journal = %s ORDER BY p.id',
        (journal_id,))
    titles = cursor.fetchall()
    cursor.execute('SELECT name FROM account_payment_boleto_file '
        "WHERE journal = %s AND kind = 'retorno' ORDER BY id", (journal_id,))
    return titles, [n for n, in cursor]


def message(journal_id, name, seconds):
    pool = Pool()
    Journal = pool.get('account.payment.journal')
    return gettext('br_boleto_cnab.msg_retorno_import_running',
        journal=Journal(journal_id).rec_name, file=name, seconds=seconds)


@unittest.skipIf(backend.name != 'postgresql',
    "concurrent transactions need PostgreSQL")
class RetornoConcurrencyTestCase(unittest.TestCase):
    "Overlapping retorno imports at the same time"

    @classmethod
    def setUpClass(cls):
        activate_module('br_boleto_cnab')

    def setUp(self):
        (self.company, self.journal, numbers), _ = committed(setup)
        self.context = {'company': self.company}
        self.file_a = retorno([numbers[i] for i in FILE_A])
        self.file_b = retorno([numbers[i] for i in FILE_B])

    def run_threads(self, *imports):
        """Run imports (data, name, context, hold) in threads; hold
        (seconds) keeps the import's locks before it stores anything,
        and the next import starts once the previous holds them. Return
        per import its result or exception and attempts."""
        Occurrence = Pool(DB_NAME).get('account.payment.boleto.occurrence')
        record = Occurrence.record.__func__
        holding = threading.local()
        results = [None] * len(imports)
        events = [threading.Event() for _ in imports]

        def held(cls, journal, file, rows):
            # Called with the import's locks taken (lock_retorno first)
            Occurrence.lock_retorno(journal, rows, file.name)
            events[holding.index].set()
            if holding.hold:
                threading.Event().wait(holding.hold)
            return record(cls, journal, file, rows)

        def run(index, data, name, context, hold):
            holding.index, holding.hold = index, hold
            try:
                results[index] = committed(import_file, self.journal, data,
                    name, context=dict(self.context, **context))
            except Exception as exception:
                results[index] = (exception, None)
            finally:
                events[index].set()
        Occurrence.record = classmethod(held)
        try:
            threads = []
            for index, args in enumerate(imports):
                if threads and imports[index - 1][3]:
                    events[index - 1].wait(60)
                thread = threading.Thread(target=run, args=(index,) + args)
                thread.start()
                threads.append(thread)
            for thread in threads:
                thread.join(120)
        finally:
            Occurrence.record = classmethod(record)
        return results

    def assertPaidOnce(self, files):
        (titles, names), _ = committed(state, self.journal,
            context=self.context)
        self.assertEqual(len(titles), TITLES)
        for _, payment_state, boleto_state, moves, occurrences in titles:
            self.assertEqual((payment_state, boleto_state, moves,
                    occurrences), ('succeeded', 'paid', 1, 1))
        self.assertEqual(names, files)

    def test_second_waits_then_skips(self):
        "The second import waits for the first, then skips its titles"
        (a, a_attempts), (b, b_attempts) = self.run_threads(
            (self.file_a, 'A.RET', {}, 1),
            (self.file_b, 'B.RET', {}, 0))
        self.assertEqual(a, (4, 0))
        self.assertEqual(b, (2, 2))
        # B started before A committed: its snapshot was stale, so it
        # restarted once A had ended
        self.assertGreaterEqual(b_attempts, 2)
        self.assertPaidOnce(['A.RET', 'B.RET'])

    def test_second_fails_clearly(self):
        "An import that waits too long fails with the message, unchanged"
        (a, _), (b, _) = self.run_threads(
            (self.file_a, 'A.RET', {}, 3),
            (self.file_b, 'B.RET', {'br_boleto_retorno_wait': 0.5}, 0))
        self.assertEqual(a, (4, 0))
        self.assertIsInstance(b, RetornoError)
        expected, _ = committed(message, self.journal, 'B.RET', 0.5,
            context=self.context)
        self.assertEqual(b.message, expected)
        # Nothing of B was stored; imported again it skips A's titles
        (titles, names), _ = committed(state, self.journal,
            context=self.context)
        self.assertEqual(names, ['A.RET'])
        self.assertEqual(sum(t[3] for t in titles), 4)
        again, _ = committed(import_file, self.journal, self.file_b,
            'B.RET', context=self.context)
        self.assertEqual(again, (2, 2))
        self.assertPaidOnce(['A.RET', 'B.RET'])

    def test_same_time(self):
        "Started together, each succeeds or fails clearly; paid once"
        results = self.run_threads(
            (self.file_a, 'A.RET', {}, 0),
            (self.file_b, 'B.RET', {}, 0))
        # Neither waits long enough to fail: the one that locks second
        # skips the first one's titles
        self.assertEqual(sorted(r for r, _ in results), [(2, 2), (4, 0)])
        (titles, names), _ = committed(state, self.journal,
            context=self.context)
        self.assertPaidOnce(names)
        self.assertEqual(sorted(names), ['A.RET', 'B.RET'])
