# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import set_company
from trytond.modules.isp_provisioning.exceptions import (
    AccessBlockError, PolicyError, ReleaseError)
from trytond.modules.subscription_core.tests.tools import (
    create_billing_setup, create_contracts)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


class IspProvisioningTestCase(ModuleTestCase):
    "Test isp_provisioning module"
    module = 'isp_provisioning'

    def create_access(self, backend=True):
        "Return an access of a new connectivity contract"
        pool = Pool()
        Backend = pool.get('isp.provisioning.backend')
        company, plan = create_billing_setup(
            datetime.date(2025, 1, 1), Decimal('100'))
        with set_company(company):
            plan.connectivity = True
            plan.download_kbps, plan.upload_kbps = 300000, 150000
            plan.reduced_download_kbps, plan.reduced_upload_kbps = 1000, 512
            if backend:
                plan.provisioning_backend = Backend(
                    name="Webhook", company=company, kind='webhook',
                    webhook_url='https://nas.example.com/hook',
                    webhook_secret='0123456789abcdef')
                plan.provisioning_backend.save()
            plan.save()
            contract, = create_contracts(
                company, plan, 1, datetime.date(2025, 3, 10))
        access, = contract.accesses
        return company, access

    @with_transaction()
    def test_provisioning_payload(self):
        "The payload has exactly what the backends are promised"
        company, access = self.create_access()
        with set_company(company):
            payload = access.get_provisioning_payload()
        self.assertEqual(set(payload), {
                'login', 'password', 'state', 'download_kbps',
                'upload_kbps', 'reduced_download_kbps', 'reduced_upload_kbps',
                'contract', 'party', 'changed_at'})
        self.assertEqual(payload['login'], access.contract.number)
        self.assertEqual(payload['state'], 'active')
        self.assertEqual(
            (payload['download_kbps'], payload['reduced_upload_kbps']),
            (300000, 512))
        self.assertEqual(payload['contract'], access.contract.number)
        self.assertEqual(payload['party'], access.party.name)
        datetime.datetime.fromisoformat(payload['changed_at'])

    @with_transaction()
    def test_state_change_pushed_and_logged(self):
        "Each state change is queued to the backend and logged"
        pool = Pool()
        Access = pool.get('isp.access')
        Request = pool.get('isp.provisioning.request')
        Log = pool.get('isp.access.log')
        company, access = self.create_access()
        with set_company(company):
            self.assertEqual(Request.search_count([]), 1)
            Access.cancel([access], date=datetime.date(2025, 4, 1))
            self.assertEqual(access.state, 'cancelled')
            request, = Request.search([('state', '=', 'pending')])
            self.assertEqual(request.access_state, 'cancelled')
            log, = access.logs
            self.assertEqual(
                (log.from_state, log.to_state, log.date, log.user.id),
                ('active', 'cancelled', datetime.date(2025, 4, 1),
                    Transaction().user))
            with self.assertRaises(AccessError):
                Log.write([log], {'reason': "changed"})
            with self.assertRaises(AccessError):
                Log.delete([log])

    @with_transaction()
    def test_no_block_without_notice(self):
        "No access is blocked, even by hand, without a sent notice"
        pool = Pool()
        Access = pool.get('isp.access')
        company, access = self.create_access(backend=False)
        with set_company(company):
            with self.assertRaisesRegex(
                    AccessBlockError, 'no overdue invoice'):
                Access.block([access], date=datetime.date(2025, 6, 1))
            self.assertEqual(access.state, 'active')
            with self.assertRaisesRegex(ReleaseError, 'nothing to release'):
                Access.release([access], 'trust', datetime.date(2025, 6, 1))

    @with_transaction()
    def test_policy_legal_floors(self):
        "A policy cannot go below the RGC 765/2023 floors"
        pool = Pool()
        Policy = pool.get('isp.access.policy')
        for name, value, message in [
                ('notice_period', 14, 'arts. 70 and 71'),
                ('suspension_period', 59, 'arts. 73, 75 and 77'),
                ('restore_days', 2, 'art. 78'),
                ('suspension_days_of_month', '15, 32', '"32"'),
                ]:
            with self.subTest(name=name):
                with self.assertRaisesRegex(PolicyError, message):
                    # Each value alone: a failed write stays in the
                    # test's transaction.
                    Policy.create([{'name': name, name: value}])


del ModuleTestCase
