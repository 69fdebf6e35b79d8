# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The billing run charges each period exactly once, on PostgreSQL, with
real processes: two runs started together, and a run killed mid-way
(SIGKILL) then completed by the next one."""
import datetime
import json
import os
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

from trytond import backend
from trytond.modules.subscription_core.tests.tools import (
    create_billing_setup, create_contracts, set_billing_chunk)
from trytond.tests.test_tryton import DB_NAME, activate_module
from trytond.transaction import Transaction, TransactionError

WORKER = Path(__file__).with_name('billing_worker.py')
START = datetime.date(2026, 3, 10)


def start_worker(company_id, date=START):
    return subprocess.Popen(
        [sys.executable, str(WORKER), DB_NAME, str(company_id),
            date.isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    if process.returncode:
        raise AssertionError("billing worker failed:\n%s" % err)
    return json.loads(out.strip().splitlines()[-1])


@unittest.skipIf(
    backend.name != 'postgresql', "needs PostgreSQL (concurrent processes)")
class BillingExactlyOnceTestCase(unittest.TestCase):
    "Exactly-once billing under concurrency and crashes"

    @classmethod
    def setUpClass(cls):
        activate_module('subscription_core')

    def setup_company(self, n, chunk):
        "Commit a company with n contracts due on START; return its id"
        def setup():
            company, plan = create_billing_setup(START)
            create_contracts(company, plan, n, START)
            set_billing_chunk(chunk)
            return company.id
        return committed(setup)

    def counts(self, company_id):
        return committed(billing_counts_for, company_id)

    def test_concurrent_runs(self):
        "Two runs started together charge every contract once"
        n = 30
        company_id = self.setup_company(n, chunk=3)
        first, second = start_worker(company_id), start_worker(company_id)
        results = [finish(first), finish(second)]

        self.assertEqual([r['errors'] for r in results], [[], []])
        self.assertEqual(sum(r['contracts'] for r in results), n)
        self.assertEqual(sum(r['invoices'] for r in results), n)
        charges, distinct, states = self.counts(company_id)
        self.assertEqual((charges, distinct), (n, n))
        self.assertEqual(states, {'posted': n})

        again = finish(start_worker(company_id))
        self.assertEqual((again['contracts'], again['invoices']), (0, 0))
        self.assertEqual(self.counts(company_id)[:2], (n, n))

    def test_killed_run_is_completed(self):
        "A run killed mid-way is completed with exactly the missing charges"
        n, chunk = 40, 2
        company_id = self.setup_company(n, chunk=chunk)
        process = start_worker(company_id)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            charges = self.counts(company_id)[0]
            if charges >= 2 * chunk:
                break
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        self.assertEqual(process.returncode, -signal.SIGKILL)

        charges, distinct, states = self.counts(company_id)
        self.assertLess(charges, n, "the run finished before the kill")
        # Chunks are atomic: no charge without its posted invoice. A new
        # process first bills one contract alone (it learns the locks on
        # it), then whole chunks.
        self.assertEqual((charges - 1) % chunk, 0)
        self.assertEqual(distinct, charges)
        self.assertEqual(states, {'posted': charges} if charges else {})

        result = finish(start_worker(company_id))
        self.assertEqual(result['errors'], [])
        self.assertEqual(result['contracts'], n - charges)
        charges, distinct, states = self.counts(company_id)
        self.assertEqual((charges, distinct), (n, n))
        self.assertEqual(states, {'posted': n})


def committed(func, *args):
    """Run func in a committed transaction, with the host's lock protocol
    (locks are taken when the transaction starts, so start again)."""
    extras = {}
    while True:
        try:
            with Transaction().start(DB_NAME, 0, **extras) as transaction:
                result = func(*args)
                transaction.commit()
                return result
        except TransactionError as exception:
            exception.fix(extras)


def billing_counts_for(company_id):
    "Return (charges, distinct keys, {invoice state: count}) of a company"
    from trytond.pool import Pool
    pool = Pool()
    Charge = pool.get('sale.subscription.charge')
    Contract = pool.get('sale.subscription')
    Invoice = pool.get('account.invoice')
    cursor = Transaction().connection.cursor()
    charge = Charge.__table__()
    contract = Contract.__table__()
    cursor.execute(*charge.join(
            contract, condition=charge.contract == contract.id).select(
            charge.line, charge.kind, charge.period_start,
            where=contract.company == company_id))
    rows = cursor.fetchall()
    invoice = Invoice.__table__()
    cursor.execute(*invoice.select(
            invoice.state, where=(invoice.company == company_id)))
    states = {}
    for state, in cursor:
        states[state] = states.get(state, 0) + 1
    return len(rows), len(set(rows)), states
