# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Send a host e-mail notification (notification.email) per record now,
from code rather than from an ir.trigger, and keep the ir.email of each.

The host only sends them through triggers (NotificationEmail.send_email);
the notices of the modules (price adjustments, suspension notices,
boletos) are sent by their own cron or run and must remember which
ir.email told the customer."""
import trytond.config as config
from trytond.pool import Pool
from trytond.sendmail import SMTPDataManager, send_message_transactional
from trytond.tools.email_ import has_rcpt
from trytond.transaction import Transaction

__all__ = ['NotificationSender', 'send_notification']


class NotificationSender:
    """Send notification e-mails in the current transaction.

    The messages leave when the transaction commits, so a rollback sends
    none. strict: an unreachable SMTP server fails the commit instead of
    being logged, so nothing is recorded for a message that did not
    leave."""

    def __init__(self, strict=False):
        self.strict = strict
        # As the host's NotificationEmail.send_email.
        self.from_ = (config.get('notification_email', 'from')
            or config.get('email', 'from'))
        self._datamanager = None

    @property
    def datamanager(self):
        # Joined only with something to send: the manager connects to the
        # SMTP server at commit even with an empty queue.
        if self._datamanager is None:
            self._datamanager = Transaction().join(
                SMTPDataManager(strict=self.strict))
        return self._datamanager

    def send(self, notification, record):
        """Send the e-mail of notification for record.

        Return the ir.email, not saved, or None when the record has no
        recipient."""
        pool = Pool()
        Email = pool.get('ir.email')
        to, to_languages = notification._get_to(record)
        cc, cc_languages = notification._get_cc(record)
        bcc, bcc_languages = notification._get_bcc(record)
        msg = notification.get_email(
            record, self.from_, to, cc, bcc,
            to_languages | cc_languages | bcc_languages)
        if not has_rcpt(msg):
            return None
        # Before from_message: it sets the Message-ID the ir.email keeps.
        send_message_transactional(msg, datamanager=self.datamanager)
        return Email.from_message(
            msg, resource=record, notification_email=notification)


def send_notification(notification, records, strict=False):
    """Send the e-mail of notification for each of records but those
    with no recipient.

    Return [(record, ir.email)] of those sent, the ir.email saved."""
    pool = Pool()
    Email = pool.get('ir.email')
    sender = NotificationSender(strict=strict)
    sent = []
    for record in records:
        email = sender.send(notification, record)
        if email is not None:
            sent.append((record, email))
    Email.save([e for _, e in sent])
    return sent
