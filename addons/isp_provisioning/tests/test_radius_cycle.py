# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The whole collection cycle of an internet contract against a real
FreeRADIUS (tests/radius.py) on the test PostgreSQL: what the NAS gets
(Access-Accept or Access-Reject, Mikrotik-Rate-Limit) follows the
contract through billed → overdue → notice → reduced → blocked → trust
unlock → blocked again → paid → active. Skipped off PostgreSQL; an error
when FreeRADIUS cannot be started."""
import datetime
import unittest
from decimal import Decimal

from trytond import config
from trytond.modules.company.tests import set_company
from trytond.modules.subscription_core.tests.tools import (
    create_billing_setup, create_contracts)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from . import radius

D = datetime.date


class RadiusCycleTestCase(unittest.TestCase):
    "Access cycle against a real FreeRADIUS"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('isp_provisioning')
        # After activation: off PostgreSQL this skips the class.
        cls.server = radius.ensure()
        cls._email_from = config.get('email', 'from')
        # The notice's sender; no mail leaves: the test rolls back.
        config.set('email', 'from', 'cobranca@ciclo.example')

    @classmethod
    def tearDownClass(cls):
        config.set('email', 'from', cls._email_from or '')
        super().tearDownClass()

    def sync(self):
        "Run the provisioning tasks the queue would run after commit"
        pool = Pool()
        Request = pool.get('isp.provisioning.request')
        requests = Request.search([('state', '=', 'pending')])
        Request.process(requests)
        for request in requests:
            self.assertEqual(request.state, 'done', request.last_error)
        return requests

    def check(self, access, accepted, rate=None):
        "The NAS asking for the access gets accepted with rate"
        got, reply = radius.authenticate(access.login, 's3nha')
        self.assertEqual(got, accepted, access.state)
        self.assertEqual(reply.get('Mikrotik-Rate-Limit'), rate, reply)

    @with_transaction()
    def test_cycle(self):
        "billed, overdue, notice, reduced, blocked, trust unlock, " \
            "blocked again, paid, active"
        pool = Pool()
        Backend = pool.get('isp.provisioning.backend')
        Access = pool.get('isp.access')
        Contract = pool.get('sale.subscription')
        Invoice = pool.get('account.invoice')
        Journal = pool.get('account.journal')
        Account = pool.get('account.account')
        PaymentMethod = pool.get('account.invoice.payment.method')
        MoveLine = pool.get('account.move.line')
        Notice = pool.get('isp.access.notice')
        ContactMechanism = pool.get('party.contact_mechanism')

        company, plan = create_billing_setup(D(2025, 1, 1), Decimal('100'))
        with set_company(company):
            backend = Backend(
                name="RADIUS", company=company, kind='freeradius',
                radius_uri=self.server.db_uri)
            backend.save()
            plan.connectivity = True
            plan.download_kbps, plan.upload_kbps = 500000, 250000
            plan.reduced_download_kbps, plan.reduced_upload_kbps = 2000, 1000
            plan.provisioning_backend = backend
            plan.save()

            contract, = create_contracts(
                company, plan, 1, D(2025, 3, 10), billing_day=10)
            ContactMechanism.create([{
                        'party': contract.party.id, 'type': 'email',
                        'value': 'cliente@example.com'}])
            access, = contract.accesses
            self.assertEqual(access.backend, backend)
            access.login = radius.unique_login('ciclo')
            access.password = 's3nha'
            access.save()
            self.sync()
            self.check(access, True, '250M/500M')

            # Billed: the March invoice falls due on the 10th.
            with Transaction().set_context(subscription_billing=True):
                invoices = Contract.bill([contract], D(2025, 3, 10))
            invoice, = Invoice.browse([i.id for i in invoices])
            self.assertEqual(invoice.state, 'posted')
            Access.update_accesses(D(2025, 3, 10))
            self.assertEqual(self.sync(), [])
            self.check(access, True, '250M/500M')

            # Overdue the day after: the notice is sent, access unchanged.
            Access.update_accesses(D(2025, 3, 11))
            notice, = Notice.search([('contract', '=', contract.id)])
            self.assertTrue(notice.sent)
            self.assertEqual(access.state, 'active')
            self.check(access, True, '250M/500M')

            # Not before the notice + 15 days.
            Access.update_accesses(D(2025, 3, 25))
            self.assertEqual(access.state, 'active')

            # Reduced.
            Access.update_accesses(D(2025, 3, 26))
            access = Access(access.id)
            self.assertEqual(access.state, 'reduced')
            self.sync()
            self.check(access, True, '1M/2M')

            # Blocked.
            Access.update_accesses(D(2025, 4, 10))
            access = Access(access.id)
            self.assertEqual(access.state, 'blocked')
            self.sync()
            self.check(access, False)

            # Trust unlock for 3 days: full speed.
            Access.release([access], 'trust', D(2025, 4, 11))
            access = Access(access.id)
            self.assertEqual(access.state, 'active')
            self.sync()
            self.check(access, True, '250M/500M')

            # Not paid: blocked again after the unlock.
            Access.update_accesses(D(2025, 4, 13))
            self.assertEqual(Access(access.id).state, 'active')
            Access.update_accesses(D(2025, 4, 14))
            access = Access(access.id)
            self.assertEqual(access.state, 'blocked')
            self.sync()
            self.check(access, False)

            # Paid on April 20th: active the same day, full speed.
            journal, = Journal.search([('type', '=', 'cash')], limit=1)
            cash, = Account.search([
                    ('company', '=', company.id),
                    ('code', '=', '1.1.1'),
                    ])
            method = PaymentMethod(
                name="Cash", company=company, journal=journal,
                credit_account=cash, debit_account=cash)
            method.save()
            lines = invoice.pay_invoice(
                invoice.amount_to_pay, method, D(2025, 4, 20))
            MoveLine.reconcile(list(invoice.lines_to_pay) + lines)
            # The reconciliation queues the invoice's process; the queue
            # runs it after commit, which this test never does.
            Invoice.process([Invoice(invoice.id)])
            invoice = Invoice(invoice.id)
            self.assertEqual(invoice.state, 'paid')
            access = Access(access.id)
            self.assertEqual(access.state, 'active')
            self.sync()
            self.check(access, True, '250M/500M')

            # Cancelled with the contract: rejected, rows removed.
            Access.cancel([access])
            self.sync()
            self.check(access, False)
