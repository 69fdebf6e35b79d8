# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark: usage ingestion and rating on PostgreSQL.

    .venv/bin/python -O tests/bench/usage.py --records 1000000 --n 10000

It is a benchmark, not a test (pytest does not collect it). In one child
process (python -O) on its own database with subscription_core:

  set-up     --n contracts on a monthly plan billed in arrears with a
             graduated traffic component (100 GB allowance); not timed.
  ingest     --records usage records in batches of --batch through
             sale.subscription.usage.ingest (what the RPC calls), each
             batch in its own committed transaction, as RPC calls are;
             then one batch sent again (all duplicates).
  raw        the same rows by psycopg COPY into a scratch table shaped
             like the usage table (no checks, no unique index): the lower
             bound.
  rate       Contract.billing_run on the period's end: every contract is
             invoiced with its plan line and its rated traffic.

It prints records/s for ingestion (target >= 20,000), the raw COPY and
the rating, and checks that every record is rated once and the invoiced
traffic equals pricing.py's amount for each contract."""
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

START = datetime.date(2026, 3, 10)
END = datetime.date(2026, 4, 10)      # billing date: the period's end
PRICE = Decimal('99.90')
SETUP_BATCH = 1000
TIERS = [(Decimal(200), Decimal('0.20')), (Decimal(500), Decimal('0.15')),
    (None, Decimal('0.10'))]
ALLOWANCE = Decimal(100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--n', type=int, default=10000,
        help="contracts (default 10000)")
    parser.add_argument('--records', type=int, default=1000000,
        help="usage records (default 1000000)")
    parser.add_argument('--batch', type=int, default=10000,
        help="records per ingest call (default 10000)")
    parser.add_argument('--db', default='bench_usage')
    parser.add_argument('--keep', action='store_true')
    parser.add_argument('--profile', action='store_true',
        help="run the rating under cProfile and print the top functions")
    parser.add_argument('--_out', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._out:
        result = phase(args.db, args)
        with open(args._out, 'w') as out:
            json.dump(result, out)
        return

    child_args = ['--n', str(args.n), '--records', str(args.records),
            '--batch', str(args.batch), '--db', args.db]
    if args.profile:
        child_args.append('--profile')
    result = run_benchmark_child(
        __file__, args.db, 'usage', child_args, keep=args.keep)
    report(result)


def report(r):
    def rate(n, s):
        return n / s if s else float('inf')
    line = '=' * 74
    print(line)
    print("Ciclo usage benchmark — %s" % datetime.datetime.now().strftime(
            '%Y-%m-%d %H:%M'))
    print(line)
    print("%d contracts, %d usage records (batches of %d), PostgreSQL, "
        "python -O, %s CPU" % (r['n'], r['records'], r['batch'],
            os.cpu_count()))
    print("set-up (not timed)              %8.1f s" % r['setup'])
    print("ingest (Usage.ingest)           %8.2f s -> %9.0f records/s "
        "(target >= 20000: %s)" % (r['ingest'], rate(r['records'],
                r['ingest']), 'met' if rate(r['records'], r['ingest'])
            >= 20000 else 'NOT met'))
    print("  resend of one batch           %8.2f s  %s" % (
            r['resend'], r['resend_result']))
    print("raw COPY of the same rows       %8.2f s -> %9.0f records/s "
        "(ingest is %.1f× slower)" % (r['raw'], rate(r['records'], r['raw']),
            r['ingest'] / r['raw'] if r['raw'] else 0))
    print("rate (Contract.billing_run)     %8.2f s -> %9.0f records/s, "
        "%.0f contracts/s" % (r['rate'], rate(r['rated'], r['rate']),
            rate(r['n'], r['rate'])))
    print("  result: %(contracts)s contracts, %(invoices)s invoices, "
        "%(errors)s errors" % r['result'])
    print("check: %d records rated, %d unrated, %d usage charges, "
        "traffic invoiced %s, expected %s -> %s" % (
            r['rated'], r['unrated'], r['charges'], r['invoiced'],
            r['expected'], 'OK' if r['ok'] else 'WRONG'))


def setup(n):
    from trytond.modules.company.tests import set_company
    from trytond.modules.subscription_core.tests.tools import (
        create_billing_setup)
    from trytond.modules.subscription_core.tests.usage_tools import (
        add_component, create_metric)
    from trytond.pool import Pool
    Plan = Pool().get('sale.subscription.plan')
    Configuration = Pool().get('sale.configuration')
    company, plan = create_billing_setup(START, PRICE)
    Plan.write([plan], {'billing_mode': 'arrears'})
    metric = create_metric('traffic_gb', "Traffic", 'GB')
    add_component(company, plan, "Tráfego", kind='graduated',
        metric=metric, allowance=ALLOWANCE,
        tiers=[(u, p, Decimal(0)) for u, p in TIERS])
    with set_company(company):
        config = Configuration(1)
        config.contract_invoice_state = 'posted'
        config.save()
    return company.id, plan.id


def create_batch(company_id, plan_id, first, count):
    from trytond.modules.subscription_core.tests.tools import (
        create_contracts)
    from trytond.pool import Pool
    pool = Pool()
    Company = pool.get('company.company')
    Plan = pool.get('sale.subscription.plan')
    contracts = create_contracts(
        Company(company_id), Plan(plan_id), count, START)
    return [c.id for c in contracts]


def quantities(i):
    "Deterministic usage quantity of record i (GB, 3 decimals)"
    return Decimal((i * 7919) % 10000) / Decimal(1000)


def records_for(contract_ids, first, count):
    n = len(contract_ids)
    span = (END - START).days * 86400
    # Within [START, END) in the company's timezone (UTC here).
    base = datetime.datetime.combine(START, datetime.time())
    for i in range(first, first + count):
        yield {
            'contract': contract_ids[i % n],
            'metric': 'traffic_gb',
            'quantity': quantities(i),
            'timestamp': base + datetime.timedelta(
                seconds=(i * 104729) % span),
            'key': 'ev-%d' % i,
            }


def phase(database, args):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.subscription_core import pricing
    init_database(database, 'subscription_core')
    t = time.monotonic()
    (company_id, plan_id), _ = committed(database, setup, args.n)
    context = {'company': company_id}
    contract_ids = []
    while len(contract_ids) < args.n:
        count = min(SETUP_BATCH, args.n - len(contract_ids))
        ids, _ = committed(database, create_batch, company_id, plan_id,
            len(contract_ids), count, context=context)
        contract_ids.extend(ids)
        log('%d/%d contracts' % (len(contract_ids), args.n))
    setup_time = time.monotonic() - t

    def ingest(batch):
        return Pool().get('sale.subscription.usage').ingest(batch)

    def batches():
        for first in range(0, args.records, args.batch):
            yield list(records_for(contract_ids, first,
                    min(args.batch, args.records - first)))
    # Each batch is built before its call (what a sender hands to the
    # RPC); only the calls are timed.
    log('ingesting %d records' % args.records)
    ingest_time = 0
    inserted = 0
    for i, batch in enumerate(batches()):
        t = time.monotonic()
        result, _ = committed(database, ingest, batch, context=context)
        ingest_time += time.monotonic() - t
        inserted += result['inserted']
        if i % 20 == 0:
            log('ingested %d (%.0f records/s)' % (
                    inserted, inserted / ingest_time))
    assert inserted == args.records, inserted
    first_batch = next(batches())
    t = time.monotonic()
    resend, _ = committed(database, ingest, first_batch, context=context)
    resend_time = time.monotonic() - t

    def raw():
        connection = Transaction().connection
        cursor = connection.cursor()
        cursor.execute('CREATE TEMP TABLE usage_raw (LIKE '
            'sale_subscription_usage INCLUDING DEFAULTS INCLUDING IDENTITY)')
        rows = []
        now = datetime.datetime.now()
        for batch in batches():
            rows.extend((company_id, r['contract'], 1, r['quantity'],
                    r['timestamp'], r['timestamp'].date(), r['key'], 0, now)
                for r in batch)
        t = time.monotonic()
        with cursor.copy('COPY usage_raw (company, contract, metric, '
                'quantity, "timestamp", date, key, create_uid, '
                'create_date) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        connection.commit()
        return time.monotonic() - t
    log('raw COPY')
    raw_time, _ = committed(database, raw)

    def rate():
        return Pool().get('sale.subscription').billing_run(END)
    log('rating')
    if args.profile:
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        profiler.enable()
    t = time.monotonic()
    result, _ = committed(database, rate, context=context)
    rate_time = time.monotonic() - t
    if args.profile:
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats('cumulative').print_stats(40)
        stats.sort_stats('tottime').print_stats(15)

    def verify():
        cursor = Transaction().connection.cursor()
        cursor.execute('SELECT count(*) FILTER (WHERE charge IS NOT NULL), '
            'count(*) FILTER (WHERE charge IS NULL) '
            'FROM sale_subscription_usage')
        rated, unrated = cursor.fetchone()
        cursor.execute("SELECT count(*), sum(amount) "
            "FROM sale_subscription_charge WHERE kind = 'usage'")
        charges, invoiced = cursor.fetchone()
        cursor.execute('SELECT contract, sum(quantity) '
            'FROM sale_subscription_usage GROUP BY contract')
        model = pricing.price_model('graduated', allowance=ALLOWANCE,
            tiers=[(u, p) for u, p in TIERS])
        expected = sum((pricing.round_amount(model.amount(q), '0.01')
                for _, q in cursor), Decimal(0))
        return rated, unrated, charges, invoiced or Decimal(0), expected
    (rated, unrated, charges, invoiced, expected), _ = committed(
        database, verify)
    return {
        'n': args.n, 'records': args.records, 'batch': args.batch,
        'setup': setup_time, 'ingest': ingest_time, 'resend': resend_time,
        'resend_result': resend, 'raw': raw_time, 'rate': rate_time,
        'result': {'contracts': result['contracts'],
            'invoices': result['invoices'],
            'errors': len(result['errors'])},
        'rated': rated, 'unrated': unrated, 'charges': charges,
        'invoiced': str(invoiced), 'expected': str(expected),
        'ok': (rated == args.records and not unrated
            and invoiced == expected),
        }


if __name__ == '__main__':
    main()
