# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The customer's e-mail: the invoice with its boleto PDF attached, sent
with the host's e-mail notification (notification_email) through the
queue, after the titles are registered."""
from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.subscription_core.notification import (
    NotificationSender)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.report import Report
from trytond.rpc import RPC

from .exceptions import BoletoError

_BOLETO = {'invisible': Eval('process_method') != 'boleto'}


class Journal(metaclass=PoolMeta):
    __name__ = 'account.payment.journal'

    boleto_notification = fields.Many2One('notification.email',
        "Boleto E-mail",
        domain=[('model', '=', 'account.invoice')],
        states=_BOLETO,
        help="The e-mail that sends the customer the invoice with its "
        "boleto once the title is registered; empty sends none.")

    @classmethod
    def default_boleto_notification(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id(
                'br_boleto_cnab', 'notification_boleto_invoice')
        except KeyError:
            return None


class Payment(metaclass=PoolMeta):
    __name__ = 'account.payment'

    boleto_email_date = fields.Date("E-mail Date", readonly=True,
        states=_BOLETO,
        help="When the boleto was e-mailed to the customer.")
    boleto_email = fields.Many2One('ir.email', "E-mail", readonly=True,
        states=_BOLETO)

    @classmethod
    def copy(cls, payments, default=None):
        default = {} if default is None else default.copy()
        default.setdefault('boleto_email_date', None)
        default.setdefault('boleto_email', None)
        return super().copy(payments, default=default)


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__rpc__.update({
                'send_boleto_emails': RPC(readonly=False,
                    result=lambda emails: [e.id for e in emails]),
                })

    def _get_boleto_email_payments(self):
        "The titles of the invoice to send: printable and not sent yet"
        return [p for p in self.boleto_payments
            if p.boleto_barcode and not p.boleto_email_date
            and p.boleto_state not in {'paid', 'written_off', 'rejected'}]

    @classmethod
    def send_boleto_emails_queued(cls, invoices, date):
        "The queue's entry: one task per invoice"
        cls.send_boleto_emails(date, invoices)

    @classmethod
    def send_boleto_emails(cls, date=None, invoices=None):
        """E-mail each invoice with the boletos not sent yet, once, and
        record the date on the titles (all invoices with such titles when
        invoices is None: the cron's retry after an SMTP failure).

        The messages leave when the transaction commits: if the SMTP
        server refuses them, nothing is recorded and a later call sends
        them again. Return the ir.email records."""
        pool = Pool()
        Date = pool.get('ir.date')
        Email = pool.get('ir.email')
        Payment = pool.get('account.payment')
        if date is None:
            date = Date.today()
        if invoices is None:
            payments = Payment.search([
                    ('process_method', '=', 'boleto'),
                    ('boleto_barcode', '!=', None),
                    ('boleto_email_date', '=', None),
                    ('state', 'in', ['submitted', 'processing']),
                    ('line.move.origin', 'like', 'account.invoice,%'),
                    ])
            invoices = cls.browse(sorted(
                    {p.line.move.origin.id for p in payments}))
        else:
            invoices = cls.browse([int(i) for i in invoices])
        # Two runs (a worker and the cron) must not e-mail a title twice:
        # the host takes these locks when the transaction starts (it is
        # restarted once to learn them), so the dates read below are
        # current.
        Payment.lock([p for i in invoices
                for p in i._get_boleto_email_payments()])
        # strict: an unreachable SMTP server fails the commit, so no date
        # is recorded for a message that did not leave.
        sender = NotificationSender(strict=True)
        emails, sent = [], []
        for invoice in invoices:
            payments = invoice._get_boleto_email_payments()
            if not payments:
                continue
            # Each journal has its own e-mail, so not send_notification.
            notification = payments[0].journal.boleto_notification
            if not notification:
                continue
            email = sender.send(notification, invoice)
            if email is None:
                continue
            emails.append(email)
            for payment in payments:
                payment.boleto_email_date = date
                payment.boleto_email = email
                sent.append(payment)
        Email.save(emails)
        Payment.save(sent)
        return emails


class InvoiceBoletoReport(Report):
    "The boletos of invoices, one page each, as one PDF"
    __name__ = 'account.invoice.boleto'

    @classmethod
    def _execute(cls, records, header, data, action):
        pool = Pool()
        Payment = pool.get('account.payment')
        payments = [p for r in records for p in r.boleto_payments
            if p.boleto_barcode
            and p.boleto_state not in {'paid', 'written_off', 'rejected'}]
        if not payments:
            raise BoletoError(gettext('br_boleto_cnab.msg_invoice_no_boleto',
                    invoices=', '.join(r.rec_name for r in records)))
        return 'pdf', Payment._get_boleto_pdf(payments)


class InvoiceBoletoEmail(Report):
    "The body of the e-mail that sends an invoice with its boletos"
    __name__ = 'account.invoice.boleto_email'


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('account.invoice|send_boleto_emails', "Send Boleto E-mails"))
