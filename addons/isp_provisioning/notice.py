# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Suspension notice (RGC 765/2023, arts. 70 and 71).

Before a connectivity service is suspended for non-payment the customer
must be told, at least 15 days ahead: the reason; the rules and dates of
the suspension and of the termination; the amount owed and its reference
month; that a credit bureau listing may follow the termination; and how
soon the service is restored after payment. A notice is sent once per
overdue invoice; no access is reduced or blocked without one (see
Access.check_notice)."""
import datetime

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import AccessError
from trytond.modules.currency.fields import Monetary
from trytond.modules.subscription_core.notification import (
    send_notification)
from trytond.pool import Pool, PoolMeta
from trytond.report import Report


class Notice(ModelSQL, ModelView):
    """Suspension Notice

    Written by the access scheduler only; sent through the host's e-mail
    notification."""
    __name__ = 'isp.access.notice'

    contract = fields.Many2One(
        'sale.subscription', "Contract", required=True, readonly=True,
        ondelete='RESTRICT')
    party = fields.Many2One(
        'party.party', "Party", required=True, readonly=True,
        ondelete='RESTRICT')
    invoice = fields.Many2One(
        'account.invoice', "Invoice", required=True, readonly=True,
        ondelete='RESTRICT')
    date = fields.Date("Date", required=True, readonly=True)
    due_date = fields.Date("Due Date", required=True, readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True)
    suspension_date = fields.Date(
        "Suspension Date", required=True, readonly=True,
        help="The first day the access may be suspended.")
    termination_days = fields.Integer(
        "Termination Days", required=True, readonly=True,
        help="The days of suspension after which the contract may be "
        "terminated.")
    reduce = fields.Boolean(
        "Reduce First", readonly=True,
        help="The speed is reduced before the access is blocked.")
    email = fields.Many2One('ir.email', "E-mail", readonly=True)
    sent = fields.Function(fields.Boolean("Sent"), 'get_sent')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('contract')
        t = cls.__table__()
        cls._sql_constraints += [
            ('contract_invoice_uniq', Unique(t, t.contract, t.invoice),
                'isp_provisioning.msg_notice_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.invoice, Index.Range())),
                Index(t, (t.contract, Index.Range())),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    def get_rec_name(self, name):
        return '%s @ %s' % (self.contract.rec_name, self.date)

    def get_sent(self, name):
        return bool(self.email)

    @property
    def reference_month(self):
        return self.due_date.strftime('%m/%Y')

    def set_date(self, date):
        "Set the notice's date and the dates it announces"
        policy = self.contract.plan.get_access_policy()
        schedule = policy.get_schedule(self.due_date, notice_date=date)
        self.date = date
        self.suspension_date = schedule['reduce'] or schedule['block']
        self.reduce = bool(schedule['reduce'])
        self.termination_days = policy.suspension_period

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'delete' or (mode == 'write' and external):
            raise AccessError(gettext(
                    'isp_provisioning.msg_notice_modify'))

    @classmethod
    def create_notices(cls, overdue, date):
        """Create the notices of overdue: {contract: (invoice, due date,
        amount)}, skipping the invoices already notified"""
        existing = {(n.contract.id, n.invoice.id): n for n in cls.search([
                    ('invoice', 'in', [i.id for i, _, _ in overdue.values()]),
                    ])}
        notices, unsent = [], []
        for contract, (invoice, due_date, amount) in overdue.items():
            notice = existing.get((contract.id, invoice.id))
            if notice:
                if not notice.email:
                    # Not sent yet (no e-mail address then): try again.
                    unsent.append(notice)
                continue
            notice = cls(
                contract=contract, party=contract.party,
                invoice=invoice, due_date=due_date,
                currency=invoice.currency, amount=amount)
            notice.set_date(date)
            notices.append(notice)
        cls.save(notices)
        return unsent + notices

    @classmethod
    def send(cls, notices, date):
        """Send the unsent notices by e-mail on date; return those sent.

        A notice whose customer has no e-mail address stays unsent: its
        access is not suspended."""
        pool = Pool()
        Configuration = pool.get('sale.configuration')
        Notification = pool.get('notification.email')
        notification = (Configuration(1).access_notice_notification
            or Notification(Configuration.default_access_notice_notification()))
        unsent = [n for n in notices if not n.email]
        for notice in unsent:
            # The 15 days run from the day it is sent (the e-mail shows
            # them, so before it is written).
            notice.set_date(date)
        sent = []
        for notice, email in send_notification(notification, unsent):
            notice.email = email
            sent.append(notice)
        # The scheduler writes it, not the user: not "external".
        cls.save(sent)
        return sent


class NoticeReport(Report):
    __name__ = 'isp.access.notice.report'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['timedelta'] = datetime.timedelta
        return context


class Configuration(metaclass=PoolMeta):
    __name__ = 'sale.configuration'

    access_notice_notification = fields.Many2One(
        'notification.email', "Suspension Notice",
        domain=[('model', '=', 'isp.access.notice')],
        help="The e-mail that tells the customer of the coming "
        "suspension (RGC 765/2023, arts. 70 and 71).")

    @classmethod
    def default_access_notice_notification(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        return ModelData.get_id(
            'isp_provisioning', 'notification_access_notice')
