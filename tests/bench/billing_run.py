# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Benchmark: Ciclo's billing run against the host's stock
sale_subscription and against a raw COPY of the same rows, on PostgreSQL.

    .venv/bin/python -O tests/bench/billing_run.py --n 10000

It is a benchmark, not a test (pytest does not collect it). Each measure
runs in its own child process (python -O) on its own database:

  (a) stock  database with only sale_subscription (+ deps) activated:
             --n-stock subscriptions with one monthly-consumption line;
             timed: Line.generate_consumption + Subscription.generate_invoice
             + Invoice.post, each in one committed transaction (the cron's
             way), with the host's lock protocol (TransactionError restart).
  (b) ciclo  database with subscription_core activated: --n contracts on a
             monthly plan; timed: Contract.billing_run(date) (chunked, each
             chunk committed; contract_invoice_state 'posted'), for
             --cycles monthly cycles, the best reported.
  (c) raw    psycopg 3 COPY (the COPY protocol psycopg2's copy_expert
             uses) of the rows (b) wrote, cloned per contract into the real
             tables of the Ciclo database; timed: COPY + commit, the best
             of 3 (the rows are deleted after each).

See tests/bench/README.md."""
import argparse
import cProfile
import datetime
import hashlib
import inspect
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATE = datetime.date(2026, 3, 10)     # billing date; contracts start on it
BILLING_DAY = 10
PRICE = Decimal('99.90')
SETUP_BATCH = 1000                      # contracts per set-up transaction


def log(*args):
    print('[bench %s]' % time.strftime('%H:%M:%S'), *args,
        file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def pg_uri():
    uri = os.environ.get('CICLO_PG_URI')
    if not uri and os.environ.get(
            'TRYTOND_DATABASE__URI', '').startswith('postgresql:'):
        uri = os.environ['TRYTOND_DATABASE__URI']
    if not uri:
        uri = subprocess.run(
            [str(ROOT / 'scripts' / 'pg.sh'), 'start'], check=True,
            stdout=subprocess.PIPE, text=True).stdout.strip()
    return uri


def pg_bindir():
    try:
        return subprocess.run(
            [str(ROOT / 'scripts' / 'pg.sh'), 'bindir'], check=True,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True).stdout.strip()
    except subprocess.CalledProcessError:
        return ''


def db_cache_dir():
    "var/bench_cache/<hash of the sources that shape the databases>"
    digest = hashlib.sha1()
    files = [ROOT / 'requirements.txt', ROOT / 'pyproject.toml']
    for path in sorted((ROOT / 'addons').rglob('*')):
        if (path.is_file() and '__pycache__' not in path.parts
                and path.suffix not in {'.pyc', '.rst'}
                and not path.name.startswith('test_')):
            files.append(path)
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return ROOT / 'var' / 'bench_cache' / digest.hexdigest()[:12]


def admin_sql(uri, *statements):
    import psycopg
    from psycopg.conninfo import make_conninfo
    with psycopg.connect(
            make_conninfo(uri, dbname='postgres'), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def drop_db(uri, name):
    admin_sql(uri, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


def run_benchmark_child(script, database, cache, child_args, keep=False):
    """Run script's measuring phase (--_out FILE) under python -O on its
    own database (dropped before and, unless keep, after) and return the
    JSON it writes: the driver of usage.py and retorno.py."""
    uri = pg_uri()
    env = dict(os.environ)
    env.pop('TRYTOND_CONFIG', None)
    env['TRYTOND_DATABASE__URI'] = uri
    bindir = pg_bindir()
    if bindir:
        env['PATH'] = bindir + os.pathsep + env.get('PATH', '')
    # Keyed by the module sources too: a dump of older sources may lack
    # a module the current ones depend on.
    env.setdefault('DB_CACHE', str(db_cache_dir() / cache))
    env['DB_NAME'] = database
    drop_db(uri, database)
    try:
        with tempfile.NamedTemporaryFile(
                'r', suffix='.json', prefix='bench-') as out:
            cmd = [sys.executable, '-O', script, '--_out', out.name]
            if subprocess.run(cmd + child_args, env=env).returncode:
                raise SystemExit('benchmark child failed, see above')
            return json.load(out)
    finally:
        if not keep:
            drop_db(uri, database)


def run_child(phase, database, uri, args, env):
    with tempfile.NamedTemporaryFile(
            'r', suffix='.json', prefix='bench-') as out:
        cmd = [sys.executable, '-O', __file__, '--_phase', phase,
            '--_db', database, '--_out', out.name,
            '--n', str(args.n), '--n-stock', str(args.n_stock)]
        if args.profile:
            cmd.append('--profile')
        if args.no_copies:
            cmd.append('--no-copies')
        cmd.extend(['--cycles', str(args.cycles)])
        if args.profile_n:
            cmd.extend(['--profile-n', str(args.profile_n)])
        child_env = dict(env, DB_NAME=database)
        log('%s: %s' % (phase, ' '.join(cmd[1:])))
        process = subprocess.run(cmd, env=child_env)
        if process.returncode:
            raise SystemExit(
                '%s phase failed (exit %s), see its traceback above'
                % (phase, process.returncode))
        return json.load(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--n', type=int, default=10000,
        help="contracts for Ciclo's billing run and the raw COPY "
        "(default 10000)")
    parser.add_argument('--n-stock', type=int, default=1000,
        help="subscriptions for the stock path (default 1000, at least "
        "1000)")
    parser.add_argument('--db-prefix', default='bench_ciclo',
        help="database names: <prefix>_stock and <prefix>_ciclo")
    parser.add_argument('--keep', action='store_true',
        help="keep the databases (dropped by default)")
    parser.add_argument('--profile', action='store_true',
        help="also bill one extra chunk of contracts under cProfile and "
        "print the top 25 cumulative functions")
    parser.add_argument('--profile-n', type=int, default=None,
        help="contracts billed under the profiler (default: one chunk, "
        "sale.configuration contract_billing_chunk)")
    parser.add_argument('--skip-stock', action='store_true',
        help="do not measure the stock path (a)")
    parser.add_argument('--cycles', type=int, default=3,
        help="monthly billing cycles of the contracts timed for (b), the "
        "best reported (default 3, at most 9)")
    parser.add_argument('--no-copies', action='store_true',
        help="(b) builds every contract's bills with the hooks, copying "
        "none (context subscription_billing_no_copies)")
    parser.add_argument('--_phase', choices=['stock', 'ciclo'],
        help=argparse.SUPPRESS)
    parser.add_argument('--_db', help=argparse.SUPPRESS)
    parser.add_argument('--_out', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.cycles <= 9:
        parser.error('--cycles must be from 1 to 9 (the fiscal year)')

    if args._phase:
        result = {'stock': phase_stock, 'ciclo': phase_ciclo}[args._phase](
            args._db, args)
        with open(args._out, 'w') as out:
            json.dump(result, out)
        return

    if args.n_stock < 1000:
        parser.error('--n-stock must be at least 1000')
    if args.n < 1:
        parser.error('--n must be positive')

    uri = pg_uri()
    env = dict(os.environ)
    env.pop('TRYTOND_CONFIG', None)
    env.pop('PYTHONOPTIMIZE', None)
    env['TRYTOND_DATABASE__URI'] = uri
    bindir = pg_bindir()
    if bindir:
        env['PATH'] = bindir + os.pathsep + env.get('PATH', '')
    if 'DB_CACHE' not in env:
        env['DB_CACHE'] = str(db_cache_dir())
    stock_db = '%s_stock' % args.db_prefix
    ciclo_db = '%s_ciclo' % args.db_prefix
    log('PostgreSQL %s, DB_CACHE=%s' % (uri, env['DB_CACHE'] or 'off'))

    started = time.monotonic()
    stock = None
    try:
        if not args.skip_stock:
            drop_db(uri, stock_db)
            stock = run_child('stock', stock_db, uri, args, env)
            if not args.keep:
                drop_db(uri, stock_db)
        drop_db(uri, ciclo_db)
        ciclo = run_child('ciclo', ciclo_db, uri, args, env)
    finally:
        if not args.keep:
            for name in [stock_db, ciclo_db]:
                try:
                    drop_db(uri, name)
                except Exception:
                    pass
    report(args, uri, stock, ciclo, time.monotonic() - started,
        [] if not args.keep else [stock_db, ciclo_db])


def report(args, uri, stock, ciclo, wall, kept):
    def rate(n, seconds):
        return n / seconds if seconds else float('inf')

    line = '=' * 74
    print(line)
    print("Ciclo billing-run benchmark — %s" % datetime.datetime.now()
        .strftime('%Y-%m-%d %H:%M'))
    print(line)
    print("Host: %s, %s CPU, Python %s, trytond %s, %s" % (
            platform.node(), os.cpu_count(), platform.python_version(),
            ciclo['trytond'], ciclo['server']))
    print("Both ORM paths run under `python -O` (asserts off: an ORM "
        "assert makes stock consumption generation quadratic, DESIGN.md).")
    print("Data: one contract per party, one monthly line of %s + 5%% tax "
        "(ISS), start and billing date %s: one invoice with one line "
        "per contract." % (PRICE, DATE))
    print()
    if stock:
        s = stock
        print("(a) stock sale_subscription, %d subscriptions "
            "(database with sale_subscription + deps only)" % s['n'])
        print("    set-up (not timed)            %8.1f s" % s['setup'])
        print("    Line.generate_consumption     %8.2f s" % s['consumption'])
        print("    Subscription.generate_invoice %8.2f s" % s['invoice'])
        print("    Invoice.post                  %8.2f s  (%d restart(s) on "
            "lock errors)" % (s['post'], s['post_restarts']))
        print("    total                         %8.2f s  -> %8.1f "
            "contracts/s" % (s['total'], rate(s['n'], s['total'])))
        print("    check: %d consumptions, %d invoices posted" % (
                s['consumptions'], s['posted']))
    else:
        print("(a) stock sale_subscription: skipped (--skip-stock)")
    print()
    c = ciclo
    print("(b) Ciclo Contract.billing_run, %d contracts (database with "
        "subscription_core), chunk %d, invoices '%s'%s" % (
            c['n'], c['chunk'], c['invoice_state'],
            ", no copies (--no-copies)" if args.no_copies else ""))
    print("    set-up (not timed)            %8.1f s" % c['setup'])
    print("    billing_run                   %8.2f s  -> %8.1f "
        "contracts/s  (best of %d monthly cycles: %s s)" % (
            c['run'], rate(c['n'], c['run']), len(c['runs']),
            ', '.join('%.2f' % r for r in c['runs'])))
    print("    result: %(contracts)d contracts, %(invoices)d invoices, "
        "%(n_errors)d errors" % c['result'])
    v = c['verify']
    print("    check: %d invoices posted (%d draft), %d charges on %d "
        "contracts, %d contracts not billed exactly once, total %s -> %s" % (
            v['posted'], v['draft'], v['charges'], v['charged_contracts'],
            v['not_once'], v['total_amount'],
            'OK' if v['ok'] else 'WRONG'))
    attempts = {l: k for l, _, k in c['breakdown']}.get(
        "bill (attempts = calls)")
    if attempts is not None:
        chunks = -(-c['n'] // c['chunk'])
        print("    chunks: %d, bill() attempts: %d (a TransactionError "
            "restart, e.g. a lock, re-bills the whole chunk)" % (
                chunks, attempts))
    if c['breakdown']:
        print("    where the time goes (exclusive seconds, the first "
            "cycle):")
        for label, seconds, calls in c['breakdown']:
            print("      %-44s %7.2f s %5.1f%%  (%d calls)" % (
                    label, seconds, 100 * seconds / c['first_run'], calls))
    print()
    print("(c) raw COPY (psycopg %s cursor.copy(): the PostgreSQL COPY "
        "protocol, as psycopg2's copy_expert) into the Ciclo database's "
        "real tables, %d contracts; timed: COPY + commit, best of %d "
        "(rows built before, deleted after each)" % (
            c['psycopg'], c['n'], RAW_REPEAT))
    for raw in c['raw']:
        print("    %-5s %8.2f s -> %9.1f contracts/s  %d rows: %s" % (
                raw['name'], raw['seconds'], rate(c['n'], raw['seconds']),
                raw['rows'], ', '.join(
                    '%s×%d' % (t, k) for t, k in raw['tables'])))
    print()
    b_rate = rate(c['n'], c['run'])
    print("Rates (contracts/s):")
    if stock:
        a_rate = rate(stock['n'], stock['total'])
        print("  (a) stock          %9.1f" % a_rate)
    print("  (b) Ciclo          %9.1f" % b_rate)
    for raw in c['raw']:
        print("  (c) raw COPY %-5s %9.1f" % (
                raw['name'], rate(c['n'], raw['seconds'])))
    print("Ratios:")
    if stock:
        ratio = b_rate / a_rate
        print("  (b)/(a)  %7.1f × stock             (target >= 30: %s)" % (
                ratio, 'met' if ratio >= 30 else 'NOT met'))
    for raw in c['raw']:
        ratio = rate(c['n'], raw['seconds']) / b_rate
        print("  (c)/(b)  %7.1f × slower than raw (%s rows; target <= 10: "
            "%s)" % (ratio, raw['name'], 'met' if ratio <= 10 else 'NOT met'))
    if c.get('profile'):
        print()
        print(c['profile'])
    print()
    print("Wall time %.0f s. Databases %s." % (
            wall, 'kept: ' + ', '.join(kept) if kept else 'dropped'))


# ---------------------------------------------------------------------------
# Children (python -O, DB_NAME set)
# ---------------------------------------------------------------------------

def committed(database, func, *args, context=None):
    """Run func in a committed transaction as root with the host's lock
    protocol (TransactionError: start again with the locks taken first).
    Return (result, restarts)."""
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    restarts = 0
    while True:
        try:
            with Transaction().start(
                    database, 0, context=context or {},
                    **extras) as transaction:
                result = func(*args)
                transaction.commit()
                return result, restarts
        except TransactionError as exception:
            exception.fix(extras)
            restarts += 1


def init_database(database, module):
    import logging
    logging.basicConfig(level=logging.WARNING)
    if __debug__:
        log('WARNING: child not running with -O')
    from trytond.tests.test_tryton import DB_NAME, activate_module
    assert DB_NAME == database
    t = time.monotonic()
    activate_module([module])
    log('%s: %s activated in %.1f s' % (database, module,
            time.monotonic() - t))
    from trytond.pool import Pool
    Pool(database).init()


def base_setup(with_plan):
    """Company, chart, fiscal year with invoice sequences, 5% tax, service
    product, monthly recurrence, subscription service (and Ciclo's plan):
    the test suite's set-up, the same data in both databases (stock: the
    service consumes monthly)."""
    from trytond.modules.company.tests import set_company
    from trytond.modules.subscription_core.tests.tools import (
        create_service_setup)
    from trytond.pool import Pool
    company, product, monthly, service = create_service_setup(
        DATE, PRICE, consumption=not with_plan)
    ids = {
        'company': company.id,
        'currency': company.currency.id,
        'unit': product.sale_uom.id,
        'service': service.id,
        'monthly': monthly.id,
        }
    if with_plan:
        Plan = Pool().get('sale.subscription.plan')
        with set_company(company):
            plan, = Plan.create([{
                        'name': 'Fibra 500', 'code': 'F500',
                        'company': company.id,
                        'currency': company.currency.id,
                        'product': product.id, 'service': service.id,
                        'recurrence': monthly.id, 'price': PRICE,
                        }])
        ids['plan'] = plan.id
    return ids


def create_batch(ids, first, count, ciclo):
    "Create count parties and their running subscriptions (one line each)"
    from trytond.pool import Pool
    pool = Pool()
    Party = pool.get('party.party')
    Subscription = pool.get('sale.subscription')
    parties = Party.create([{
                'name': 'Cliente %06d' % (first + i),
                'addresses': [('create', [{
                                'street': 'Rua das Flores, %d' % (first + i),
                                'postal_code': '01310-100',
                                'city': 'São Paulo',
                                }])],
                } for i in range(count)])
    line = {
        'service': ids['service'],
        'quantity': 1,
        'unit': ids['unit'],
        'unit_price': PRICE,
        'start_date': DATE,
        }
    values = []
    for party in parties:
        value = {
            'company': ids['company'],
            'party': party.id,
            'invoice_address': party.addresses[0].id,
            'currency': ids['currency'],
            'invoice_recurrence': ids['monthly'],
            'start_date': DATE,
            'lines': [('create', [dict(line)])],
            }
        if ciclo:
            value['plan'] = ids['plan']
            value['billing_day'] = BILLING_DAY
        else:
            value['lines'][0][1][0]['consumption_recurrence'] = (
                ids['monthly'])
        values.append(value)
    subscriptions = Subscription.create(values)
    Subscription.quote(subscriptions)
    Subscription.run(subscriptions)
    return len(subscriptions)


def create_subscriptions(database, ids, n, ciclo, first=0):
    context = {'company': ids['company']}
    t = time.monotonic()
    done = 0
    while done < n:
        count = min(SETUP_BATCH, n - done)
        committed(database, create_batch, ids, first + done, count, ciclo,
            context=context)
        done += count
        log('%s: %d/%d subscriptions set up (%.0f s)' % (
                database, done, n, time.monotonic() - t))


def phase_stock(database, args):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    init_database(database, 'sale_subscription')
    n = args.n_stock
    t = time.monotonic()
    ids, _ = committed(database, base_setup, False)
    create_subscriptions(database, ids, n, ciclo=False)
    setup = time.monotonic() - t
    context = {'company': ids['company']}

    def consumption():
        Pool().get('sale.subscription.line').generate_consumption(DATE)

    def invoice():
        Pool().get('sale.subscription').generate_invoice(DATE)

    def post():
        Invoice = Pool().get('account.invoice')
        invoices = Invoice.search([
                ('type', '=', 'out'),
                ('state', '=', 'draft'),
                ('company', '=', ids['company']),
                ])
        Invoice.post(invoices)
        return len(invoices)

    timings = {}
    for name, func in [
            ('consumption', consumption),
            ('invoice', invoice),
            ('post', post)]:
        log('stock: %s ...' % name)
        t = time.monotonic()
        _, restarts = committed(database, func, context=context)
        timings[name] = time.monotonic() - t
        timings[name + '_restarts'] = restarts
        log('stock: %s %.2f s' % (name, timings[name]))

    def verify():
        cursor = Transaction().connection.cursor()
        cursor.execute('SELECT count(*) FROM '
            'sale_subscription_line_consumption')
        consumptions, = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM account_invoice "
            "WHERE state = 'posted'")
        posted, = cursor.fetchone()
        return consumptions, posted
    (consumptions, posted), _ = committed(database, verify)
    return {
        'n': n,
        'setup': setup,
        'consumption': timings['consumption'],
        'invoice': timings['invoice'],
        'post': timings['post'],
        'post_restarts': sum(timings[k + '_restarts']
            for k in ['consumption', 'invoice', 'post']),
        'total': timings['consumption'] + timings['invoice'] + timings['post'],
        'consumptions': consumptions,
        'posted': posted,
        }


class Probe:
    """Exclusive wall time of a few methods called during the billing run
    (a time stack: a probed call nested in another is subtracted from its
    parent). Cheap: a few dozen calls per chunk, plus per-contract ones."""

    def __init__(self):
        self.stack = []
        self.totals = {}
        self.patched = []

    def wrap(self, owner, name, label, kind='classmethod'):
        original = owner.__dict__.get(name)
        bound = getattr(owner, name)
        probe = self

        def timed(call, *args, **kwargs):
            probe.stack.append(0.0)
            start = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                children = probe.stack.pop()
                seconds, calls = probe.totals.get(label, (0.0, 0))
                probe.totals[label] = (
                    seconds + elapsed - children, calls + 1)
                if probe.stack:
                    probe.stack[-1] += elapsed

        if kind == 'classmethod':
            # save, update_taxes, ... are dualmethods: called on a record,
            # they get (cls, [record]); keep that.
            from trytond.model.descriptors import dualmethod
            descriptor = (
                dualmethod if isinstance(inspect.getattr_static(owner, name),
                    dualmethod) else classmethod)

            def wrapper(cls, *args, **kwargs):
                return timed(bound, *args, **kwargs)
            setattr(owner, name, descriptor(wrapper))
        elif kind == 'staticmethod':
            def wrapper(*args, **kwargs):
                return timed(bound, *args, **kwargs)
            setattr(owner, name, staticmethod(wrapper))
        else:
            function = bound

            def wrapper(self, *args, **kwargs):
                return timed(function, self, *args, **kwargs)
            setattr(owner, name, wrapper)
        self.patched.append((owner, name, original))

    def restore(self):
        for owner, name, original in reversed(self.patched):
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self.patched = []


def install_probe():
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Contract = pool.get('sale.subscription')
    Invoice = pool.get('account.invoice')
    InvoiceLine = pool.get('account.invoice.line')
    Charge = pool.get('sale.subscription.charge')
    from trytond.modules.subscription_core.billing_writer import (
        BillingWriter)
    probe = Probe()
    probe.wrap(Contract, '_billing_due_ids', "select due contracts")
    probe.wrap(Contract, 'bill', "bill (attempts = calls)")
    probe.wrap(Contract, '_lock_for_billing', "lock chunk (SELECT FOR UPDATE)")
    probe.wrap(Charge, 'billed_keys', "Charge.billed_keys")
    probe.wrap(Contract, '_get_charge',
        "build charge + invoice line (_get_charge)", kind='method')
    probe.wrap(Contract, '_get_billing_invoice',
        "build invoice (_get_billing_invoice)", kind='method')
    probe.wrap(Contract, 'compute_next_billing_date',
        "compute_next_billing_date", kind='method')
    probe.wrap(Contract, '_prefetch_billing_parties',
        "prefetch party values (_prefetch_billing_parties)")
    # Wrapped on the class like the hooks above, so that the class still
    # says what its bills depend on (Contract._bill_copies_allowed).
    probe.wrap(Contract, '_get_bill_signatures',
        "bill signatures (_get_bill_signatures)")
    probe.wrap(Contract, '_get_bill_copies',
        "values of the copies (_get_bill_copies)")
    probe.wrap(BillingWriter, 'prepare',
        "writer: amounts + taxes (prepare)", kind='method')
    probe.wrap(BillingWriter, '_set_numbers',
        "writer: invoice numbers (_set_numbers)", kind='method')
    probe.wrap(BillingWriter, '_get_move',
        "writer: build move (_get_move)", kind='method')
    probe.wrap(BillingWriter, '_rows', "writer: build rows (_rows)",
        kind='method')
    probe.wrap(BillingWriter, '_clone_rows',
        "writer: copy template rows (_clone_rows)", kind='method')
    probe.wrap(BillingWriter, '_copy_bills',
        "writer: copy bills (_copy_bills)", kind='method')
    probe.wrap(BillingWriter, '_copy_numbers',
        "writer: numbers of the copies (_copy_numbers)", kind='method')
    probe.wrap(BillingWriter, '_copy', "writer: COPY (_copy)",
        kind='staticmethod')
    probe.wrap(Invoice, 'save', "Invoice.save")
    probe.wrap(InvoiceLine, 'save', "InvoiceLine.save")
    probe.wrap(Charge, 'save', "Charge.save")
    probe.wrap(Contract, 'save', "Contract.save")
    probe.wrap(Contract, '_save_billed', "save contracts (_save_billed)")
    probe.wrap(Invoice, 'update_taxes', "Invoice.update_taxes")
    probe.wrap(Invoice, 'validate_invoice', "Invoice.validate_invoice")
    probe.wrap(Invoice, '_post', "Invoice._post")
    probe.wrap(Transaction, 'commit', "Transaction.commit", kind='method')
    return probe


def phase_ciclo(database, args):
    import psycopg
    from trytond import __version__ as trytond_version
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    init_database(database, 'subscription_core')
    n = args.n
    t = time.monotonic()
    ids, _ = committed(database, base_setup, True)
    create_subscriptions(database, ids, n, ciclo=True)
    setup = time.monotonic() - t
    context = {'company': ids['company']}

    def configuration():
        Configuration = Pool().get('sale.configuration')
        config = Configuration(1)
        return config.contract_invoice_state, (
            config.contract_billing_chunk or 500)
    (invoice_state, chunk), _ = committed(database, configuration)
    if invoice_state != 'posted':
        raise SystemExit("sale.configuration contract_invoice_state is %r, "
            "not 'posted'" % invoice_state)

    def server_version():
        cursor = Transaction().connection.cursor()
        cursor.execute('SHOW server_version')
        return 'PostgreSQL ' + cursor.fetchone()[0]
    server, _ = committed(database, server_version)

    log('ciclo: billing_run(%s) of %d contracts ...' % (DATE, n))
    if args.no_copies:
        context['subscription_billing_no_copies'] = True
    probe = None
    with Transaction().start(database, 0, context=context):
        Contract = Pool().get('sale.subscription')
        probe = install_probe()
        t = time.monotonic()
        result = Contract.billing_run(DATE)
        run = time.monotonic() - t
        probe.restore()
    log('ciclo: billing_run %.2f s, %s contracts %s invoices %s errors' % (
            run, result['contracts'], result['invoices'],
            len(result['errors'])))
    if result['errors']:
        log('ciclo: first errors: %r' % (result['errors'][:5],))
    breakdown = sorted(
        ((label, seconds, calls)
            for label, (seconds, calls) in probe.totals.items()),
        key=lambda x: -x[1])
    other = run - sum(s for _, s, _ in breakdown)
    breakdown.append(("other (contract loop, _get_bills, rest)", other, 0))

    verify, _ = committed(database, verify_ciclo, ids['company'], n)
    log('ciclo: verify %r' % (verify,))

    # The next monthly cycles of the same contracts, timed alone: the
    # rate is the best cycle, as the raw bound is the best of its COPYs
    # (a run swings by a fifth on a busy machine).
    runs = [run]
    for month in range(1, args.cycles):
        date = DATE.replace(month=DATE.month + month)
        with Transaction().start(database, 0, context=context):
            Contract = Pool().get('sale.subscription')
            t = time.monotonic()
            cycle = Contract.billing_run(date)
            runs.append(time.monotonic() - t)
        if cycle['contracts'] != n or cycle['errors']:
            raise SystemExit('ciclo: the cycle of %s billed %s contracts, '
                'errors %r' % (date, cycle['contracts'],
                    cycle['errors'][:5]))
        log('ciclo: billing_run(%s) %.2f s' % (date, runs[-1]))

    raw = raw_copies(database, ids, n)

    profile = None
    if args.profile:
        profile = profile_chunk(database, ids, n, args.profile_n or chunk)

    return {
        'n': n,
        'setup': setup,
        'run': min(runs),
        'first_run': run,
        'runs': runs,
        'chunk': chunk,
        'invoice_state': invoice_state,
        'result': {
            'contracts': result['contracts'],
            'invoices': result['invoices'],
            'n_errors': len(result['errors']),
            },
        'errors': [list(map(str, e)) for e in result['errors'][:20]],
        'verify': verify,
        'breakdown': breakdown,
        'raw': raw,
        'profile': profile,
        'trytond': trytond_version,
        'psycopg': psycopg.__version__,
        'server': server,
        }


def verify_ciclo(company_id, n):
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT state, count(*), sum(total_amount_cache) "
        "FROM account_invoice WHERE company = %s AND type = 'out' "
        "GROUP BY state", (company_id,))
    states = {s: (c, a) for s, c, a in cursor}
    cursor.execute("SELECT count(*), count(DISTINCT c.contract) "
        "FROM sale_subscription_charge c "
        "JOIN sale_subscription s ON s.id = c.contract "
        "WHERE s.company = %s", (company_id,))
    charges, charged_contracts = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM sale_subscription s "
        "LEFT JOIN (SELECT contract, count(*) AS k "
        "    FROM sale_subscription_charge GROUP BY contract) c "
        "ON c.contract = s.id "
        "WHERE s.company = %s AND coalesce(c.k, 0) <> 1", (company_id,))
    not_once, = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM account_invoice i "
        "JOIN account_move m ON m.id = i.move "
        "WHERE i.company = %s AND i.state = 'posted' "
        "AND m.state = 'posted'", (company_id,))
    posted_moves, = cursor.fetchone()
    posted = states.get('posted', (0, 0))[0]
    total = states.get('posted', (0, Decimal(0)))[1] or Decimal(0)
    expected_total = (PRICE * Decimal('1.05')).quantize(
        Decimal('0.01')) * n
    ok = (posted == n and charges == n and charged_contracts == n
        and not_once == 0 and posted_moves == n
        and sum(c for c, _ in states.values()) == n)
    return {
        'posted': posted,
        'draft': states.get('draft', (0, 0))[0],
        'charges': charges,
        'charged_contracts': charged_contracts,
        'not_once': not_once,
        'posted_moves': posted_moves,
        'total_amount': str(total),
        'expected_total': str(expected_total),
        'ok': ok,
        }


# --- (c) raw COPY ----------------------------------------------------------

# Tables in FK order (a row references only tables before it) with the
# columns that point at rows of earlier tables of the copy.
RAW_FULL = [
    ('account_move', {}),
    ('account_invoice', {'move': 'account_move'}),
    ('account_invoice_line', {'invoice': 'account_invoice'}),
    ('account_invoice_line-account_tax', {'line': 'account_invoice_line'}),
    ('account_invoice_tax', {'invoice': 'account_invoice'}),
    ('account_move_line', {'move': 'account_move'}),
    ('account_tax_line', {'move_line': 'account_move_line'}),
    ('sale_subscription_charge', {
            'invoice': 'account_invoice',
            'invoice_line': 'account_invoice_line'}),
    ]
RAW_MINIMAL = ['account_move', 'account_invoice', 'account_invoice_line']
RAW_REPEAT = 3
# Reference columns ('model,id') that point at rows of the copy.
MODEL_TABLES = {
    'account.invoice': 'account_invoice',
    'account.invoice.line': 'account_invoice_line',
    'account.move': 'account_move',
    'account.move.line': 'account_move_line',
    }


def raw_copies(database, ids, n):
    """COPY n clones of the rows of one billed contract (one posted
    invoice: its lines, taxes, move, move lines, tax lines, charge)."""
    import psycopg
    from psycopg.conninfo import make_conninfo
    from trytond import config
    uri = config.get('database', 'uri')
    conninfo = make_conninfo(uri, dbname=database)
    results = []
    with psycopg.connect(conninfo) as conn:
        templates = raw_templates(conn, ids['company'])
        targets = raw_targets(conn, ids['company'], n)
        conn.commit()
        for name, tables in [
                ('min', [t for t in RAW_FULL if t[0] in RAW_MINIMAL]),
                ('full', RAW_FULL)]:
            results.append(raw_copy(conn, name, tables, templates, targets))
    return results


def raw_templates(conn, company_id):
    cursor = conn.cursor()
    cursor.execute("SELECT id, move FROM account_invoice "
        "WHERE company = %s AND state = 'posted' ORDER BY id LIMIT 1",
        (company_id,))
    invoice_id, move_id = cursor.fetchone()

    def rows(query, *params):
        cursor.execute(query, params)
        columns = [d.name for d in cursor.description]
        return columns, cursor.fetchall()
    templates = {}
    templates['account_move'] = rows(
        'SELECT * FROM account_move WHERE id = %s', move_id)
    templates['account_invoice'] = rows(
        'SELECT * FROM account_invoice WHERE id = %s', invoice_id)
    templates['account_invoice_line'] = rows(
        'SELECT * FROM account_invoice_line WHERE invoice = %s ORDER BY id',
        invoice_id)
    line_ids = [r[0] for r in templates['account_invoice_line'][1]]
    templates['account_invoice_line-account_tax'] = rows(
        'SELECT * FROM "account_invoice_line-account_tax" '
        'WHERE line = ANY(%s) ORDER BY id', line_ids)
    templates['account_invoice_tax'] = rows(
        'SELECT * FROM account_invoice_tax WHERE invoice = %s ORDER BY id',
        invoice_id)
    templates['account_move_line'] = rows(
        'SELECT * FROM account_move_line WHERE move = %s ORDER BY id',
        move_id)
    move_line_ids = [r[0] for r in templates['account_move_line'][1]]
    templates['account_tax_line'] = rows(
        'SELECT * FROM account_tax_line WHERE move_line = ANY(%s) '
        'ORDER BY id', move_line_ids)
    templates['sale_subscription_charge'] = rows(
        'SELECT * FROM sale_subscription_charge WHERE invoice = %s '
        'ORDER BY id', invoice_id)
    return templates


def raw_targets(conn, company_id, n):
    "(contract, party, address, contract line) of the first n contracts"
    cursor = conn.cursor()
    cursor.execute("SELECT s.id, s.party, s.invoice_address, min(l.id) "
        "FROM sale_subscription s "
        "JOIN sale_subscription_line l ON l.subscription = s.id "
        "WHERE s.company = %s GROUP BY s.id ORDER BY s.id LIMIT %s",
        (company_id, n))
    return cursor.fetchall()


def raw_copy(conn, name, tables, templates, targets):
    n = len(targets)
    cursor = conn.cursor()
    # Reserve the ids (not timed).
    new_ids = {}   # table -> {template id: [id for clone i]}
    for table, _ in tables:
        columns, rows = templates[table]
        count = n * len(rows)
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')",
            ('"%s"' % table,))
        sequence, = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", (sequence,))
        first, = cursor.fetchone()
        cursor.execute("SELECT setval(%s, %s)", (sequence, first + count))
        new_ids[table] = {
            row[0]: range(first + k * n, first + (k + 1) * n)
            for k, row in enumerate(rows)}
    conn.commit()

    # Build the rows (not timed).
    data = {}
    for table, fks in tables:
        columns, rows = templates[table]
        index = {c: k for k, c in enumerate(columns)}
        out = []
        for row in rows:
            ids = new_ids[table][row[0]]
            for i, (contract, party, address, line) in enumerate(targets):
                values = list(row)
                values[0] = ids[i]
                for column, target in fks.items():
                    old = values[index[column]]
                    if old is not None and target in new_ids:
                        values[index[column]] = new_ids[target][old][i]
                    elif old is not None:
                        values[index[column]] = None
                if 'party' in index and values[index['party']] is not None:
                    values[index['party']] = party
                if 'invoice_address' in index:
                    values[index['invoice_address']] = address
                for column in ('number', 'post_number', 'reference'):
                    if column in index and values[index[column]]:
                        values[index[column]] = 'RAW%s-%d' % (name, ids[i])
                if 'origin' in index and values[index['origin']]:
                    model, old = values[index['origin']].split(',')
                    target = MODEL_TABLES.get(model)
                    if model == 'sale.subscription.line':
                        values[index['origin']] = '%s,%d' % (model, line)
                    elif target in new_ids and int(old) in new_ids[target]:
                        values[index['origin']] = '%s,%d' % (
                            model, new_ids[target][int(old)][i])
                    else:
                        values[index['origin']] = None
                if table == 'sale_subscription_charge':
                    # A period a year on, billed by no cycle of (b):
                    # (line, kind, period_start) is unique.
                    values[index['contract']] = contract
                    values[index['line']] = line
                    start = values[index['period_start']]
                    values[index['period_start']] = start.replace(
                        year=start.year + 1)
                    values[index['period_end']] = values[
                        index['period_end']].replace(
                        year=values[index['period_end']].year + 1)
                out.append(tuple(values))
        data[table] = (columns, out)

    log('raw %s: COPY %d rows ...' % (
            name, sum(len(r) for _, r in data.values())))
    # The best of RAW_REPEAT: a lower bound, and a single COPY swings by
    # half from one run to the next (the server is still writing out
    # the billing run's rows).
    times = []
    for _ in range(RAW_REPEAT):
        start = time.perf_counter()
        for table, _ in tables:
            columns, rows = data[table]
            with cursor.copy('COPY "%s" (%s) FROM STDIN' % (
                        table, ', '.join('"%s"' % c for c in columns))
                    ) as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        times.append(time.perf_counter() - start)

        # Delete the copies (not timed).
        for table, _ in reversed(tables):
            for ids in new_ids[table].values():
                cursor.execute(
                    'DELETE FROM "%s" WHERE id >= %%s AND id < %%s'
                    % table, (ids.start, ids.stop))
        conn.commit()
    seconds = min(times)
    log('raw %s: %s s, best %.2f s' % (
            name, ', '.join('%.2f' % t for t in times), seconds))
    return {
        'name': name,
        'seconds': seconds,
        'rows': sum(len(r) for _, r in data.values()),
        'tables': [(t, len(templates[t][1])) for t, _ in tables],
        }


# --- profile ---------------------------------------------------------------

def profile_chunk(database, ids, n, chunk):
    """Set up one more chunk of contracts (due on DATE, the others are
    billed) and bill it under cProfile."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    log('profile: setting up %d more contracts' % chunk)
    create_subscriptions(database, ids, chunk, ciclo=True, first=n)
    profiler = cProfile.Profile()
    with Transaction().start(
            database, 0, context={'company': ids['company']}):
        Contract = Pool().get('sale.subscription')
        t = time.monotonic()
        profiler.enable()
        result = Contract.billing_run(DATE)
        profiler.disable()
        seconds = time.monotonic() - t
    if os.environ.get('CICLO_BENCH_PSTATS'):
        # For a closer look (pstats / snakeviz) than the tables below.
        profiler.dump_stats(os.environ['CICLO_BENCH_PSTATS'])
    out = io.StringIO()
    out.write('Profile of one chunk: billing_run of %d more contracts '
        '(%d invoices, %d errors) under cProfile: %.2f s (%.1f contracts/s '
        'with the profiler on)\n' % (
            result['contracts'], result['invoices'], len(result['errors']),
            seconds, result['contracts'] / seconds if seconds else 0))
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs()
    out.write('\nTop 25 by cumulative time:\n')
    stats.sort_stats('cumulative').print_stats(25)
    out.write('Top 25 by own (total) time:\n')
    stats.sort_stats('tottime').print_stats(25)
    text = out.getvalue()
    # Drop pstats' blank/header noise lines.
    return '\n'.join(l.rstrip() for l in text.splitlines()
        if l.strip() and not l.startswith('   Ordered by'))


if __name__ == '__main__':
    main()
