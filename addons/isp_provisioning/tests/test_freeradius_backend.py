# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The FreeRADIUS backend against a real FreeRADIUS (scripts/radius.sh) on
the test PostgreSQL: what a NAS asks (Access-Request) and gets (Accept or
Reject, Mikrotik-Rate-Limit) follows the access state. Skipped off
PostgreSQL; an error when FreeRADIUS cannot be started (see radius.py)."""
import unittest

import psycopg

from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction

from . import radius
from .test_backend import AccessStub, payload, stubbed_origins


class FreeRadiusBackendTestCase(unittest.TestCase):
    "FreeRADIUS backend with a real server"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # First: off PostgreSQL this skips the class without activating.
        cls.server = radius.ensure()
        activate_module('isp_provisioning')

    def backend(self, **values):
        pool = Pool()
        Backend = pool.get('isp.provisioning.backend')
        company = create_company()
        values.setdefault('radius_uri', self.server.db_uri)
        backend = Backend(
            name="RADIUS", company=company, kind='freeradius', **values)
        backend.save()
        return backend

    def radius_rows(self, login):
        with psycopg.connect(self.server.db_uri) as conn:
            return [conn.execute(
                    'SELECT count(*) FROM %s WHERE username = %%s' % t,
                    (login,)).fetchone()[0]
                for t in ('radcheck', 'radreply', 'radusergroup')]

    @with_transaction()
    def test_states(self):
        "Accept, speed and reject follow the state"
        backend = self.backend()
        login = radius.unique_login()
        auth = radius.authenticate

        def apply(**values):
            return backend.apply(payload(login=login, **values))

        self.assertEqual(auth(login, 's3nha'), (False, {}))

        self.assertTrue(apply(state='active'))
        self.assertEqual(auth(login, 's3nha'),
            (True, {'Mikrotik-Rate-Limit': '150M/300M'}))
        self.assertEqual(auth(login, 'wrong'), (False, {}))
        # The same change again changes nothing.
        self.assertFalse(apply(state='active'))

        self.assertTrue(apply(state='reduced'))
        self.assertEqual(auth(login, 's3nha'),
            (True, {'Mikrotik-Rate-Limit': '512k/1M'}))

        self.assertTrue(apply(state='blocked'))
        self.assertEqual(auth(login, 's3nha'), (False, {}))

        # Trust unlock: active again, then blocked again, then paid.
        self.assertTrue(apply(state='active'))
        self.assertEqual(auth(login, 's3nha')[0], True)
        self.assertTrue(apply(state='blocked'))
        self.assertEqual(auth(login, 's3nha')[0], False)
        self.assertTrue(apply(state='active', password='n0va'))
        self.assertEqual(auth(login, 's3nha'), (False, {}))
        self.assertEqual(auth(login, 'n0va'),
            (True, {'Mikrotik-Rate-Limit': '150M/300M'}))

        self.assertTrue(apply(state='cancelled'))
        self.assertEqual(auth(login, 'n0va'), (False, {}))
        self.assertEqual(self.radius_rows(login), [0, 0, 0])

    @with_transaction()
    def test_blocked_pool(self):
        "Blocked logins accepted in the blocked pool"
        group = radius.unique_login('bloqueados')[:60]
        backend = self.backend(
            radius_blocked_mode='group', radius_group_blocked=group)
        radius.set_group_reply(group, 'Framed-Pool', 'bloqueio')
        login = radius.unique_login()

        backend.apply(payload(login=login, state='blocked'))
        self.assertEqual(radius.authenticate(login, 's3nha'),
            (True, {'Framed-Pool': 'bloqueio'}))
        backend.apply(payload(login=login, state='active'))
        self.assertEqual(radius.authenticate(login, 's3nha'),
            (True, {'Mikrotik-Rate-Limit': '150M/300M'}))
        backend.apply(payload(login=login, state='cancelled'))

    @with_transaction()
    def test_database_down(self):
        "Changes wait while the FreeRADIUS database is down, then apply"
        pool = Pool()
        Request = pool.get('isp.provisioning.request')
        # Nothing listens on port 1: the database is down.
        down_uri = 'postgresql://postgres@127.0.0.1:1/ciclo_radius'
        backend = self.backend(radius_uri=down_uri, timeout=2)
        login = radius.unique_login()
        access = AccessStub(backend, payload(login=login, state='active'))

        with stubbed_origins(), set_company(backend.company):
            request, = backend.push([access])
            Request.process([request])
            self.assertEqual(request.state, 'pending')
            self.assertEqual(request.attempts, 1)
            self.assertIn('127.0.0.1', request.last_error)
            self.assertEqual(radius.authenticate(login, 's3nha')[0], False)

            # The database is back (the backend fixed): the retry applies.
            backend.radius_uri = self.server.db_uri
            backend.save()
            Request.process([request])
            self.assertEqual(request.state, 'done')
            self.assertEqual(radius.authenticate(login, 's3nha'),
                (True, {'Mikrotik-Rate-Limit': '150M/300M'}))

        backend.apply(payload(login=login, state='cancelled'))
