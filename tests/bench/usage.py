# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark: usage ingestion and rating on PostgreSQL.

    .venv/bin/python -O tests/bench/usage.py --records 1000000 --n 10000

It is a benchmark, not a test (pytest does not collect it). In one child
process (python -O) on its own database with subscription_core:

  set-up     --n contracts on a monthly plan billed in arrears with a
             graduated traffic component (100 GB allowance): one through
             the ORM, the others copied from it in SQL; not timed.
  ingest     --records usage records in batches of --batch through
             sale.subscription.usage.ingest (what the RPC calls), each
             batch in its own committed transaction, as RPC calls are;
             then one batch sent again (all duplicates).
  raw        the same rows by psycopg COPY into a scratch table shaped
             like the usage table (no checks, no unique index): the lower
             bound.
  rate       Contract.billing_run on the period's end: every contract is
             invoiced with its plan line and its rated traffic (skipped
             with --skip-rate).

It prints records/s for ingestion (target >= 20,000, met or not), the raw
COPY and the rating: the whole billing run, and the usage rating's own
steps inside it (summing the usage per window, pricing it, linking it to
its charge; exclusive wall time). It checks that every record is rated
once and the invoiced traffic equals pricing.py's amount per contract."""
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
    Probe, committed, init_database, log, run_benchmark_child)

START = datetime.date(2026, 3, 10)
END = datetime.date(2026, 4, 10)      # billing date: the period's end
PRICE = Decimal('99.90')
TIERS = [(Decimal(200), Decimal('0.20')), (Decimal(500), Decimal('0.15')),
    (None, Decimal('0.10'))]
ALLOWANCE = Decimal(100)
# Issue 3: >= 20,000 records/s ingested.
INGEST_TARGET = 20000


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
    parser.add_argument('--profile', choices=['ingest', 'rate'],
        help="run the ingestion or the rating under cProfile and print "
        "the top functions")
    parser.add_argument('--skip-rate', action='store_true',
        help="stop after the ingestion and the raw COPY")
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
        child_args.extend(['--profile', args.profile])
    if args.skip_rate:
        child_args.append('--skip-rate')
    result = run_benchmark_child(
        __file__, args.db, 'usage', child_args, keep=args.keep)
    report(result)


def report(r):
    def rate(n, s):
        return n / s if s else float('inf')
    line = '=' * 74
    ingest = rate(r['records'], r['ingest'])
    print(line)
    print("Ciclo usage benchmark — %s" % datetime.datetime.now().strftime(
            '%Y-%m-%d %H:%M'))
    print(line)
    print("%d contracts, %d usage records (batches of %d), PostgreSQL, "
        "python -O, %s CPU" % (r['n'], r['records'], r['batch'],
            os.cpu_count()))
    print("set-up (not timed)              %8.1f s" % r['setup'])
    print("ingest (Usage.ingest)           %8.2f s -> %9.0f records/s "
        "(target >= %d: %s)" % (r['ingest'], ingest, INGEST_TARGET,
            'met' if ingest >= INGEST_TARGET else 'NOT met'))
    print("  resend of one batch           %8.2f s  %s" % (
            r['resend'], r['resend_result']))
    print("raw COPY of the same rows       %8.2f s -> %9.0f records/s "
        "(ingest is %.1f× slower)" % (r['raw'], rate(r['records'], r['raw']),
            r['ingest'] / r['raw'] if r['raw'] else 0))
    if 'rate' not in r:
        print("rating skipped (--skip-rate)")
        return
    print("rate: billing run               %8.2f s -> %9.0f records/s, "
        "%.1f contracts/s (no target in issue 3)" % (
            r['rate'], rate(r['rated'], r['rate']), rate(r['n'], r['rate'])))
    print("  of which the usage rating     %8.2f s -> %9.0f records/s "
        "(the rest is invoicing)" % (r['rating'],
            rate(r['rated'], r['rating'])))
    for label, (seconds, calls) in sorted(
            r['probe'].items(), key=lambda i: -i[1][0]):
        print("    %-28s %8.2f s  %7d calls" % (label, seconds, calls))
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


# The rows one contract of create_batch owns, in insertion order: (table,
# column tying them to their parent, parent table). Seeding clones them in
# SQL: the ORM creates (and activates) about 10 contracts/s here, so 10,000
# contracts took longer than the benchmark itself.
CLONED = [
    ('party_party', None, None),
    ('party_party_lang', 'party', 'party_party'),
    ('party_address', 'party', 'party_party'),
    ('party_contact_mechanism', 'party', 'party_party'),
    ('party_identifier', 'party', 'party_party'),
    ('sale_subscription', None, None),
    ('sale_subscription_line', 'subscription', 'sale_subscription'),
    ('sale_subscription_event', 'contract', 'sale_subscription'),
    ('sale_subscription_component', 'line', 'sale_subscription_line'),
    ('sale_subscription_component_tier', 'component',
        'sale_subscription_component'),
    ]
# Unique columns made distinct per copy.
DISTINCT = {('party_party', 'code'), ('sale_subscription', 'number')}


def clone_contracts(template_id, count):
    """Copy the contract template_id (with its party, address, lines, price
    components and ledger events) count times; return the new ids.

    Each table's copies take ids base + copy * k + rank, where k is the
    number of the template's rows in that table and rank a row's place
    among them, so foreign keys between copied rows are mapped by
    arithmetic; the others (company, plan, metric...) are kept."""
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    rows = {'sale_subscription': [template_id]}
    cursor.execute('SELECT party FROM sale_subscription WHERE id = %s',
        (template_id,))
    rows['party_party'] = [cursor.fetchone()[0]]
    for table, column, parent in CLONED:
        if column:
            cursor.execute('SELECT id FROM "%s" WHERE "%s" = ANY(%%s) '
                'ORDER BY id' % (table, column), (rows[parent],))
            rows[table] = [i for i, in cursor]
    cursor.execute('SELECT c.conrelid::regclass::text, a.attname, '
        'c.confrelid::regclass::text FROM pg_constraint c '
        'JOIN pg_attribute a ON a.attrelid = c.conrelid '
        'AND a.attnum = c.conkey[1] '
        "WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s) "
        'AND c.confrelid::regclass::text = ANY(%s)',
        ([t for t, _, _ in CLONED], [t for t, _, _ in CLONED]))
    foreign = {(t, c): u for t, c, u in cursor}
    base = {}
    for table, _, _ in CLONED:
        cursor.execute('SELECT COALESCE(MAX(id), 0) + 1 FROM "%s"' % table)
        base[table] = cursor.fetchone()[0]

    def new_id(table, column):
        "SQL expression of a copied row's id"
        ranks = ' '.join('WHEN %d THEN %d' % (i, r)
            for r, i in enumerate(rows[table]))
        return '(%d + g.i * %d + CASE %s %s END)' % (
            base[table], len(rows[table]), column, ranks)

    for table, _, _ in CLONED:
        if not rows[table]:
            continue
        cursor.execute('SELECT column_name FROM information_schema.columns '
            'WHERE table_name = %s ORDER BY ordinal_position', (table,))
        columns = [c for c, in cursor]
        values = []
        for column in columns:
            target = foreign.get((table, column))
            if column == 'id':
                values.append(new_id(table, 't.id'))
            elif target and rows.get(target):
                # Only the references to copied rows are mapped.
                values.append('CASE WHEN t."%s" = ANY(%%(%s)s) THEN %s '
                    'ELSE t."%s" END' % (column, target,
                        new_id(target, 't."%s"' % column), column))
            elif (table, column) in DISTINCT:
                values.append("t.\"%s\" || '-' || g.i" % column)
            else:
                values.append('t."%s"' % column)
        cursor.execute('INSERT INTO "%s" (%s) SELECT %s FROM "%s" AS t '
            'CROSS JOIN generate_series(0, %d) AS g(i) '
            'WHERE t.id = ANY(%%(%s)s)' % (
                table, ', '.join('"%s"' % c for c in columns),
                ', '.join(values), table, count - 1, table), rows)
        cursor.execute('SELECT setval(pg_get_serial_sequence(%%s, %%s), '
            'MAX(id)) FROM "%s"' % table, ('"%s"' % table, 'id'))
    return list(range(base['sale_subscription'],
            base['sale_subscription'] + count))


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


def install_rating_probe(database):
    """Time the usage rating's own steps inside the billing run (exclusive
    wall time): the rest of the run is invoicing, as for any contract."""
    from trytond.pool import Pool
    pool = Pool(database)
    Contract = pool.get('sale.subscription')
    Usage = pool.get('sale.subscription.usage')
    probe = Probe()
    probe.wrap(Contract, '_load_billing_usage', "sum the usage per window")
    probe.wrap(Contract, '_get_component_charge_arrears',
        "price the usage", kind='method')
    probe.wrap(Usage, 'mark_rated', "link the usage to its charge")
    return probe


def start_profile(enabled):
    if enabled:
        import cProfile
        return cProfile.Profile()


def print_profile(profiler):
    if profiler:
        import pstats
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats('cumulative').print_stats(40)
        stats.sort_stats('tottime').print_stats(20)


def phase(database, args):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.subscription_core import pricing
    init_database(database, 'subscription_core')
    t = time.monotonic()
    (company_id, plan_id), _ = committed(database, setup, args.n)
    context = {'company': company_id}
    # One contract through the ORM (party, lines, the plan's component
    # copied, ledger event), the others copied from it in SQL.
    contract_ids, _ = committed(database, create_batch, company_id, plan_id,
        0, 1, context=context)
    if args.n > 1:
        ids, _ = committed(database, clone_contracts, contract_ids[0],
            args.n - 1)
        contract_ids.extend(ids)
    log('%d contracts' % len(contract_ids))
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
    profiler = start_profile(args.profile == 'ingest')
    for i, batch in enumerate(batches()):
        if profiler:
            profiler.enable()
        t = time.monotonic()
        result, _ = committed(database, ingest, batch, context=context)
        ingest_time += time.monotonic() - t
        if profiler:
            profiler.disable()
        inserted += result['inserted']
        if i % 20 == 0:
            log('ingested %d (%.0f records/s)' % (
                    inserted, inserted / ingest_time))
    assert inserted == args.records, inserted
    print_profile(profiler)
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

    result = {
        'n': args.n, 'records': args.records, 'batch': args.batch,
        'setup': setup_time, 'ingest': ingest_time, 'resend': resend_time,
        'resend_result': resend, 'raw': raw_time,
        }
    if args.skip_rate:
        return result

    def rate():
        return Pool().get('sale.subscription').billing_run(END)
    log('rating')
    probe = install_rating_probe(database)
    profiler = start_profile(args.profile == 'rate')
    if profiler:
        profiler.enable()
    t = time.monotonic()
    run, _ = committed(database, rate, context=context)
    rate_time = time.monotonic() - t
    if profiler:
        profiler.disable()
    probe.restore()
    print_profile(profiler)

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
    result.update({
        'rate': rate_time,
        'rating': sum(s for s, _ in probe.totals.values()),
        'probe': probe.totals,
        'result': {'contracts': run['contracts'],
            'invoices': run['invoices'],
            'errors': len(run['errors'])},
        'rated': rated, 'unrated': unrated, 'charges': charges,
        'invoiced': str(invoiced), 'expected': str(expected),
        'ok': (rated == args.records and not unrated
            and invoiced == expected),
        })
    return result


if __name__ == '__main__':
    main()
