# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.wizard import Button, StateTransition, StateView, Wizard


class ImportRetornoStart(ModelView):
    "Import Retorno"
    __name__ = 'account.payment.boleto.retorno.import.start'
    journal = fields.Many2One('account.payment.journal', "Journal",
        required=True, domain=[('process_method', '=', 'boleto')])
    file_ = fields.Binary("File", required=True, filename='filename')
    filename = fields.Char("File Name")


class ImportRetornoResult(ModelView):
    "Import Retorno"
    __name__ = 'account.payment.boleto.retorno.import.result'
    retorno = fields.Many2One('account.payment.boleto.file', "Retorno",
        readonly=True)
    occurrences = fields.Integer("Occurrences Recorded", readonly=True)
    paid = fields.Integer("Titles Paid", readonly=True)
    skipped = fields.Integer("Already Imported", readonly=True,
        help="Occurrences found in a file imported before.")
    unmatched = fields.Text("Unknown Titles", readonly=True)


class ImportRetorno(Wizard):
    "Import Retorno"
    __name__ = 'account.payment.boleto.retorno.import'
    start = StateView('account.payment.boleto.retorno.import.start',
        'br_boleto_cnab.retorno_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    result = StateView('account.payment.boleto.retorno.import.result',
        'br_boleto_cnab.retorno_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_import_(self):
        pool = Pool()
        File = pool.get('account.payment.boleto.file')
        Occurrence = pool.get('account.payment.boleto.occurrence')
        name = self.start.filename or 'retorno.ret'
        retorno, (occurrences, skipped, unmatched) = File.import_retorno(
            self.start.journal, self.start.file_, name)
        self.result.retorno = retorno
        self.result.occurrences = len(occurrences)
        # Counted in the database: the reconcile stores most moves below
        # the ORM, and reading 100,000 occurrences back takes seconds.
        self.result.paid = Occurrence.search_count([
                ('file', '=', retorno.id),
                ('move', '!=', None),
                ])
        self.result.skipped = skipped
        self.result.unmatched = '\n'.join(
            gettext('br_boleto_cnab.msg_retorno_unmatched',
                line=o.line_number, nosso_numero=o.nosso_numero, code=o.code)
            for o in unmatched)
        return 'result'

    def default_result(self, fields):
        return {
            'retorno': self.result.retorno.id,
            'occurrences': self.result.occurrences,
            'paid': self.result.paid,
            'skipped': self.result.skipped,
            'unmatched': self.result.unmatched,
            }
