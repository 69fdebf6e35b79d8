# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Signed JSON webhooks for routers and controllers Ciclo does not speak to
directly, and a receiver that checks them (used by the tests, and the
reference for whoever writes the other end).

Plain Python (standard library only, no ORM).

A request is an HTTP POST of the payload as JSON (UTF-8, sorted keys) with:
    X-Ciclo-Timestamp: seconds since the epoch when it was signed
    X-Ciclo-Signature: sha256=<hex HMAC-SHA256 with the shared secret of
                       "<timestamp>.<body bytes>">
    Idempotency-Key:   the same for every retry of one change, so the
                       receiver applies it once
Signing the timestamp with the body lets the receiver refuse replays of an
old request (older than TOLERANCE seconds). Any 2xx answer is success;
anything else (or no answer) leaves the change to be retried. A request
that timed out may still arrive after a newer change of the same login:
the receiver keeps, per login, the change with the latest `changed_at`.
"""
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIGNATURE_HEADER = 'X-Ciclo-Signature'
TIMESTAMP_HEADER = 'X-Ciclo-Timestamp'
IDEMPOTENCY_HEADER = 'Idempotency-Key'
TOLERANCE = 300


class WebhookError(Exception):
    "The receiver did not accept the request (status None: no answer)."

    def __init__(self, status, message):
        super().__init__(
            '%s: %s' % (status, message) if status else message)
        self.status = status


class SignatureError(ValueError):
    pass


def encode(payload):
    return json.dumps(
        payload, sort_keys=True, separators=(',', ':'),
        ensure_ascii=False).encode('utf-8')


def sign(secret, timestamp, body):
    digest = hmac.new(
        secret.encode('utf-8'), b'%d.' % timestamp + body,
        hashlib.sha256).hexdigest()
    return 'sha256=' + digest


def headers(secret, body, idempotency_key, timestamp=None):
    if timestamp is None:
        timestamp = int(time.time())
    return {
        'Content-Type': 'application/json; charset=utf-8',
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        IDEMPOTENCY_HEADER: idempotency_key,
        }


def post(url, secret, payload, idempotency_key, timeout=10,
        timestamp=None):
    """POST payload signed with secret to url; return the HTTP status.
    Raise WebhookError when it is not 2xx or nobody answers."""
    body = encode(payload)
    request = urllib.request.Request(
        url, data=body, method='POST',
        headers=headers(secret, body, idempotency_key, timestamp))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        raise WebhookError(
            error.code, error.read(500).decode('utf-8', 'replace')
            or error.reason) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, 'reason', error)
        raise WebhookError(None, str(reason)) from error


def verify(secret, headers, body, now=None, tolerance=TOLERANCE):
    """Check the signature and age of a request (headers: a mapping with
    case-insensitive get, as http.server gives); return the payload.
    Raise SignatureError otherwise."""
    if now is None:
        now = time.time()
    timestamp = headers.get(TIMESTAMP_HEADER) or ''
    signature = headers.get(SIGNATURE_HEADER) or ''
    if not timestamp.isdigit():
        raise SignatureError('missing or bad %s' % TIMESTAMP_HEADER)
    if abs(now - int(timestamp)) > tolerance:
        raise SignatureError('request too old or from the future')
    expected = sign(secret, int(timestamp), body)
    if not hmac.compare_digest(expected, signature):
        raise SignatureError('bad signature')
    if not headers.get(IDEMPOTENCY_HEADER):
        raise SignatureError('missing %s' % IDEMPOTENCY_HEADER)
    try:
        return json.loads(body.decode('utf-8'))
    except ValueError as error:
        raise SignatureError('body is not JSON: %s' % error)


class Receiver:
    """A local webhook endpoint on 127.0.0.1 that verifies each request.

        with Receiver('secret') as receiver:
            post(receiver.url, 'secret', {...}, 'key-1')
            receiver.received   # [(idempotency key, payload)], once per key
            receiver.rejected   # [reason] of refused requests

    It answers 401 to a bad signature, 204 to a valid request (also when the
    key was seen already, without recording it twice) and `status` (e.g.
    503) to everything while `status` is set, to play a receiver that is
    down for maintenance.
    """

    def __init__(self, secret, port=0):
        self.secret = secret
        self.received = []
        self.rejected = []
        self.status = None
        self._keys = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                self.send_response(receiver._handle(self.headers, body))
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args):
                # Keep the test output clean: the receiver records what
                # it accepts and refuses itself.
                pass

        self._server = ThreadingHTTPServer(('127.0.0.1', port), Handler)
        self._thread = None

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return 'http://%s:%s/ciclo/access' % (host, port)

    def _handle(self, headers, body):
        if self.status:
            return self.status
        try:
            payload = verify(self.secret, headers, body)
        except SignatureError as error:
            with self._lock:
                self.rejected.append(str(error))
            return 401
        key = headers.get(IDEMPOTENCY_HEADER)
        with self._lock:
            if key not in self._keys:
                self._keys.add(key)
                self.received.append((key, payload))
        return 204

    def start(self):
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread:
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
