# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import BoletoError

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

    def _get_boleto_lines(self, remainders=False):
        """The lines to pay that have no live title, with an amount to pay.

        A line whose title was paid in part keeps the rest to pay
        (payment_amount); it is included only with remainders."""
        lines = []
        for line in self.lines_to_pay:
            if (line.reconciliation or not line.payment_amount
                    or line.payment_amount <= 0):
                continue
            states = {p.state for p in line.payments}
            if states - {'failed', 'succeeded'}:
                continue
            if 'succeeded' in states and not remainders:
                continue
            lines.append(line)
        return lines

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
    @ModelView.button_action('br_boleto_cnab.wizard_invoice_register_boleto')
    def register_boletos_button(cls, invoices):
        pass

    @classmethod
    def register_boletos(cls, date=None, invoices=None, due_date=None):
        """Create a boleto title for each line to pay of posted customer
        invoices collected by boleto (all of them when invoices is None:
        the cron runs it after the billing run). Return the payments.

        The remainder of a partly paid line gets a title only with a
        due_date (the register wizard's): its maturity has passed, and
        a boleto due the day it is issued could not be paid in time."""
        pool = Pool()
        Payment = pool.get('account.payment')
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        if due_date is not None and due_date < date:
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_register_due_date_past',
                    due_date=due_date, date=date))
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
                invoice_lines = invoice._get_boleto_lines(
                    remainders=due_date is not None)
                lines.extend((l, journal) for l in invoice_lines)
                if invoice_lines:
                    registered.append(invoice)
        payments = Payment.create_boletos(lines, date=date,
            due_date=due_date)
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


class RegisterBoletoStart(ModelView):
    "Register Boleto"
    __name__ = 'account.invoice.boleto.register.start'
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)
    amount = Monetary("Amount", currency='currency', digits='currency',
        readonly=True,
        help="What the invoices still have to pay without a boleto.")
    today = fields.Date("Today", readonly=True)
    due_date = fields.Date("Due Date", required=True,
        domain=[('due_date', '>=', Eval('today'))],
        help="The due date printed on the new boletos.")


class RegisterBoleto(Wizard):
    """Register the boletos of invoices, the remainder of a partly paid
    title included, due on the date the user chooses"""
    __name__ = 'account.invoice.boleto.register'
    start = StateView('account.invoice.boleto.register.start',
        'br_boleto_cnab.invoice_register_boleto_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Register", 'register', 'tryton-ok', default=True),
            ])
    register = StateTransition()

    def default_start(self, fields):
        pool = Pool()
        Date = pool.get('ir.date')
        today = Date.today()
        lines = [l for i in self.records
            for l in i._get_boleto_lines(remainders=True)]
        maturities = [l.maturity_date for l in lines if l.maturity_date]
        return {
            'currency': (self.records[0].currency.id
                if self.records else None),
            'amount': sum(l.payment_amount for l in lines),
            'today': today,
            'due_date': max([today] + ([min(maturities)]
                    if maturities else [])),
            }

    def transition_register(self):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Invoice.register_boletos(invoices=self.records,
            due_date=self.start.due_date)
        return 'end'
