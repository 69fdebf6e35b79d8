# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Negativação (credit bureau listing) of an overdue title through the
bank's CNAB instruction ("negativação expressa": Itaú 66/68, Bradesco
45/46, cnab_layouts_remessa.INSTRUCTIONS), where the bank's layout has
it; elsewhere the button is refused with the reason.

The legal conditions are data (NEGATIVACAO_RULES) with their source."""
import datetime

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .boleto_instruction import _button
from .exceptions import BoletoError
from .payment import party_document

_BOLETO = {'invisible': Eval('process_method') != 'boleto'}

# Domain rules C.11. CDC (Lei 8.078/1990) art. 43 §2: opening a record
# on a consumer in a credit bureau must be communicated to him in
# writing. STJ REsp 2.056.285/RS (2023): the notice comes before the
# listing, leaves time to pay or contest, and goes by post to the
# consumer's address (not by e-mail or SMS only). The 10 days are the
# period the bureaus' notice gives to pay before the listing (Serasa,
# SPC: "prazo de 10 dias" of the comunicado; practice, not statute).
# STJ Súmula 359: the bureau sends the notice; the creditor records when
# it sent its own.
NEGATIVACAO_RULES = {
    'notice_days': 10,
    'notice_source': "CDC art. 43 §2; STJ REsp 2.056.285/RS",
    # Only a debt already due can be listed (CDC art. 43 §1: "dados
    # verdadeiros" about an existing debt).
    'overdue_days': 1,
    }


class Payment(metaclass=PoolMeta):
    __name__ = 'account.payment'

    boleto_negativado = fields.Boolean("Negativação Requested",
        readonly=True, states=_BOLETO,
        help="The bank was told to list the payer in the credit bureau.")
    boleto_notice_date = fields.Date("Debtor Notice Date", readonly=True,
        states=_BOLETO,
        help="When the written notice of the negativação was posted to "
        "the payer (CDC art. 43 §2).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'boleto_negativacao': _button(
                    ~Eval('boleto_negativado', False),
                    ['boleto_negativado']),
                'boleto_cancel_negativacao': _button(
                    Eval('boleto_negativado', False),
                    ['boleto_negativado']),
                })

    @classmethod
    def copy(cls, payments, default=None):
        default = {} if default is None else default.copy()
        default.setdefault('boleto_negativado', None)
        default.setdefault('boleto_notice_date', None)
        return super().copy(payments, default=default)

    @classmethod
    @ModelView.button_action('br_boleto_cnab.wizard_boleto_negativacao')
    def boleto_negativacao(cls, payments):
        pass

    @classmethod
    @ModelView.button
    def boleto_cancel_negativacao(cls, payments):
        cls.queue_boleto_instruction(payments, 'cancel_negativacao')

    def _check_boleto_negativacao(self, notice_date=None, date=None):
        "Raise BoletoError unless NEGATIVACAO_RULES allow it on date"
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        rules = NEGATIVACAO_RULES
        if self.boleto_negativado:
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_negativacao_requested',
                    payment=self.rec_name))
        due_date = self._get_boleto_original_due_date()
        overdue_from = due_date + datetime.timedelta(
            days=rules['overdue_days'])
        if date < overdue_from:
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_negativacao_not_overdue',
                    payment=self.rec_name, due_date=due_date))
        address = self.party.address_get()
        if (not party_document(self.party) or not address
                or not (address.street and address.postal_code
                    and address.city)):
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_negativacao_no_address',
                    payment=self.rec_name, party=self.party.rec_name))
        listing_from = (notice_date + datetime.timedelta(
                days=rules['notice_days']) if notice_date else None)
        if (notice_date is None or notice_date < due_date
                or notice_date > date or date < listing_from):
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_negativacao_notice',
                    payment=self.rec_name, notice_date=notice_date or '-',
                    days=rules['notice_days'], due_date=due_date,
                    listing_from=listing_from or '-',
                    source=rules['notice_source']))

    def _set_boleto_negativacao(self, notice_date=None, date=None):
        self.boleto_negativado = True
        self.boleto_notice_date = notice_date

    def _check_boleto_cancel_negativacao(self):
        if not self.boleto_negativado:
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_negativacao_none',
                    payment=self.rec_name))

    def _set_boleto_cancel_negativacao(self):
        self.boleto_negativado = False


class NegativacaoStart(ModelView):
    "Boleto Negativação"
    __name__ = 'account.payment.boleto.negativacao.start'
    payment = fields.Many2One('account.payment', "Title", readonly=True)
    due_date = fields.Date("Due Date", readonly=True)
    notice_date = fields.Date("Debtor Notice Date", required=True,
        help="When the written notice was posted to the payer's address; "
        "the listing may be requested %(days)s days later (%(source)s)."
        % {'days': NEGATIVACAO_RULES['notice_days'],
            'source': NEGATIVACAO_RULES['notice_source']})


class Negativacao(Wizard):
    "Boleto Negativação"
    __name__ = 'account.payment.boleto.negativacao'
    start = StateView('account.payment.boleto.negativacao.start',
        'br_boleto_cnab.negativacao_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Queue", 'queue', 'tryton-ok', default=True),
            ])
    queue = StateTransition()

    def default_start(self, fields):
        return {
            'payment': self.record.id,
            'due_date': self.record._get_boleto_original_due_date(),
            }

    def transition_queue(self):
        pool = Pool()
        Payment = pool.get('account.payment')
        Payment.queue_boleto_instruction([self.record], 'negativacao',
            notice_date=self.start.notice_date)
        return 'end'
