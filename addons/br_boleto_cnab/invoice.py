# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.transaction import Transaction

_JOURNAL_DOMAIN = [
    ('process_method', '=', 'boleto'),
    ('company', '=', Eval('company', -1)),
    ]


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    boleto_journal = fields.Many2One('account.payment.journal',
        "Boleto Journal", domain=[('process_method', '=', 'boleto')],
        help="Bill this customer by boleto on this bank account.")


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    boleto_journal = fields.Many2One('account.payment.journal',
        "Boleto Journal", domain=_JOURNAL_DOMAIN,
        states={
            'invisible': Eval('type') != 'out',
            'readonly': Eval('state') != 'draft',
            },
        help="Collect this invoice by boleto on this bank account; "
        "empty takes the customer's.")
    boleto_payments = fields.Function(fields.Many2Many('account.payment',
            None, None, "Boletos",
            states={'invisible': Eval('type') != 'out'}),
        'get_boleto_payments')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'register_boletos_button': {
                    'invisible': ((Eval('type') != 'out')
                        | (Eval('state') != 'posted')),
                    'depends': ['type', 'state'],
                    },
                })
        cls.__rpc__.update({
                'register_boletos': RPC(readonly=False),
                })

    @fields.depends('party', 'type', 'boleto_journal')
    def on_change_party(self):
        super().on_change_party()
        if self.type == 'out' and self.party and not self.boleto_journal:
            self.boleto_journal = self.party.boleto_journal

    def get_boleto_payments(self, name):
        return [p.id for l in self.lines_to_pay for p in l.payments
            if p.process_method == 'boleto' and p.state != 'failed']

    def _get_boleto_journal(self):
        "The payment journal that collects this invoice by boleto, if any"
        journal = self.boleto_journal or self.party.boleto_journal
        if journal and journal.company == self.company:
            return journal

    def _get_boleto_lines(self):
        "The lines to pay that have no live title yet"
        return [l for l in self.lines_to_pay
            if not l.reconciliation and l.payment_amount
            and l.payment_amount > 0
            and not any(p.state != 'failed' for p in l.payments)]

    @classmethod
    def _get_boleto_domain(cls):
        return [
            ('type', '=', 'out'),
            ('state', '=', 'posted'),
            ['OR',
                ('boleto_journal.process_method', '=', 'boleto'),
                ('party.boleto_journal.process_method', '=', 'boleto'),
                ],
            ]

    @classmethod
    @ModelView.button
    def register_boletos_button(cls, invoices):
        cls.register_boletos(invoices=invoices)

    @classmethod
    def register_boletos(cls, date=None, invoices=None):
        """Create a boleto title for each line to pay of posted customer
        invoices collected by boleto (all of them when invoices is None:
        the cron runs it after the billing run). Return the payments."""
        pool = Pool()
        Payment = pool.get('account.payment')
        if invoices is None:
            context = Transaction().context
            domain = cls._get_boleto_domain()
            if context.get('company'):
                domain.append(('company', '=', context['company']))
            invoices = cls.search(domain, order=[('id', 'ASC')])
        else:
            invoices = cls.browse([int(i) for i in invoices])
        lines, registered = [], []
        for invoice in invoices:
            if invoice.type != 'out' or invoice.state != 'posted':
                continue
            journal = invoice._get_boleto_journal()
            if journal:
                invoice_lines = invoice._get_boleto_lines()
                lines.extend((l, journal) for l in invoice_lines)
                if invoice_lines:
                    registered.append(invoice)
        payments = Payment.create_boletos(lines, date=date)
        cls._queue_boleto_emails(registered, date)
        return payments

    @classmethod
    def _queue_boleto_emails(cls, invoices, date):
        """Queue one e-mail task per invoice: it runs after this
        transaction commits (or in a worker), so a slow or failing SMTP
        server never holds nor rolls back the registration."""
        # Not under the billing run's context: the task prints the invoice
        with Transaction().set_context(
                queue_name='boleto_email', subscription_billing=None):
            for invoice in invoices:
                cls.__queue__.send_boleto_emails_queued([invoice], date)
