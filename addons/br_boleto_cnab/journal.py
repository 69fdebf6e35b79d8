# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, Id
from trytond.transaction import Transaction

from .boleto_banks import BANKS
from .exceptions import BoletoJournalError
from .late_charge import DEFAULT_INTEREST_PERCENT, FINE_CAP_PERCENT

_BOLETO = {
    'invisible': Eval('process_method') != 'boleto',
    'required': Eval('process_method') == 'boleto',
    }
_BOLETO_OPTIONAL = {
    'invisible': Eval('process_method') != 'boleto',
    }


def _account(string, help=None, type_=None, required=True):
    domain = [
        ('company', '=', Eval('company', -1)),
        ('closed', '!=', True),
        ]
    if type_:
        domain.append(('type.%s' % type_, '=', True))
    return fields.Many2One('account.account', string, domain=domain,
        states=_BOLETO if required else _BOLETO_OPTIONAL, help=help)


class Journal(metaclass=PoolMeta):
    __name__ = 'account.payment.journal'

    boleto_bank = fields.Selection('get_boleto_banks', "Bank",
        states=_BOLETO, sort=True)
    boleto_agency = fields.Char("Agency", states=_BOLETO)
    boleto_agency_dv = fields.Char("Agency Digit", size=1,
        states=_BOLETO_OPTIONAL)
    boleto_account = fields.Char("Account", states=_BOLETO)
    boleto_account_dv = fields.Char("Account Digit", size=1,
        states=_BOLETO_OPTIONAL)
    boleto_carteira = fields.Char("Carteira", states=_BOLETO,
        help="The bank's collection portfolio code.")
    boleto_convenio = fields.Char("Beneficiary Code", states=_BOLETO_OPTIONAL,
        help="Convênio or beneficiary code given by the bank.")
    boleto_sequence = fields.Many2One('ir.sequence', "Nosso Número Sequence",
        states=_BOLETO,
        domain=[
            ('sequence_type', '=',
                Id('br_boleto_cnab', 'sequence_type_nosso_numero')),
            ('company', 'in', [Eval('company', -1), None]),
            ])
    boleto_cnab_layout = fields.Selection([
            (None, ""),
            ('240', "CNAB 240"),
            ('400', "CNAB 400"),
            ], "CNAB Layout", states=_BOLETO)
    boleto_fine_percent = fields.Numeric("Fine %", digits=(4, 2),
        states=_BOLETO,
        help="Late fee charged once on overdue titles; at most 2% "
        "(CDC art. 52 §1).")
    boleto_interest_percent = fields.Numeric("Monthly Interest %",
        digits=(4, 2), states=_BOLETO,
        help="Late interest per month, charged pro rata die.")
    boleto_protest_days = fields.Integer("Protest Days",
        states=_BOLETO_OPTIONAL,
        domain=['OR',
            ('boleto_protest_days', '=', None),
            ('boleto_protest_days', '>=', 0),
            ],
        help="Days after the due date to protest; empty for no protest.")
    boleto_pix_key = fields.Char("PIX Key", states=_BOLETO_OPTIONAL,
        help="Set when the bank issues boleto híbrido (boleto with a PIX "
        "QR code).")
    boleto_account_journal = fields.Many2One('account.journal',
        "Account Journal", states=_BOLETO,
        help="The journal of the moves created by retorno liquidations.")
    boleto_bank_account = _account("Bank Account",
        help="Debited with the net amount credited by the bank.")
    boleto_interest_account = _account("Interest Account",
        help="Credited with the late interest received.")
    boleto_fine_account = _account("Fine Account",
        help="Credited with the late fee received.")
    boleto_fee_account = _account("Bank Fee Account",
        help="Debited with the bank fees of the titles.")
    boleto_discount_account = _account("Discount Account",
        help="Debited with the discounts granted.")
    boleto_abatement_account = _account("Abatement Account",
        help="Debited with the abatements granted.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.process_method.selection.append(('boleto', "Boleto"))
        cls._buttons.update({
                'boleto_send_instructions': {
                    'invisible': Eval('process_method') != 'boleto',
                    'depends': ['process_method'],
                    },
                })

    @classmethod
    def get_boleto_banks(cls):
        return [(None, '')] + sorted(
            (code, '%s - %s' % (code, bank.name))
            for code, bank in BANKS.items())

    @classmethod
    def default_boleto_cnab_layout(cls):
        return '400'

    @classmethod
    def default_boleto_fine_percent(cls):
        return FINE_CAP_PERCENT

    @classmethod
    def default_boleto_interest_percent(cls):
        return DEFAULT_INTEREST_PERCENT

    @classmethod
    def validate_fields(cls, journals, field_names):
        super().validate_fields(journals, field_names)
        cls.check_boleto_rates(journals, field_names)

    @classmethod
    def check_boleto_rates(cls, journals, field_names=None):
        if field_names and not (field_names & {
                    'boleto_fine_percent', 'boleto_interest_percent'}):
            return
        for journal in journals:
            fine = journal.boleto_fine_percent
            if fine is not None and not (0 <= fine <= FINE_CAP_PERCENT):
                raise BoletoJournalError(gettext(
                        'br_boleto_cnab.msg_journal_fine_cap',
                        journal=journal.rec_name, fine=fine,
                        cap=FINE_CAP_PERCENT))
            interest = journal.boleto_interest_percent
            if interest is not None and interest < 0:
                raise BoletoJournalError(gettext(
                        'br_boleto_cnab.msg_journal_interest_negative',
                        journal=journal.rec_name, interest=interest))

    @classmethod
    @ModelView.button
    def boleto_send_instructions(cls, journals, date=None):
        """Write a remessa with the instructions pending on titles already
        at the bank (due-date changes, write-offs...), when there are some.
        New titles go with their payment group."""
        pool = Pool()
        Payment = pool.get('account.payment')
        File = pool.get('account.payment.boleto.file')
        Date = pool.get('ir.date')
        files = []
        for journal in journals:
            payments = Payment.search([
                    ('journal', '=', journal.id),
                    ('state', '=', 'processing'),
                    ('boleto_instruction', '!=', None),
                    ], order=[('id', 'ASC')])
            if payments:
                with Transaction().set_context(company=journal.company.id):
                    today = date or Date.today()
                files.append(File.create_remessa(journal, payments, today))
        return files

    def get_boleto_company_data(self):
        "The beneficiary as the remessa writer wants it (cnab_remessa)"
        party = self.company.party
        document = party.tax_identifier
        code = document.code if document else ''
        digits = ''.join(c for c in code if c.isdigit())
        return {
            'tipo_inscricao': 1 if len(digits) == 11 else 2,
            'inscricao': digits,
            'convenio': self.boleto_convenio or '',
            'agencia': self.boleto_agency,
            'agencia_dv': self.boleto_agency_dv or '',
            'conta': self.boleto_account,
            'conta_dv': self.boleto_account_dv or '',
            'nome': party.name,
            }

    def get_boleto_fine_percent(self):
        return min(self.boleto_fine_percent or Decimal(0), FINE_CAP_PERCENT)
