# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Provisioning backends and requests: the signed webhook against a local
receiver that verifies it, the queue tasks, retries while a backend is
down, and the backend settings' validation. The FreeRADIUS backend against
a real server is in test_freeradius_backend.py."""
import contextlib
import datetime
import json
import unittest
import urllib.request
from unittest import mock

from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.isp_provisioning import webhook
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

SECRET = 'a-shared-secret-of-32-characters'


def payload(**values):
    "A payload as isp.access gives it (request.py documents the contract)"
    base = {
        'login': 'joao.silva',
        'password': 's3nha',
        'state': 'active',
        'download_kbps': 300000,
        'upload_kbps': 150000,
        'reduced_download_kbps': 1000,
        'reduced_upload_kbps': 512,
        'contract': 'C-0042',
        'party': 'João da Silva',
        'changed_at': '2026-03-16T08:00:00',
        }
    base.update(values)
    return base


_stubs = {}


class AccessStub:
    """Stands for an isp.access (whose creation needs a whole contract):
    a backend and a payload that the test changes. Requests point to it
    through a party record (see stubbed_origins), as a Reference must point
    to an existing record."""

    def __init__(self, backend, payload):
        Party = Pool().get('party.party')
        party = Party(name=payload['party'])
        party.save()
        self.id = party.id
        self.backend = backend
        self.payload = payload
        _stubs[self.id] = self

    def __str__(self):
        return 'party.party,%s' % self.id

    def get_provisioning_payload(self):
        return dict(self.payload)


@contextlib.contextmanager
def stubbed_origins():
    "Requests may point to AccessStubs and read their payload"
    Request = Pool().get('isp.provisioning.request')
    get_payload = Request.get_payload
    _get_origin = Request._get_origin.__func__

    def stub_get_payload(self):
        if not self.removal and self.origin and self.origin.id in _stubs:
            return _stubs[self.origin.id].get_provisioning_payload()
        return get_payload(self)

    def stub_get_origin(cls):
        return _get_origin(cls) + ['party.party']
    with mock.patch.object(Request, 'get_payload', stub_get_payload), \
            mock.patch.object(
                Request, '_get_origin', classmethod(stub_get_origin)):
        yield


class WebhookTestCase(unittest.TestCase):
    "Signed webhook client and receiver (no database)"

    def test_good_signature_accepted(self):
        with webhook.Receiver(SECRET) as receiver:
            status = webhook.post(
                receiver.url, SECRET, payload(), 'key-1', timeout=5)
            self.assertEqual(status, 204)
            self.assertEqual(receiver.received, [('key-1', payload())])
            self.assertEqual(receiver.rejected, [])

    def test_same_key_applied_once(self):
        with webhook.Receiver(SECRET) as receiver:
            for _ in range(2):
                webhook.post(receiver.url, SECRET, payload(), 'key-1')
            self.assertEqual(len(receiver.received), 1)

    def send(self, url, body, headers):
        request = urllib.request.Request(
            url, data=body, method='POST', headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def test_tampered_body_rejected(self):
        body = webhook.encode(payload())
        headers = webhook.headers(SECRET, body, 'key-1')
        tampered = body.replace(b'"blocked"', b'"active"').replace(
            b'"active"', b'"blocked"')
        self.assertNotEqual(tampered, body)
        with webhook.Receiver(SECRET) as receiver:
            self.assertEqual(self.send(receiver.url, tampered, headers), 401)
            self.assertEqual(receiver.received, [])
            self.assertEqual(receiver.rejected, ['bad signature'])
            # The untouched request passes.
            self.assertEqual(self.send(receiver.url, body, headers), 204)

    def test_wrong_secret_rejected(self):
        with webhook.Receiver(SECRET) as receiver:
            with self.assertRaises(webhook.WebhookError) as cm:
                webhook.post(receiver.url, 'another secret', payload(), 'k')
            self.assertEqual(cm.exception.status, 401)
            self.assertEqual(receiver.received, [])

    def test_replay_rejected(self):
        "An old request (a replay) is refused even with a valid signature"
        body = webhook.encode(payload())
        old = webhook.headers(SECRET, body, 'key-1', timestamp=1700000000)
        with webhook.Receiver(SECRET) as receiver:
            self.assertEqual(self.send(receiver.url, body, old), 401)
            self.assertEqual(
                receiver.rejected, ['request too old or from the future'])

    def test_verify(self):
        body = webhook.encode(payload())
        headers = webhook.headers(SECRET, body, 'k', timestamp=1000)
        self.assertEqual(
            webhook.verify(SECRET, headers, body, now=1100), payload())
        self.assertEqual(json.loads(body), payload())
        for name in [webhook.SIGNATURE_HEADER, webhook.TIMESTAMP_HEADER,
                webhook.IDEMPOTENCY_HEADER]:
            with self.subTest(missing=name):
                partial = {k: v for k, v in headers.items() if k != name}
                with self.assertRaises(webhook.SignatureError):
                    webhook.verify(SECRET, partial, body, now=1100)

    def test_receiver_down(self):
        receiver = webhook.Receiver(SECRET).start()
        url = receiver.url
        receiver.stop()
        with self.assertRaises(webhook.WebhookError) as cm:
            webhook.post(url, SECRET, payload(), 'k', timeout=2)
        self.assertIsNone(cm.exception.status)


class BackendTestCase(unittest.TestCase):
    "Provisioning backends and requests"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('isp_provisioning')

    def webhook_backend(self, url, **values):
        Backend = Pool().get('isp.provisioning.backend')
        backend = Backend(
            name="Controller", company=create_company(), kind='webhook',
            webhook_url=url, webhook_secret=SECRET, timeout=2, **values)
        backend.save()
        return backend

    @with_transaction()
    def test_push_enqueues_one_task_per_record(self):
        "push creates a pending request and a queue task per record"
        pool = Pool()
        Queue = pool.get('ir.queue')
        backend = self.webhook_backend('http://127.0.0.1:1/')
        accesses = [
            AccessStub(backend, payload(login='a%s' % i)) for i in range(3)]
        transaction = Transaction()
        transaction.tasks.clear()

        with stubbed_origins(), set_company(backend.company):
            requests = backend.push(accesses)

        self.assertEqual([r.state for r in requests], ['pending'] * 3)
        self.assertEqual([r.login for r in requests], ['a0', 'a1', 'a2'])
        # The password stays on the access, not in the request history.
        self.assertNotIn('password', requests[0].payload)
        tasks = Queue.search([('name', '=', 'isp_provisioning')])
        self.assertEqual(len(tasks), 3)
        self.assertEqual(
            sorted(list(t.data['instances']) for t in tasks),
            sorted([r.id] for r in requests))
        self.assertEqual(
            {t.data['method'] for t in tasks}, {'process'})
        # Without a worker the tasks run after the commit.
        self.assertEqual(len(transaction.tasks), 3)
        transaction.tasks.clear()

    @with_transaction()
    def test_webhook_backend_down_then_up(self):
        "A down receiver delays the change; nothing is lost"
        pool = Pool()
        Request = pool.get('isp.provisioning.request')
        Queue = pool.get('ir.queue')
        # Nothing listens on the receiver's port until it is started.
        down = webhook.Receiver(SECRET)
        url, port = down.url, down.port
        down.stop()
        backend = self.webhook_backend(url)
        access = AccessStub(backend, payload(state='blocked'))
        now = datetime.datetime(2026, 3, 16, 8, 0)
        Transaction().tasks.clear()

        with stubbed_origins(), set_company(backend.company):
            request, = backend.push([access])
            task, = Queue.search([('name', '=', 'isp_provisioning')])

            # The receiver is not running: the task fails softly.
            task.run()
            request = Request(request.id)
            self.assertEqual(request.state, 'pending')
            self.assertEqual(request.attempts, 1)
            self.assertTrue(request.last_error)

            # Under maintenance (503): still pending, the delay doubles.
            receiver = webhook.Receiver(SECRET, port=port).start()
            try:
                receiver.status = 503
                Request.process([request], now=now)
                self.assertEqual(request.state, 'pending')
                self.assertEqual(request.attempts, 2)
                self.assertIn('503', request.last_error)
                self.assertEqual(
                    request.next_attempt_at,
                    now + datetime.timedelta(minutes=2))

                # The scheduled action re-queues it only when due.
                self.assertEqual(Request.process_due(
                        now=now + datetime.timedelta(minutes=1)), [])
                receiver.status = None
                requeued = Request.process_due(
                    now=now + datetime.timedelta(minutes=2))
                self.assertEqual(requeued, [request])
                # The payment restored the access meanwhile: the retry
                # sends the current state, not the stale one.
                access.payload['state'] = 'active'
                Request.process(requeued)
                self.assertEqual(request.state, 'done')
                self.assertIsNone(request.last_error)
                self.assertEqual(len(receiver.received), 1)
                (key, sent), = receiver.received
                self.assertEqual(sent, payload(state='active'))
                self.assertEqual(key, backend.get_idempotency_key(sent))
                # Done requests are left alone.
                Request.process([request])
                self.assertEqual(request.attempts, 3)
            finally:
                receiver.stop()
        Transaction().tasks.clear()

    @with_transaction()
    def test_newer_change_supersedes(self):
        "A pending change is superseded by a newer one of the same access"
        Request = Pool().get('isp.provisioning.request')
        backend = self.webhook_backend('http://127.0.0.1:1/')
        access = AccessStub(backend, payload())
        other = AccessStub(backend, payload(login='other'))
        with stubbed_origins(), set_company(backend.company):
            first, = backend.push([access])
            kept, = backend.push([other])
            second, = backend.push([access])
        first, kept = Request.browse([first, kept])
        self.assertEqual(first.state, 'superseded')
        self.assertEqual(kept.state, 'pending')
        self.assertEqual(second.state, 'pending')
        Transaction().tasks.clear()

    @with_transaction()
    def test_moved_login_removed_from_old_place(self):
        "A new login or backend removes the old login where it was"
        pool = Pool()
        Request = pool.get('isp.provisioning.request')
        receiver_old = webhook.Receiver(SECRET)
        receiver_new = webhook.Receiver(SECRET)
        old = self.webhook_backend(receiver_old.url)
        new = self.webhook_backend(receiver_new.url)
        access = AccessStub(old, payload(login='maria'))
        with stubbed_origins(), receiver_old, receiver_new, \
                set_company(old.company):
            Request.process(old.push([access]))
            access.payload['login'] = 'maria.silva'
            removal, request = old.push([access])
            self.assertEqual(
                (removal.backend, removal.login, removal.removal),
                (old, 'maria', True))
            self.assertEqual((request.login, request.removal),
                ('maria.silva', False))
            Request.process([removal, request])
            self.assertEqual(
                (removal.state, removal.last_error, request.state),
                ('done', None, 'done'))

            access.backend = new
            removal, request = new.push([access])
            self.assertEqual(
                (removal.backend, removal.login), (old, 'maria.silva'))
            self.assertEqual((request.backend, request.login),
                (new, 'maria.silva'))
            Request.process([removal, request])
            # A change of state alone removes nothing.
            access.payload['state'] = 'blocked'
            request, = new.push([access])

        def sent(receiver):
            return [(p['login'], p['state']) for _, p in receiver.received]
        self.assertEqual(sent(receiver_old), [
                ('maria', 'active'),
                ('maria', 'cancelled'), ('maria.silva', 'active'),
                ('maria.silva', 'cancelled'),
                ])
        self.assertEqual(sent(receiver_new), [('maria.silva', 'active')])
        Transaction().tasks.clear()

    @with_transaction()
    def test_bad_payload_fails_then_retry(self):
        "A payload no backend can take fails; the Retry button re-queues it"
        pool = Pool()
        Request = pool.get('isp.provisioning.request')
        Backend = pool.get('isp.provisioning.backend')
        backend = Backend(
            name="RADIUS", company=create_company(), kind='freeradius',
            radius_uri='postgresql://postgres@127.0.0.1:1/radius')
        backend.save()
        access = AccessStub(backend, payload(login="x' OR '1'='1"))
        with stubbed_origins(), set_company(backend.company):
            request, = backend.push([access])
            Request.process([request])
            self.assertEqual(request.state, 'failed')
            self.assertIn('login', request.last_error)
            Request.retry([request])
            self.assertEqual(request.state, 'pending')
        Transaction().tasks.clear()

    @with_transaction()
    def test_backend_validation(self):
        "Bad backend settings are refused with the field named"
        pool = Pool()
        Backend = pool.get('isp.provisioning.backend')
        company = create_company()
        for values, text in [
                ({'kind': 'freeradius', 'radius_uri': 'mysql://x/radius'},
                    'PostgreSQL URI'),
                ({'kind': 'freeradius', 'radius_uri': 'postgresql://x/r',
                        'radius_group_blocked': "bloq'ueados"},
                    'Blocked Group'),
                ({'kind': 'freeradius', 'radius_uri': 'postgresql://x/r',
                        'radius_rate_attribute': 'Rate Limit'},
                    'Rate-Limit Attribute'),
                ({'kind': 'freeradius', 'radius_uri': 'postgresql://x/r',
                        'timeout': 0},
                    'timeout'),
                ({'kind': 'webhook', 'webhook_url': 'ftp://router/',
                        'webhook_secret': SECRET},
                    'http://'),
                ({'kind': 'webhook', 'webhook_url': 'https://router/',
                        'webhook_secret': 'short'},
                    '16 characters'),
                ]:
            with self.subTest(values=values):
                backend = Backend(name="B", company=company, **values)
                with self.assertRaises(ValidationError) as cm:
                    backend.save()
                self.assertIn(text, cm.exception.message)
