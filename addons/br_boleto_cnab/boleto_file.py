# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import hashlib

from sql.aggregate import Max

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction, TransactionError

from .cnab import CnabError
from .cnab_file import parse_retorno
from .exceptions import RetornoError
from .payment import remessa_file


class BoletoFile(ModelSQL, ModelView):
    "CNAB File"
    __name__ = 'account.payment.boleto.file'
    _rec_name = 'name'
    # Parsed retornos kept for the restart of their import's transaction
    _parsed_retornos = {}
    name = fields.Char("File Name", required=True, readonly=True)
    company = fields.Many2One('company.company', "Company", required=True,
        readonly=True)
    journal = fields.Many2One('account.payment.journal', "Journal",
        required=True, readonly=True, ondelete='RESTRICT')
    kind = fields.Selection([
            ('remessa', "Remessa"),
            ('retorno', "Retorno"),
            ], "Kind", required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    sequence = fields.Integer("Sequence", readonly=True,
        help="The file number (NSA) of a remessa.")
    data = fields.Binary("File", filename='name', readonly=True)
    group = fields.Many2One('account.payment.group', "Payment Group",
        readonly=True, ondelete='RESTRICT')
    payments = fields.Many2Many('account.payment.boleto.file-payment',
        'file', 'payment', "Titles", readonly=True)
    occurrences = fields.One2Many('account.payment.boleto.occurrence',
        'file', "Occurrences", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))
        cls._order.insert(1, ('id', 'DESC'))
        t = cls.__table__()
        cls._sql_constraints += [
            ('remessa_sequence_unique',
                Unique(t, t.journal, t.kind, t.sequence),
                'br_boleto_cnab.msg_file_sequence_unique'),
            ]

    @classmethod
    def _next_sequence(cls, journal):
        pool = Pool()
        Journal = pool.get('account.payment.journal')
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        # Two remessas of one journal must not share a file number
        Journal.lock([journal])
        cursor.execute(*table.select(Max(table.sequence),
                where=(table.journal == journal.id)
                & (table.kind == 'remessa')))
        last, = cursor.fetchone()
        return (last or 0) + 1

    @classmethod
    def create_remessa(cls, journal, payments, date, group=None):
        "Create the remessa of payments' pending instructions"
        pool = Pool()
        Payment = pool.get('account.payment')
        sequence = cls._next_sequence(journal)
        name, data = remessa_file(journal, payments, date, sequence)
        remessa = cls(name=name, company=journal.company, journal=journal,
            kind='remessa', date=date, sequence=sequence, data=data,
            group=group, payments=payments)
        remessa.save()
        for payment in payments:
            if payment.boleto_state in {None, 'to_register', 'rejected'}:
                payment.boleto_state = 'sent'
            payment.boleto_instruction = None
        Payment.save(payments)
        return remessa

    @classmethod
    def import_retorno(cls, journal, data, name, date=None):
        """Import a retorno file of journal: all or nothing.

        A file with any broken record raises RetornoError listing every
        error with its line, and changes nothing. Return the file record
        and the summary of record() (occurrences, skipped, unmatched)."""
        pool = Pool()
        Date = pool.get('ir.date')
        Occurrence = pool.get('account.payment.boleto.occurrence')
        if date is None:
            with Transaction().set_context(company=journal.company.id):
                date = Date.today()
        key = (Transaction().database.name, journal.id, date,
            hashlib.blake2b(data, digest_size=20).digest())
        parsed = cls._parsed_retornos.pop(key, None)
        if parsed is None:
            parsed = cls._parse_retorno(journal, data, name, date)
        file_date, rows = parsed
        try:
            Occurrence.lock_retorno(journal, rows, name)
        except TransactionError:
            # The transaction restarts with the locks: keep what parsing
            # and checking the file took (5 s for 100,000 titles) for it
            if len(cls._parsed_retornos) > 2:
                cls._parsed_retornos.clear()
            cls._parsed_retornos[key] = parsed
            raise
        retorno = cls(name=name, company=journal.company, journal=journal,
            kind='retorno', date=file_date or date, data=data)
        retorno.save()
        summary = Occurrence.record(journal, retorno, rows)
        return retorno, summary

    @classmethod
    def _parse_retorno(cls, journal, data, name, date):
        "The file date and occurrence rows of a retorno, or raise"
        pool = Pool()
        Occurrence = pool.get('account.payment.boleto.occurrence')
        try:
            result = parse_retorno(data, bank=journal.boleto_bank)
        except CnabError as exc:
            cls._raise_retorno_errors(name, exc.errors)
        if result.header_bank_code != journal.boleto_bank:
            cls._raise_retorno_errors(name, [(1, gettext(
                            'br_boleto_cnab.msg_retorno_other_bank',
                            bank=result.header_bank_code,
                            journal_bank=journal.boleto_bank))])
        rows, errors = Occurrence.rows_from_retorno(journal, result, date)
        if errors:
            cls._raise_retorno_errors(name, errors)
        return result.file_date, rows

    @classmethod
    def _raise_retorno_errors(cls, name, errors):
        lines = '\n'.join(
            gettext('br_boleto_cnab.msg_retorno_error_line',
                line=line or '-', error=error)
            for line, error in errors)
        raise RetornoError(gettext('br_boleto_cnab.msg_retorno_broken',
                file=name, count=len(errors)), lines)


class BoletoFilePayment(ModelSQL):
    "CNAB File - Payment"
    __name__ = 'account.payment.boleto.file-payment'
    file = fields.Many2One('account.payment.boleto.file', "File",
        required=True, ondelete='CASCADE')
    payment = fields.Many2One('account.payment', "Payment", required=True,
        ondelete='CASCADE')
