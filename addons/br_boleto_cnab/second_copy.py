# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import BoletoError
from .late_charge import late_charges


class SecondCopyStart(ModelView):
    "Boleto Second Copy"
    __name__ = 'account.payment.boleto.second_copy.start'
    payment = fields.Many2One('account.payment', "Title", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)
    due_date = fields.Date("Original Due Date", readonly=True)
    new_due_date = fields.Date("New Due Date", required=True,
        domain=[('new_due_date', '>', Eval('due_date'))])
    amount = Monetary("Amount", currency='currency', digits='currency',
        readonly=True)
    fine = Monetary("Fine", currency='currency', digits='currency',
        readonly=True)
    interest = Monetary("Interest", currency='currency', digits='currency',
        readonly=True)
    total = Monetary("Total", currency='currency', digits='currency',
        readonly=True)

    @fields.depends('payment', 'due_date', 'new_due_date', 'amount')
    def on_change_new_due_date(self):
        if self.payment and self.due_date and self.new_due_date:
            self.fine, self.interest = self.payment.get_boleto_late_charges(
                self.new_due_date)
            self.total = self.amount + self.fine + self.interest


class SecondCopy(Wizard):
    "Boleto Second Copy"
    __name__ = 'account.payment.boleto.second_copy'
    start = StateView('account.payment.boleto.second_copy.start',
        'br_boleto_cnab.second_copy_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Issue", 'issue', 'tryton-ok', default=True),
            ])
    issue = StateTransition()

    def default_start(self, fields):
        payment = self.record
        return {
            'payment': payment.id,
            'currency': payment.currency.id,
            'due_date': payment.boleto_due_date,
            'amount': payment.amount,
            }

    def transition_issue(self):
        pool = Pool()
        Payment = pool.get('account.payment')
        Payment.issue_second_copy([self.record], self.start.new_due_date)
        return 'end'


class Payment(metaclass=PoolMeta):
    __name__ = 'account.payment'

    def get_boleto_late_charges(self, date):
        "(fine, interest) owed on the original due date's amount at date"
        original = self._get_boleto_original_due_date()
        fine, interest, _ = late_charges(self.amount, original, date,
            self.boleto_fine_percent or 0,
            self.boleto_interest_percent or 0)
        round_ = self.currency.round
        return round_(fine), round_(interest)

    def _get_boleto_original_due_date(self):
        "The due date late charges run from: the line's maturity"
        return (self.line.maturity_date if self.line
            and self.line.maturity_date else self.boleto_due_date)

    @classmethod
    def issue_second_copy(cls, payments, due_date):
        """Reissue overdue titles due on due_date with fine and interest
        to that date, and queue the bank's due-date change instruction."""
        for payment in payments:
            if (payment.process_method != 'boleto'
                    or payment.state not in {'submitted', 'processing'}
                    or payment.boleto_state in {'paid', 'written_off'}):
                raise BoletoError(gettext(
                        'br_boleto_cnab.msg_second_copy_state',
                        payment=payment.rec_name))
            if due_date <= payment.boleto_due_date:
                raise BoletoError(gettext(
                        'br_boleto_cnab.msg_second_copy_due_date',
                        payment=payment.rec_name, due_date=due_date,
                        current=payment.boleto_due_date))
        for payment in payments:
            payment.boleto_fine, payment.boleto_interest = (
                payment.get_boleto_late_charges(due_date))
            payment.set_boleto(due_date, payment.boleto_open_amount)
            # A title not sent yet goes as new, with the new data
            if payment.boleto_state not in {None, 'to_register'}:
                payment.boleto_instruction = 'due_date_change'
        cls.save(payments)
