# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark: CNAB retorno parse and reconcile on PostgreSQL.

    .venv/bin/python -O tests/bench/retorno.py --n 100000

It is a benchmark, not a test (pytest does not collect it). In one child
process (python -O) on its own database with br_boleto_cnab:

  set-up     a company collecting by boleto at Itaú (CNAB 400) and --n
             registered titles (account.payment in processing, each on its
             own receivable line of one posted move); one title is made
             through the ORM (Payment.create_boletos + process), the others
             are SQL copies of its rows (not timed).
  retorno    a retorno with one liquidation (occurrence 06, paid late with
             interest, fine and a bank fee) per title, written with
             cnab_retorno.build_retorno_400 (the parser's own layout).
  parse      cnab_file.parse_retorno of the whole file (pure Python),
             best of 3.
  reconcile  BoletoFile.import_retorno in one committed transaction: parse,
             match by nosso número, record every occurrence, post the
             liquidation moves, reconcile them with the titles' lines and
             mark the titles succeeded/paid.
  again      the same file imported a second time (everything skipped).

It prints records/s for parse (target >= 100,000) and reconcile (target:
100,000 in under 60 s) and checks that every title is paid and reconciled
once."""
import argparse
import datetime
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from billing_run import (  # noqa: E402
    committed, init_database, log, run_benchmark_child)

TODAY = datetime.date(2026, 3, 10)
DUE = datetime.date(2026, 3, 10)
PAID = datetime.date(2026, 3, 16)
CREDIT = datetime.date(2026, 3, 17)
AMOUNT = Decimal('99.90')
INTEREST = Decimal('0.20')      # 99.90 × 1% × 6/30 = 0.1998
FINE = Decimal('2.00')          # 2% of 99.90 = 1.998
FEE = Decimal('1.50')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--n', type=int, default=100000,
        help="titles (default 100000)")
    parser.add_argument('--db', default='bench_retorno')
    parser.add_argument('--keep', action='store_true')
    parser.add_argument('--profile', action='store_true',
        help="profile the reconcile and print the top functions (per "
        "attempt; CICLO_BENCH_PSTATS=FILE also dumps the last one's stats)")
    parser.add_argument('--_out', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._out:
        result = phase(args.db, args)
        with open(args._out, 'w') as out:
            json.dump(result, out)
        return
    child_args = ['--n', str(args.n), '--db', args.db]
    if args.profile:
        child_args.append('--profile')
    result = run_benchmark_child(
        __file__, args.db, 'retorno', child_args, keep=args.keep)
    report(result)


def report(r):
    def rate(n, s):
        return n / s if s else float('inf')
    line = '=' * 74
    print(line)
    print("Ciclo retorno benchmark — %s" % datetime.datetime.now().strftime(
            '%Y-%m-%d %H:%M'))
    print(line)
    print("%d titles, CNAB 400 Itaú, %.1f MB, PostgreSQL, python -O, %s CPU"
        % (r['n'], r['size'] / 1e6, os.cpu_count()))
    print("set-up (not timed)                 %8.1f s" % r['setup'])
    parse = rate(r['n'], r['parse'])
    print("parse (cnab_file.parse_retorno)    %8.2f s -> %9.0f records/s "
        "(target >= 100000: %s)" % (r['parse'], parse,
            'met' if parse >= 100000 else 'NOT met'))
    print("reconcile (BoletoFile.import_retorno) %5.2f s -> %9.0f records/s "
        "(target 100000 in < 60 s: %s)" % (r['reconcile'],
            rate(r['n'], r['reconcile']),
            'met' if rate(r['n'], r['reconcile']) * 60 >= 100000
            else 'NOT met'))
    print("  of which parse + occurrence rows %8.2f s" % r['rows'])
    print("same file again (all skipped)      %8.2f s  %s" % (
            r['again'], r['again_result']))
    print("check: %(paid)d titles paid, %(reconciled)d lines reconciled, "
        "%(moves)d liquidation moves, %(occurrences)d occurrences -> "
        "%(verdict)s" % r['check'])


def setup(n):
    "Company, Itaú journal and one ORM-made title; return ids"
    from trytond.modules.account.tests import create_chart, get_fiscalyear
    from trytond.modules.br_boleto_cnab.tests.tools import (
        create_itau_journal)
    from trytond.modules.company.tests import create_company, set_company
    from trytond.pool import Pool
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
        # One posted move: a receivable line per title (cloned below)
        move = Move(journal=revenue_journal, date=TODAY,
            period=Period.find(company, date=TODAY),
            lines=[
                {'account': receivable.id, 'party': party.id,
                    'debit': AMOUNT, 'credit': 0, 'maturity_date': DUE},
                {'account': revenue.id, 'debit': 0, 'credit': AMOUNT},
                ])
        move.save()
        Move.post([move])
        line, = [l for l in move.lines if l.account == receivable]
        counterpart, = [l for l in move.lines if l.account == revenue]
        payment, = Payment.create_boletos([(line, journal)], date=TODAY)

        def group():
            group = Group(company=company, journal=journal,
                kind='receivable')
            group.save()
            return group
        Payment.process([payment], group)
        return {'company': company.id, 'journal': journal.id,
            'move': move.id, 'line': line.id, 'payment': payment.id,
            'counterpart': counterpart.id}


def clone(ids, n):
    """Copy the template line and payment n - 1 times with SQL (set-up
    only): payment i gets line i and nosso número i."""
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()

    def columns(table):
        cursor.execute("SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s AND column_name != 'id'", (table,))
        return [r[0] for r in cursor.fetchall()]
    line_cols = columns('account_move_line')
    cursor.execute(
        'INSERT INTO account_move_line (%s) SELECT %s FROM '
        'account_move_line t, generate_series(2, %%s) g WHERE t.id = %%s'
        % (', '.join('"%s"' % c for c in line_cols),
            ', '.join('t."%s"' % c for c in line_cols)),
        (n, ids['line']))
    cursor.execute('SELECT max(id) FROM account_move_line')
    last_line, = cursor.fetchone()
    # The revenue side keeps the move balanced
    cursor.execute(
        'INSERT INTO account_move_line (%s) SELECT %s FROM '
        'account_move_line t, generate_series(2, %%s) g WHERE t.id = %%s'
        % (', '.join('"%s"' % c for c in line_cols),
            ', '.join('t."%s"' % c for c in line_cols)),
        (n, ids['counterpart']))
    pay_cols = [c for c in columns('account_payment')
        if c not in {'line', 'number', 'boleto_nosso_numero'}]
    cursor.execute(
        'INSERT INTO account_payment (%s, line, number, boleto_nosso_numero) '
        'SELECT %s, l.id, (l.rn + 1)::text, (l.rn + 1)::text '
        'FROM account_payment t, (SELECT id, row_number() OVER '
        '(ORDER BY id) AS rn FROM account_move_line WHERE move = %%s '
        'AND id > %%s AND id <= %%s) l WHERE t.id = %%s'
        % (', '.join('"%s"' % c for c in pay_cols),
            ', '.join('t."%s"' % c for c in pay_cols)),
        (ids['move'], max(ids['line'], ids['counterpart']), last_line,
            ids['payment']))
    cursor.execute('ANALYZE account_move_line')
    cursor.execute('ANALYZE account_payment')


def retorno_data(n):
    from trytond.modules.br_boleto_cnab.tests.tools import (
        liquidation_retorno)
    return liquidation_retorno(
        range(1, n + 1), AMOUNT, PAID, CREDIT, INTEREST, FINE, FEE)


def import_file(journal_id, data, profile=False):
    from trytond.pool import Pool
    pool = Pool()
    File = pool.get('account.payment.boleto.file')
    Journal = pool.get('account.payment.journal')
    journal = Journal(journal_id)
    if profile:
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        profiler.enable()
    try:
        _, (occurrences, skipped, unmatched) = File.import_retorno(
            journal, data, 'BENCH.RET', date=CREDIT)
    finally:
        # Also when the host's lock protocol restarts the transaction
        if profile:
            profiler.disable()
            if os.environ.get('CICLO_BENCH_PSTATS'):
                # For a closer look (pstats / snakeviz) than the table
                profiler.dump_stats(os.environ['CICLO_BENCH_PSTATS'])
            pstats.Stats(profiler, stream=sys.stderr).sort_stats(
                'cumulative').print_stats(40)
    return len(occurrences), skipped, len(unmatched)


def rows_only(journal_id, data):
    "Parse and build the occurrence rows, no writes (the reconcile's share)"
    from trytond.modules.br_boleto_cnab.cnab_file import parse_retorno
    from trytond.pool import Pool
    pool = Pool()
    Occurrence = pool.get('account.payment.boleto.occurrence')
    Journal = pool.get('account.payment.journal')
    journal = Journal(journal_id)
    result = parse_retorno(data, bank='341')
    rows, errors = Occurrence.rows_from_retorno(journal, result, CREDIT)
    assert not errors
    return len(rows)


def verify(ids, n):
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT count(*) FROM account_payment WHERE journal = %s "
        "AND state = 'succeeded' AND boleto_state = 'paid'",
        (ids['journal'],))
    paid, = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM account_move_line l "
        "JOIN account_payment p ON p.line = l.id WHERE p.journal = %s "
        "AND l.reconciliation IS NOT NULL", (ids['journal'],))
    reconciled, = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM account_move WHERE origin LIKE "
        "'account.payment,%%' AND state = 'posted'")
    moves, = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM account_payment_boleto_occurrence")
    occurrences, = cursor.fetchone()
    ok = paid == reconciled == moves == occurrences == n
    return {'paid': paid, 'reconciled': reconciled, 'moves': moves,
        'occurrences': occurrences, 'verdict': 'OK' if ok else 'WRONG'}


def phase(database, args):
    from trytond.modules.br_boleto_cnab.cnab_file import parse_retorno
    init_database(database, 'br_boleto_cnab')
    n = args.n
    t = time.monotonic()
    ids, _ = committed(database, setup, n)
    context = {'company': ids['company']}
    committed(database, clone, ids, n, context=context)
    data = retorno_data(n)
    setup_time = time.monotonic() - t
    log('set-up done in %.1f s; file %d bytes' % (setup_time, len(data)))

    # Best of 3: one timing of a second or less swings by a third with
    # the collector's work on the set-up's objects.
    parse_time = None
    for _ in range(3):
        t = time.monotonic()
        parsed = parse_retorno(data, bank='341')
        elapsed = time.monotonic() - t
        parse_time = elapsed if parse_time is None else min(
            parse_time, elapsed)
        assert len(parsed.titles) == n
        del parsed

    t = time.monotonic()
    committed(database, rows_only, ids['journal'], data, context=context)
    rows_time = time.monotonic() - t

    t = time.monotonic()
    (recorded, skipped, unmatched), restarts = committed(database,
        import_file, ids['journal'], data, args.profile, context=context)
    reconcile_time = time.monotonic() - t
    log('reconcile: %d recorded, %d skipped, %d unmatched in %.1f s '
        '(%d restarts)' % (recorded, skipped, unmatched, reconcile_time,
            restarts))

    t = time.monotonic()
    again, _ = committed(database, import_file, ids['journal'], data,
        context=context)
    again_time = time.monotonic() - t
    check, _ = committed(database, verify, ids, n, context=context)
    return {'n': n, 'size': len(data), 'setup': setup_time,
        'parse': parse_time, 'rows': rows_time, 'reconcile': reconcile_time,
        'again': again_time,
        'again_result': '%d recorded, %d skipped' % again[:2],
        'check': check}


if __name__ == '__main__':
    main()
