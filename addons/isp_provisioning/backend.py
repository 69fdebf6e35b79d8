# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Provisioning backends: where access changes are sent (a FreeRADIUS SQL
database, a signed HTTP webhook), each kind applied by its own method
(`_apply_<kind>`). Changes travel through provisioning requests
(request.py) and the host's queue, never inside the caller's transaction."""
import hashlib
from urllib.parse import urlsplit

from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from . import freeradius, webhook
from .exceptions import BackendError, BackendUnavailable

KINDS = [
    ('freeradius', "FreeRADIUS SQL"),
    ('webhook', "HTTP Webhook"),
    ]
# Seconds to wait for a backend before the change is left for a retry.
MAX_TIMEOUT = 120


class Backend(DeactivableMixin, ModelSQL, ModelView):
    """Provisioning Backend

    A system that grants network access: the access changes of the logins
    attached to it are applied there."""
    __name__ = 'isp.provisioning.backend'

    name = fields.Char("Name", required=True)
    company = fields.Many2One('company.company', "Company", required=True)
    kind = fields.Selection(KINDS, "Kind", required=True)
    timeout = fields.Integer(
        "Timeout", required=True,
        help="Seconds to wait for the backend before retrying later.")

    radius_uri = fields.Char(
        "Database URI",
        states={
            'invisible': Eval('kind') != 'freeradius',
            'required': Eval('kind') == 'freeradius',
            },
        help="PostgreSQL database of FreeRADIUS' rlm_sql tables, e.g. "
        "postgresql://radius:secret@10.0.0.5:5432/radius")
    radius_rate_attribute = fields.Char(
        "Rate-Limit Attribute",
        states={
            'invisible': Eval('kind') != 'freeradius',
            'required': Eval('kind') == 'freeradius',
            },
        help="Reply attribute that carries the speed as upload/download.")
    radius_group_active = fields.Char(
        "Active Group",
        states={'invisible': Eval('kind') != 'freeradius'},
        help="radusergroup group of active logins (empty: none).")
    radius_group_reduced = fields.Char(
        "Reduced Group",
        states={'invisible': Eval('kind') != 'freeradius'},
        help="radusergroup group of logins at reduced speed (empty: none).")
    radius_group_blocked = fields.Char(
        "Blocked Group",
        states={'invisible': Eval('kind') != 'freeradius'},
        help="radusergroup group of blocked logins (empty: none).")
    radius_blocked_mode = fields.Selection([
            ('reject', "Reject"),
            ('group', "Blocked Group Only"),
            ], "Blocked Logins",
        states={
            'invisible': Eval('kind') != 'freeradius',
            'required': Eval('kind') == 'freeradius',
            },
        help="Reject: blocked logins are refused (Access-Reject).\n"
        "Blocked group only: they are accepted in the blocked group, "
        "whose reply attributes (e.g. an address pool that shows the "
        "payment page) the operator sets in radgroupreply.")

    webhook_url = fields.Char(
        "URL",
        states={
            'invisible': Eval('kind') != 'webhook',
            'required': Eval('kind') == 'webhook',
            },
        help="Receives each change as signed JSON (HTTP POST).")
    webhook_secret = fields.Char(
        "Secret",
        states={
            'invisible': Eval('kind') != 'webhook',
            'required': Eval('kind') == 'webhook',
            },
        help="Shared secret of the HMAC-SHA256 signature.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('company')

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_kind(cls):
        return 'freeradius'

    @classmethod
    def default_timeout(cls):
        return 10

    @classmethod
    def default_radius_rate_attribute(cls):
        return 'Mikrotik-Rate-Limit'

    @classmethod
    def default_radius_group_active(cls):
        return 'ciclo_active'

    @classmethod
    def default_radius_group_reduced(cls):
        return 'ciclo_reduced'

    @classmethod
    def default_radius_group_blocked(cls):
        return 'ciclo_blocked'

    @classmethod
    def default_radius_blocked_mode(cls):
        return 'reject'

    @classmethod
    def validate_fields(cls, backends, field_names):
        super().validate_fields(backends, field_names)
        for backend in backends:
            if not 0 < (backend.timeout or 0) <= MAX_TIMEOUT:
                raise BackendError(gettext(
                        'isp_provisioning.msg_backend_timeout',
                        backend=backend.rec_name, maximum=MAX_TIMEOUT))
            getattr(backend, '_check_%s' % backend.kind)()

    def _check_freeradius(self):
        if urlsplit(self.radius_uri or '').scheme not in {
                'postgresql', 'postgres'}:
            raise BackendError(gettext(
                    'isp_provisioning.msg_backend_radius_uri',
                    backend=self.rec_name))
        try:
            self.get_radius_settings()
        except freeradius.PayloadError as error:
            raise BackendError(gettext(
                    'isp_provisioning.msg_backend_radius_setting',
                    backend=self.rec_name,
                    field=self.__names__(
                        self._radius_setting_fields[error.field])['field'],
                    value=error.value)) from error

    _radius_setting_fields = {
        'rate_attribute': 'radius_rate_attribute',
        'blocked_mode': 'radius_blocked_mode',
        'group_active': 'radius_group_active',
        'group_reduced': 'radius_group_reduced',
        'group_blocked': 'radius_group_blocked',
        }

    def _check_webhook(self):
        url = urlsplit(self.webhook_url or '')
        if url.scheme not in {'http', 'https'} or not url.hostname:
            raise BackendError(gettext(
                    'isp_provisioning.msg_backend_webhook_url',
                    backend=self.rec_name))
        # A short secret can be guessed from signed requests.
        if len(self.webhook_secret or '') < 16:
            raise BackendError(gettext(
                    'isp_provisioning.msg_backend_webhook_secret',
                    backend=self.rec_name))

    def get_radius_settings(self):
        return freeradius.Settings(
            rate_attribute=self.radius_rate_attribute,
            groups={
                'active': self.radius_group_active or None,
                'reduced': self.radius_group_reduced or None,
                'blocked': self.radius_group_blocked or None,
                },
            blocked_mode=self.radius_blocked_mode)

    def apply(self, payload):
        """Make the backend grant what payload says (see request.py for the
        contract). Raise BackendUnavailable when the backend cannot be
        reached or refuses the change, freeradius.PayloadError when the
        payload cannot be provisioned at all."""
        return getattr(self, '_apply_%s' % self.kind)(payload)

    def _apply_freeradius(self, payload):
        import psycopg
        try:
            return freeradius.apply(
                self.radius_uri, payload, self.get_radius_settings(),
                timeout=self.timeout)
        except psycopg.Error as error:
            raise BackendUnavailable(str(error).strip()) from error

    def _apply_webhook(self, payload):
        try:
            webhook.post(
                self.webhook_url, self.webhook_secret, payload,
                self.get_idempotency_key(payload), timeout=self.timeout)
        except webhook.WebhookError as error:
            raise BackendUnavailable(str(error)) from error
        return True

    @staticmethod
    def get_idempotency_key(payload):
        """The same change gives the same key, so a receiver that got it
        before a retry applies it once."""
        return hashlib.sha256(webhook.encode(payload)).hexdigest()[:32]

    @classmethod
    def push(cls, records):
        """Queue the provisioning of records (e.g. isp.access): each has a
        `backend` and `get_provisioning_payload()`. One request and one queue
        task per record; nothing is sent inside the caller's transaction."""
        pool = Pool()
        Request = pool.get('isp.provisioning.request')
        return Request.enqueue(Request.create_for(records))
