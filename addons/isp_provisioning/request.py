# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Provisioning requests: one row per change to send to a backend, written
in the caller's transaction (so a change is never lost) and applied by a
queue task after commit (so a slow or dead backend never holds billing).

A request stays pending until its backend accepts it: a failed attempt
records the error and the time of the next try, and the scheduled action
re-queues due requests (it also picks up requests whose task was lost,
e.g. a worker killed mid-task). Each attempt sends the record's payload as
it is at that moment, so retries never send a stale state; a newer request
for the same record supersedes the pending older ones.

Payload contract (the record's get_provisioning_payload()):
    {"login": str, "password": str,
     "state": "active" | "reduced" | "blocked" | "cancelled",
     "download_kbps": int, "upload_kbps": int,
     "reduced_download_kbps": int, "reduced_upload_kbps": int,
     "contract": str, "party": str, "changed_at": ISO timestamp}
"""
import datetime
import logging

from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, inactive_records

from . import freeradius
from .exceptions import BackendUnavailable

logger = logging.getLogger(__name__)

# When the first task has not run by then, the scheduled action re-queues.
LOST_TASK_DELAY = datetime.timedelta(minutes=10)
# Retry delays double from the first to the last and then stay there.
FIRST_RETRY = datetime.timedelta(minutes=1)
LAST_RETRY = datetime.timedelta(hours=1)
QUEUE_NAME = 'isp_provisioning'


class Request(Workflow, ModelSQL, ModelView):
    "Provisioning Request"
    __name__ = 'isp.provisioning.request'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    backend = fields.Many2One(
        'isp.provisioning.backend', "Backend", required=True, readonly=True,
        ondelete='CASCADE')
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True)
    login = fields.Char("Login", readonly=True)
    removal = fields.Boolean(
        "Removal", readonly=True,
        help="The login left this backend (another backend or login): "
        "it is removed there.")
    access_state = fields.Selection([
            ('active', "Active"),
            ('reduced', "Reduced"),
            ('blocked', "Blocked"),
            ('cancelled', "Cancelled"),
            ], "Access State", readonly=True,
        help="The state the change provisions (at its last attempt).")
    payload = fields.Dict(
        None, "Payload", readonly=True,
        help="What was last sent, without the password.")
    state = fields.Selection([
            ('pending', "Pending"),
            ('done', "Done"),
            ('failed', "Failed"),
            ('superseded', "Superseded"),
            ], "State", required=True, readonly=True, sort=False)
    attempts = fields.Integer("Attempts", readonly=True)
    last_error = fields.Text("Last Error", readonly=True)
    next_attempt_at = fields.Timestamp(
        "Next Attempt At", readonly=True,
        help="When the scheduled action queues the request again.")
    done_at = fields.Timestamp("Done At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('backend')
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t,
                    (t.next_attempt_at, Index.Range()),
                    where=t.state == 'pending'),
                Index(t, (t.origin, Index.Equality()),
                    where=t.state == 'pending'),
                })
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('pending', 'done'),
            ('pending', 'failed'),
            ('pending', 'superseded'),
            ('failed', 'pending'),
            ('failed', 'superseded'),
            }
        cls._buttons.update({
                'retry': {
                    'invisible': ~Eval('state').in_(['pending', 'failed']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'pending'

    @classmethod
    def default_removal(cls):
        return False

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def _get_origin(cls):
        "Return the models whose records are provisioned"
        return ['isp.access']

    @classmethod
    def get_origin(cls):
        IrModel = Pool().get('ir.model')
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in cls._get_origin()]

    @classmethod
    def create_for(cls, records):
        """Create a pending request for each record with a backend, and a
        removal request where a record left a backend or changed its login
        there; older pending or failed requests of the records are
        superseded. Returns the new requests."""
        now = datetime.datetime.now()
        if not records:
            return []
        origins = {str(r) for r in records}
        latest = {}
        for request in cls.search([
                    ('origin', 'in', list(origins)),
                    ('state', '!=', 'superseded'),
                    ], order=[('id', 'ASC')]):
            latest[(str(request.origin), request.backend)] = request
        cls.supersede(cls.search([
                    ('origin', 'in', list(origins)),
                    ('state', 'in', ['pending', 'failed']),
                    ]))
        vlist = []
        for record in records:
            payload = record.get_provisioning_payload()
            for (origin, backend), last in latest.items():
                if origin != str(record) or last.removal:
                    continue
                if (backend != record.backend
                        or last.login != payload.get('login')):
                    vlist.append({
                            'company': backend.company.id,
                            'backend': backend.id,
                            'origin': origin,
                            'removal': True,
                            'login': last.login,
                            'access_state': 'cancelled',
                            'payload': dict(last.payload or {}),
                            'next_attempt_at': now + LOST_TASK_DELAY,
                            })
            if not record.backend:
                continue
            vlist.append({
                    'company': record.backend.company.id,
                    'backend': record.backend.id,
                    'origin': str(record),
                    'login': payload.get('login'),
                    'access_state': payload.get('state'),
                    'payload': cls._public_payload(payload),
                    'next_attempt_at': now + LOST_TASK_DELAY,
                    })
        return cls.create(vlist)

    @staticmethod
    def _public_payload(payload):
        return {k: v for k, v in payload.items() if k != 'password'}

    @classmethod
    def enqueue(cls, requests):
        "One queue task per request, run after the caller's commit"
        with Transaction().set_context(queue_name=QUEUE_NAME):
            for request in requests:
                cls.__queue__.process([request])
        return requests

    @classmethod
    @Workflow.transition('superseded')
    def supersede(cls, requests):
        pass

    @classmethod
    @ModelView.button
    def retry(cls, requests):
        "Queue the requests now (e.g. once their backend is repaired)"
        now = datetime.datetime.now()
        requests = [r for r in requests if r.state in {'pending', 'failed'}]
        cls.reopen([r for r in requests if r.state == 'failed'])
        cls.write(requests, {'next_attempt_at': now + LOST_TASK_DELAY})
        cls.enqueue(requests)

    @classmethod
    @Workflow.transition('pending')
    def reopen(cls, requests):
        pass

    def get_payload(self):
        """The payload to send now: the origin's current one; a removal or
        a deleted origin is cancelled with what was last known of it."""
        if not self.removal and self.origin and self.origin.id >= 0:
            Origin = self.origin.__class__
            with inactive_records():
                if Origin.search([('id', '=', self.origin.id)]):
                    return self.origin.get_provisioning_payload()
        payload = dict(self.payload or {})
        payload['state'] = 'cancelled'
        payload['login'] = self.login
        return payload

    @classmethod
    def process(cls, requests, now=None):
        """Apply pending requests to their backends; a failure is recorded
        and retried later, never raised to the caller."""
        if now is None:
            now = datetime.datetime.now()
        cls.lock(requests)
        # The task may run after another one finished the same request.
        requests = [r for r in requests if r.state == 'pending']
        done, failed = [], []
        for request in requests:
            request.attempts = (request.attempts or 0) + 1
            try:
                payload = request.get_payload()
                request.login = payload.get('login')
                request.access_state = payload.get('state')
                request.payload = cls._public_payload(payload)
                request.backend.apply(payload)
            except BackendUnavailable as error:
                request.last_error = str(error)
                request.next_attempt_at = now + request.get_retry_delay()
                logger.info(
                    "%s: backend %s unavailable, retry at %s: %s",
                    request, request.backend.rec_name,
                    request.next_attempt_at, error)
            except freeradius.PayloadError as error:
                # Nothing the backend can take: retrying would not help;
                # a corrected record is pushed again by its own change.
                request.last_error = str(error)
                request.next_attempt_at = None
                failed.append(request)
            else:
                request.last_error = None
                request.next_attempt_at = None
                request.done_at = now
                done.append(request)
        cls.save(requests)
        cls.finish(done)
        cls.fail(failed)

    @classmethod
    @Workflow.transition('done')
    def finish(cls, requests):
        pass

    @classmethod
    @Workflow.transition('failed')
    def fail(cls, requests):
        pass

    def get_retry_delay(self):
        "Delay before the next attempt, doubling with each failed one"
        delay = FIRST_RETRY * 2 ** max((self.attempts or 1) - 1, 0)
        return min(delay, LAST_RETRY)

    @classmethod
    def process_due(cls, now=None):
        """Queue the pending requests whose next attempt is due (the
        scheduled action); returns them."""
        if now is None:
            now = datetime.datetime.now()
        domain = [
            ('state', '=', 'pending'),
            ('next_attempt_at', '<=', now),
            ]
        company = Transaction().context.get('company')
        if company:
            domain.append(('company', '=', company))
        requests = cls.search(domain, order=[('next_attempt_at', 'ASC')])
        # Until the task runs, a later scheduled action must not queue the
        # request again.
        cls.write(requests, {'next_attempt_at': now + LOST_TASK_DELAY})
        return cls.enqueue(requests)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('isp.provisioning.request|process_due',
                "Retry Provisioning Requests"))
