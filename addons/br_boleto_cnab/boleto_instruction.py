# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Instructions on a boleto title (discount, abatement, protest,
write-off...): each is queued on the title and written by the next
remessa, when the bank's layout has it (cnab_layouts_remessa.INSTRUCTIONS).
The due-date change is the second copy (second_copy.py)."""
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .boleto_banks import BANKS
from .cnab_layouts_remessa import instruction_code
from .exceptions import BoletoError

_BOLETO = {'invisible': Eval('process_method') != 'boleto'}
# Instructions that change the title's data: before the title is sent,
# the data simply goes with the new title.
_TITLE_DATA = {'discount', 'abatement'}
# A pending instruction of the same kind that is only new values for the
# title is replaced: the remessa carries one record per title, so the
# bank gets the latest values once (a second copy reprinted with another
# date must reach the bank with that date). Any other instruction waits
# for the next remessa alone, so it is never sent twice.
_REPLACEABLE = {'due_date_change', 'discount', 'abatement'}
_AT_BANK = ['sent', 'registered']


def _button(condition, depends):
    "Visible on an open boleto title at the bank when condition holds"
    return {
        'invisible': ((Eval('process_method') != 'boleto')
            | ~Eval('state').in_(['submitted', 'processing'])
            | ~Eval('boleto_state').in_(_AT_BANK)
            | Eval('boleto_instruction')
            | ~condition),
        'depends': ['process_method', 'state', 'boleto_state',
            'boleto_instruction'] + depends,
        }


class Payment(metaclass=PoolMeta):
    __name__ = 'account.payment'

    boleto_discount = Monetary("Discount", currency='currency',
        digits='currency', readonly=True, states=_BOLETO,
        help="Granted when the title is paid up to the discount date.")
    boleto_discount_date = fields.Date("Discount Date", readonly=True,
        states={
            'invisible': ~Eval('boleto_discount'),
            })
    boleto_abatement = Monetary("Abatement", currency='currency',
        digits='currency', readonly=True, states=_BOLETO,
        help="Deducted from the title's amount at the bank.")
    boleto_protested = fields.Boolean("Protest Requested", readonly=True,
        states=_BOLETO)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'boleto_grant_discount': {
                    'invisible': ((Eval('process_method') != 'boleto')
                        | ~Eval('state').in_(['submitted', 'processing'])
                        | ~Eval('boleto_state').in_(
                            [None, 'to_register'] + _AT_BANK)
                        | Eval('boleto_instruction').in_(
                            [x for x, _ in cls.boleto_instruction.selection
                                if x not in {None, 'new'}])),
                    'depends': ['process_method', 'state', 'boleto_state',
                        'boleto_instruction'],
                    },
                'boleto_grant_abatement': {
                    'invisible': ((Eval('process_method') != 'boleto')
                        | ~Eval('state').in_(['submitted', 'processing'])
                        | ~Eval('boleto_state').in_(
                            [None, 'to_register'] + _AT_BANK)
                        | Eval('boleto_instruction').in_(
                            [x for x, _ in cls.boleto_instruction.selection
                                if x not in {None, 'new'}])
                        | Bool(Eval('boleto_abatement'))),
                    'depends': ['process_method', 'state', 'boleto_state',
                        'boleto_instruction', 'boleto_abatement'],
                    },
                'boleto_cancel_abatement': _button(
                    Bool(Eval('boleto_abatement')), ['boleto_abatement']),
                'boleto_protest': _button(
                    ~Eval('boleto_protested', False), ['boleto_protested']),
                'boleto_cancel_protest': _button(
                    Eval('boleto_protested', False), ['boleto_protested']),
                })

    @classmethod
    def copy(cls, payments, default=None):
        default = {} if default is None else default.copy()
        for name in ['boleto_discount', 'boleto_discount_date',
                'boleto_abatement', 'boleto_protested']:
            default.setdefault(name, None)
        return super().copy(payments, default=default)

    @classmethod
    @ModelView.button_action('br_boleto_cnab.wizard_boleto_discount')
    def boleto_grant_discount(cls, payments):
        pass

    @classmethod
    @ModelView.button_action('br_boleto_cnab.wizard_boleto_abatement')
    def boleto_grant_abatement(cls, payments):
        pass

    @classmethod
    @ModelView.button
    def boleto_cancel_abatement(cls, payments):
        cls.queue_boleto_instruction(payments, 'cancel_abatement')

    @classmethod
    @ModelView.button
    def boleto_protest(cls, payments):
        cls.queue_boleto_instruction(payments, 'protest')

    @classmethod
    @ModelView.button
    def boleto_cancel_protest(cls, payments):
        cls.queue_boleto_instruction(payments, 'stop_protest_keep')

    @classmethod
    def queue_boleto_instruction(cls, payments, instruction, **values):
        """Queue instruction on payments for the next remessa: on all of
        them or, when one cannot take it, on none (BoletoError).

        values: amount and date of a discount, amount of an abatement."""
        for payment in payments:
            payment.check_boleto_instruction(instruction, **values)
        for payment in payments:
            getattr(payment, '_set_boleto_%s' % instruction)(**values)
            if not (instruction in _TITLE_DATA
                    and payment.boleto_state in {None, 'to_register'}):
                payment.boleto_instruction = instruction
        cls.save(payments)

    def _boleto_instruction_label(self, instruction):
        selection = self.fields_get(['boleto_instruction'])[
            'boleto_instruction']['selection']
        return dict(selection).get(instruction, instruction)

    def check_boleto_instruction(self, instruction, **values):
        "Raise BoletoError when the title cannot take instruction now"
        label = self._boleto_instruction_label(instruction)
        before_sending = (instruction in _TITLE_DATA
            and self.boleto_state in {None, 'to_register'})
        if (self.process_method != 'boleto'
                or self.state not in {'submitted', 'processing'}
                or not (before_sending or self.boleto_state in _AT_BANK)):
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_boleto_instruction_state',
                    payment=self.rec_name, instruction=label))
        if (self.boleto_instruction == instruction
                and instruction not in _REPLACEABLE):
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_boleto_instruction_same_pending',
                    payment=self.rec_name, instruction=label))
        if (self.boleto_instruction
                and self.boleto_instruction not in {'new', instruction}):
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_boleto_instruction_pending',
                    payment=self.rec_name, instruction=label,
                    pending=self._boleto_instruction_label(
                        self.boleto_instruction)))
        if not before_sending:
            journal = self.journal
            try:
                instruction_code(journal.boleto_bank,
                    journal.boleto_cnab_layout, instruction)
            except ValueError:
                bank = BANKS.get(journal.boleto_bank)
                raise BoletoError(gettext(
                        'br_boleto_cnab.msg_boleto_instruction_unsupported',
                        bank='%s - %s' % (journal.boleto_bank,
                            bank.name if bank else '?'),
                        layout=journal.boleto_cnab_layout,
                        instruction=label, payment=self.rec_name))
        getattr(self, '_check_boleto_%s' % instruction)(**values)

    def _check_boleto_amount(self, amount, instruction):
        if amount is None or not (0 < amount < self.amount):
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_boleto_instruction_amount',
                    payment=self.rec_name, amount=amount,
                    instruction=self._boleto_instruction_label(instruction),
                    title_amount=self.amount))

    def _check_boleto_discount(self, amount=None, date=None):
        self._check_boleto_amount(amount, 'discount')
        if date is None or date > self.boleto_due_date:
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_boleto_discount_date',
                    payment=self.rec_name, date=date,
                    due_date=self.boleto_due_date))

    def _set_boleto_discount(self, amount, date):
        self.boleto_discount = amount
        self.boleto_discount_date = date

    def _check_boleto_abatement(self, amount=None):
        self._check_boleto_amount(amount, 'abatement')
        if (self.boleto_abatement and self.boleto_state in _AT_BANK
                and self.boleto_instruction != 'abatement'):
            # The bank has it: a second grant would be sent again
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_boleto_abatement_granted',
                    payment=self.rec_name,
                    abatement=self.boleto_abatement))

    def _set_boleto_abatement(self, amount):
        self.boleto_abatement = amount

    def _check_boleto_cancel_abatement(self):
        if not self.boleto_abatement:
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_boleto_no_abatement',
                    payment=self.rec_name))

    def _set_boleto_cancel_abatement(self):
        # The bank's cancellation (code 05) needs no amount
        self.boleto_abatement = None

    def _check_boleto_protest(self):
        if self.boleto_protested:
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_boleto_protested',
                    payment=self.rec_name))

    def _set_boleto_protest(self):
        self.boleto_protested = True

    def _check_boleto_stop_protest_keep(self):
        if not self.boleto_protested:
            raise BoletoError(gettext(
                    'br_boleto_cnab.msg_boleto_not_protested',
                    payment=self.rec_name))

    def _set_boleto_stop_protest_keep(self):
        self.boleto_protested = False

    def _check_boleto_write_off(self):
        # Any open title may be written off: the common checks suffice.
        pass

    def _check_boleto_due_date_change(self):
        # The second copy wizard checks the new date (second_copy.py).
        pass

    def _set_boleto_write_off(self):
        # The pending instruction is the whole change: the title is
        # written off when the bank confirms it in a retorno.
        pass

    @classmethod
    def issue_second_copy(cls, payments, due_date):
        # A second copy of a title at the bank sends the due-date change:
        # refuse it as any other instruction the bank cannot take now.
        for payment in payments:
            if payment.boleto_state in _AT_BANK:
                payment.check_boleto_instruction('due_date_change')
        super().issue_second_copy(payments, due_date)

    def get_boleto_remessa_title(self):
        title = super().get_boleto_remessa_title()
        if self.boleto_discount:
            # C021 código do desconto 1: valor fixo até a data informada
            title['codigo_desconto'] = '1'
            title['desconto'] = self.boleto_discount
            title['data_desconto'] = self.boleto_discount_date
        if self.boleto_abatement:
            title['abatimento'] = self.boleto_abatement
        if self.boleto_protested:
            # C026 código para protesto 1: dias corridos
            title['codigo_protesto'] = '1'
        return title


class InstructionStart(ModelView):
    "Boleto Instruction"
    __name__ = 'account.payment.boleto.instruction.start'
    payment = fields.Many2One('account.payment', "Title", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)
    instruction = fields.Selection('get_instructions', "Instruction",
        readonly=True)
    title_amount = Monetary("Title Amount", currency='currency',
        digits='currency', readonly=True)
    due_date = fields.Date("Due Date", readonly=True)
    amount = Monetary("Amount", currency='currency', digits='currency',
        required=True,
        domain=[
            ('amount', '>', 0),
            ('amount', '<', Eval('title_amount', 0)),
            ])
    date = fields.Date("Discount Until",
        domain=[If(Eval('instruction') == 'discount',
                ('date', '<=', Eval('due_date')), ())],
        states={
            'invisible': Eval('instruction') != 'discount',
            'required': Eval('instruction') == 'discount',
            })

    @classmethod
    def get_instructions(cls):
        pool = Pool()
        Payment = pool.get('account.payment')
        return Payment.fields_get(['boleto_instruction'])[
            'boleto_instruction']['selection']


class _AmountInstruction(Wizard):
    start = StateView('account.payment.boleto.instruction.start',
        'br_boleto_cnab.instruction_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Queue", 'queue', 'tryton-ok', default=True),
            ])
    queue = StateTransition()
    instruction = None

    def default_start(self, fields):
        payment = self.record
        return {
            'payment': payment.id,
            'currency': payment.currency.id,
            'instruction': self.instruction,
            'title_amount': payment.amount,
            'due_date': payment.boleto_due_date,
            'date': payment.boleto_due_date,
            }

    def _get_values(self):
        return {'amount': self.start.amount}

    def transition_queue(self):
        pool = Pool()
        Payment = pool.get('account.payment')
        Payment.queue_boleto_instruction([self.record], self.instruction,
            **self._get_values())
        return 'end'


class GrantDiscount(_AmountInstruction):
    "Grant Boleto Discount"
    __name__ = 'account.payment.boleto.discount'
    instruction = 'discount'

    def _get_values(self):
        return dict(super()._get_values(), date=self.start.date)


class GrantAbatement(_AmountInstruction):
    "Grant Boleto Abatement"
    __name__ = 'account.payment.boleto.abatement'
    instruction = 'abatement'
