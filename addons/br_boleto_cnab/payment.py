# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime

from sql import Null

from trytond.i18n import gettext
from trytond.model import Index, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from . import boleto as boleto_format
from . import pix
from .boleto_banks import make_boleto, split_dv
from .cnab import CnabError
from .cnab_remessa import build_remessa, remessa_filename
from .exceptions import BoletoError, RemessaError
from .late_charge import daily_interest


def nosso_numero_key(value):
    "Digits of a nosso número without leading zeros ('' when none)"
    digits = ''.join(c for c in (value or '') if c.isdigit())
    return digits.lstrip('0') or ('0' if digits else '')

BOLETO_STATES = [
    (None, ""),
    ('to_register', "To Register"),
    ('sent', "Sent to Bank"),
    ('registered', "Registered"),
    ('rejected', "Rejected"),
    ('paid', "Paid"),
    ('written_off', "Written Off"),
    ]
# Remessa instructions (cnab_layouts_remessa.INSTRUCTIONS actions)
BOLETO_INSTRUCTIONS = [
    (None, ""),
    ('new', "New Title"),
    ('due_date_change', "Due Date Change"),
    ('write_off', "Write-Off"),
    ('abatement', "Abatement"),
    ('cancel_abatement', "Cancel Abatement"),
    ('discount', "Discount"),
    ('protest', "Protest"),
    ('stop_protest_keep', "Cancel Protest"),
    ('negativacao', "Negativação"),
    ('cancel_negativacao', "Cancel Negativação"),
    ]
_BOLETO = {'invisible': Eval('process_method') != 'boleto'}


def party_document(party):
    "Digits of the party's CNPJ or CPF ('' when it has none)"
    for identifier in party.identifiers:
        if identifier.type in ('br_vat', 'br_cpf'):
            return ''.join(c for c in identifier.code if c.isdigit())
    if party.tax_identifier:
        return ''.join(c for c in party.tax_identifier.code if c.isdigit())
    return ''


class Payment(metaclass=PoolMeta):
    __name__ = 'account.payment'

    boleto_nosso_numero = fields.Char("Nosso Número", readonly=True,
        states=_BOLETO,
        help="The title number at the bank, without its check digit.")
    boleto_nosso_numero_dv = fields.Char("Nosso Número Digit", readonly=True,
        states=_BOLETO)
    boleto_nosso_numero_printed = fields.Char("Printed Nosso Número",
        readonly=True, states=_BOLETO)
    boleto_barcode = fields.Char("Barcode", readonly=True, states=_BOLETO)
    boleto_typed_line = fields.Char("Typed Line", readonly=True,
        states=_BOLETO)
    boleto_pix_code = fields.Text("PIX BR Code", readonly=True,
        states=_BOLETO)
    boleto_due_date = fields.Date("Due Date", readonly=True, states=_BOLETO)
    boleto_issue_date = fields.Date("Issue Date", readonly=True,
        states=_BOLETO)
    boleto_state = fields.Selection(BOLETO_STATES, "Boleto State",
        readonly=True, states=_BOLETO)
    boleto_instruction = fields.Selection(BOLETO_INSTRUCTIONS,
        "Pending Instruction", readonly=True, states=_BOLETO,
        help="Sent to the bank with the next remessa.")
    boleto_fine_percent = fields.Numeric("Fine %", digits=(4, 2),
        readonly=True, states=_BOLETO)
    boleto_interest_percent = fields.Numeric("Monthly Interest %",
        digits=(4, 2), readonly=True, states=_BOLETO)
    boleto_fine = Monetary("Fine", currency='currency', digits='currency',
        readonly=True, states=_BOLETO,
        help="Fine charged on the second copy.")
    boleto_interest = Monetary("Interest", currency='currency',
        digits='currency', readonly=True, states=_BOLETO,
        help="Interest charged on the second copy.")
    boleto_occurrences = fields.One2Many('account.payment.boleto.occurrence',
        'payment', "Occurrences", readonly=True, states=_BOLETO)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('boleto_nosso_numero_unique',
                Unique(t, t.journal, t.boleto_nosso_numero),
                'br_boleto_cnab.msg_payment_nosso_numero_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.boleto_nosso_numero, Index.Equality()),
                where=t.boleto_nosso_numero != Null))
        cls._buttons.update({
                'boleto_second_copy': {
                    'invisible': ((Eval('process_method') != 'boleto')
                        | ~Eval('state').in_(['submitted', 'processing'])
                        | ~Eval('boleto_barcode')),
                    'depends': ['process_method', 'state', 'boleto_barcode'],
                    },
                'boleto_write_off': {
                    'invisible': ((Eval('process_method') != 'boleto')
                        | (Eval('state') != 'processing')
                        | ~Eval('boleto_state').in_(['sent', 'registered'])
                        | Eval('boleto_instruction')),
                    'depends': ['process_method', 'state', 'boleto_state',
                        'boleto_instruction'],
                    },
                })

    @classmethod
    def process_method_with_group(cls):
        return super().process_method_with_group() + ['boleto']

    @classmethod
    def copy(cls, payments, default=None):
        default = {} if default is None else default.copy()
        for name in ['boleto_nosso_numero', 'boleto_nosso_numero_dv',
                'boleto_nosso_numero_printed', 'boleto_barcode',
                'boleto_typed_line', 'boleto_pix_code', 'boleto_due_date',
                'boleto_issue_date', 'boleto_state', 'boleto_instruction',
                'boleto_fine', 'boleto_interest', 'boleto_occurrences']:
            default.setdefault(name, None)
        return super().copy(payments, default=default)

    @property
    def boleto_open_amount(self):
        "Title amount to print: the payment amount plus charges"
        return (self.amount + (self.boleto_fine or 0)
            + (self.boleto_interest or 0))

    def _get_boleto_input(self, due_date, amount):
        "Keyword arguments of boleto_banks.make_boleto for this title"
        journal = self.journal
        return {
            'bank': journal.boleto_bank,
            'due_date': due_date,
            'amount': amount,
            'agencia': journal.boleto_agency,
            'conta': ('%s-%s' % (journal.boleto_account,
                    journal.boleto_account_dv)
                if journal.boleto_account_dv else journal.boleto_account),
            'carteira': journal.boleto_carteira,
            'nosso_numero': self.boleto_nosso_numero,
            'convenio': journal.boleto_convenio or '',
            'extra': {'seu_numero': self.number},
            }

    def _get_boleto_pix(self, amount):
        "PIX BR Code of a boleto híbrido, or None without a PIX key"
        journal = self.journal
        if not journal.boleto_pix_key:
            return None
        company = journal.company.party
        address = company.address_get()
        city = (address.city if address and address.city else 'BRASIL')
        txid = ('%s%s' % (journal.boleto_bank, self.boleto_nosso_numero))
        return pix.encode(pix.normalize_text(company.name)[:25],
            pix.normalize_text(city)[:15], key=journal.boleto_pix_key,
            amount=str(amount), txid=txid[:25])

    def set_boleto(self, due_date, amount):
        "Compute barcode, typed line and PIX code for due_date and amount"
        try:
            boleto = make_boleto(**self._get_boleto_input(due_date, amount))
            pix_code = self._get_boleto_pix(boleto.amount)
        except (boleto_format.BoletoError, pix.PixError) as exc:
            raise BoletoError(gettext('br_boleto_cnab.msg_boleto_invalid',
                    payment=self.rec_name, error=str(exc))) from exc
        number, dv = split_dv(boleto.nosso_numero)
        self.boleto_nosso_numero_printed = boleto.nosso_numero
        self.boleto_nosso_numero_dv = dv or ''
        self.boleto_barcode = boleto.barcode
        self.boleto_typed_line = boleto.typed_line_formatted
        self.boleto_pix_code = pix_code
        self.boleto_due_date = due_date

    @classmethod
    def create_boletos(cls, lines, date=None, due_date=None):
        """Create and submit one boleto title per line to pay, for what
        the line still has to pay (the remainder of a partial payment).

        lines: (move line, payment journal) pairs; due_date, when given,
        replaces the lines' maturity. Return the payments."""
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        payments = []
        for line, journal in lines:
            payment = cls(
                company=journal.company, journal=journal,
                kind='receivable', party=line.party, line=line,
                date=due_date or line.maturity_date or date,
                amount=line.payment_amount,
                boleto_issue_date=date,
                boleto_state='to_register', boleto_instruction='new',
                boleto_fine_percent=journal.get_boleto_fine_percent(),
                boleto_interest_percent=journal.boleto_interest_percent)
            payments.append(payment)
        # Saved first: the boleto carries the payment number (seu número)
        cls.save(payments)
        for payment in payments:
            payment.boleto_nosso_numero = nosso_numero_key(
                payment.journal.boleto_sequence.get())
            payment.set_boleto(max(payment.date, date), payment.amount)
        cls.save(payments)
        cls.submit(payments)
        return payments

    @classmethod
    @ModelView.button_action('br_boleto_cnab.wizard_second_copy')
    def boleto_second_copy(cls, payments):
        pass

    @classmethod
    @ModelView.button
    def boleto_write_off(cls, payments):
        "Queue the write-off instruction for the next remessa"
        cls.queue_boleto_instruction(payments, 'write_off')

    def get_boleto_remessa_title(self):
        "The title dict of cnab_remessa.build_remessa"
        party = self.party
        address = party.address_get()
        document = party_document(party)
        interest_percent = self.boleto_interest_percent or 0
        title = {
            'instruction': self.boleto_instruction or 'new',
            'nosso_numero': self.boleto_nosso_numero,
            'nosso_numero_dv': self.boleto_nosso_numero_dv,
            'seu_numero': self.number,
            'uso_empresa': self.number,
            'carteira': self.journal.boleto_carteira,
            'data_vencimento': self.boleto_due_date,
            'valor': self.boleto_open_amount,
            'data_emissao': self.boleto_issue_date,
            'juros_dia': daily_interest(self.amount, interest_percent),
            'data_juros': self.boleto_due_date + datetime.timedelta(days=1),
            'sacado': {
                'tipo_inscricao': 1 if len(document) == 11 else 2,
                'inscricao': document,
                'nome': party.name,
                'endereco': address.street_single_line if address else '',
                'cep': address.postal_code if address else '',
                'cidade': address.city if address else '',
                'uf': (address.subdivision.code.split('-')[-1]
                    if address and address.subdivision else ''),
                },
            }
        if self.boleto_fine_percent:
            # Segment R / multa record: percentage code 2
            title['codigo_multa'] = '2'
            title['multa'] = self.boleto_fine_percent
            title['data_multa'] = title['data_juros']
        if self.journal.boleto_protest_days:
            title['codigo_protesto'] = '1'
            title['protesto_dias'] = self.journal.boleto_protest_days
        return title


class Group(metaclass=PoolMeta):
    __name__ = 'account.payment.group'

    boleto_files = fields.One2Many('account.payment.boleto.file', 'group',
        "CNAB Files", readonly=True,
        states={'invisible': Eval('process_method') != 'boleto'})

    def process_boleto(self):
        """Write the remessa of the new titles of the group and of the
        instructions pending on titles already at the bank."""
        pool = Pool()
        Payment = pool.get('account.payment')
        File = pool.get('account.payment.boleto.file')
        Date = pool.get('ir.date')
        journal = self.journal
        with Transaction().set_context(company=self.company.id):
            date = Date.today()
        pending = Payment.search([
                ('journal', '=', journal.id),
                ('state', '=', 'processing'),
                ('boleto_instruction', '!=', None),
                ('id', 'not in', [p.id for p in self.payments]),
                ], order=[('id', 'ASC')])
        payments = list(self.payments) + pending
        File.create_remessa(journal, payments, date, group=self)


def remessa_file(journal, payments, date, sequence):
    "Return (filename, data) of the remessa of payments"
    try:
        titles = [p.get_boleto_remessa_title() for p in payments]
        data = build_remessa(journal.boleto_bank,
            journal.boleto_cnab_layout, journal.get_boleto_company_data(),
            titles, sequence, date)
        name = remessa_filename(journal.boleto_bank,
            journal.boleto_cnab_layout, date, sequence,
            company_code=journal.boleto_convenio)
    except CnabError as exc:
        raise RemessaError(gettext('br_boleto_cnab.msg_remessa_invalid',
                journal=journal.rec_name, error=str(exc))) from exc
    return name, data


class Move(metaclass=PoolMeta):
    __name__ = 'account.move'

    @classmethod
    def _get_origin(cls):
        # Liquidation moves of boleto titles come from their payment
        return super()._get_origin() + ['account.payment']
