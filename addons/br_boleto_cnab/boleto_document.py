# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from . import boleto_pdf
from .exceptions import BoletoError
from .payment import party_document


class Payment(metaclass=PoolMeta):
    __name__ = 'account.payment'

    boleto_pdf = fields.Function(fields.Binary("Boleto PDF",
            filename='boleto_pdf_name',
            states={'invisible': ~Eval('boleto_barcode')}),
        'get_boleto_pdf')
    boleto_pdf_name = fields.Function(fields.Char("Boleto PDF Name"),
        'get_boleto_pdf_name')

    def get_boleto_pdf_name(self, name):
        if self.boleto_barcode:
            return 'boleto-%s.pdf' % (self.boleto_nosso_numero
                or self.number)

    @classmethod
    def get_boleto_pdf(cls, payments, name):
        # A Binary function field is computed only when the file is asked
        # for, so listing payments renders nothing.
        if Transaction().context.get('%s.%s' % (cls.__name__, name)) \
                == 'size':
            return {p.id: None for p in payments}
        return {p.id: (cls._get_boleto_pdf([p]) if p.boleto_barcode
                else None) for p in payments}

    @staticmethod
    def _boleto_party(party):
        address = party.address_get()
        lines = ()
        if address:
            lines = tuple(l for l in [address.street_single_line,
                    ' '.join(x for x in [address.postal_code, address.city]
                        if x)] if l)
        return boleto_pdf.Party(name=party.name,
            tax_id=party_document(party), address=lines)

    def _get_boleto_document(self):
        "The boleto_pdf.BoletoDocument of this title"
        journal = self.journal
        account = journal.boleto_account + (
            '-%s' % journal.boleto_account_dv
            if journal.boleto_account_dv else '')
        return boleto_pdf.BoletoDocument(
            bank=journal.boleto_bank,
            barcode=self.boleto_barcode,
            nosso_numero=self.boleto_nosso_numero_printed,
            document_number=self.number,
            document_date=self.boleto_issue_date,
            processing_date=self.boleto_issue_date,
            due_date=self.boleto_due_date,
            amount=self.boleto_open_amount,
            beneficiary=self._boleto_party(journal.company.party),
            beneficiary_code='%s/%s' % (journal.boleto_agency, account),
            payer=self._boleto_party(self.party),
            carteira=journal.boleto_carteira or '',
            fine_percent=self.boleto_fine_percent or None,
            interest_monthly_percent=self.boleto_interest_percent or None,
            description=tuple(self._get_boleto_description()),
            pix_payload=self.boleto_pix_code or '')

    def _get_boleto_description(self):
        "Demonstrativo lines: what the title pays"
        origin = self.line.move_origin if self.line else None
        if origin is not None and getattr(origin, 'rec_name', None):
            yield origin.rec_name

    @classmethod
    def _get_boleto_pdf(cls, payments):
        "PDF bytes of the boletos of payments, one page each"
        try:
            return boleto_pdf.render_boleto_pdf(
                [p._get_boleto_document() for p in payments])
        except boleto_pdf.BoletoPdfError as exc:
            raise BoletoError(gettext('br_boleto_cnab.msg_boleto_invalid',
                    payment=', '.join(p.rec_name for p in payments),
                    error=str(exc))) from exc
