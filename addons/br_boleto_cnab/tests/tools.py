# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Set-up shared by the retorno tests and tests/bench/retorno.py."""
from trytond.modules.br_boleto_cnab.cnab_retorno import build_retorno_400
from trytond.pool import Pool

__all__ = ['create_itau_journal', 'liquidation_retorno']


def create_itau_journal(company, name='Itaú'):
    """Return an Itaú CNAB 400 boleto journal of company, settled on the
    chart's cash account and cash journal, fees, discounts and
    abatements to an expense account, interest and fine to a revenue
    account (call it inside set_company(company))."""
    pool = Pool()
    Account = pool.get('account.account')
    Journal = pool.get('account.journal')
    PaymentJournal = pool.get('account.payment.journal')
    Sequence = pool.get('ir.sequence')
    ModelData = pool.get('ir.model.data')

    def account(kind):
        return Account.search([('company', '=', company.id),
                ('type.%s' % kind, '=', True),
                ('closed', '!=', True)], limit=1)[0]
    expense, revenue = account('expense'), account('revenue')
    cash, = Account.search([('company', '=', company.id),
            ('code', '=', '1.1.1')])
    cash_journal, = Journal.search([('type', '=', 'cash')])
    sequence = Sequence(name='Nosso número %s' % name,
        sequence_type=ModelData.get_id('br_boleto_cnab',
            'sequence_type_nosso_numero'))
    sequence.save()
    journal = PaymentJournal(name=name, process_method='boleto',
        boleto_bank='341', boleto_cnab_layout='400',
        boleto_agency='0607', boleto_account='15255',
        boleto_account_dv='0', boleto_carteira='109',
        boleto_sequence=sequence, boleto_account_journal=cash_journal,
        boleto_bank_account=cash, boleto_fee_account=expense,
        boleto_discount_account=expense,
        boleto_abatement_account=expense,
        boleto_interest_account=revenue, boleto_fine_account=revenue)
    journal.save()
    return journal


def liquidation_retorno(numbers, amount, paid, credit, interest, fine, fee):
    """Return an Itaú CNAB 400 retorno liquidating (occurrence 06) each
    nosso número of numbers, paid late on paid with interest and fine,
    credited on credit less the bank fee."""
    return build_retorno_400('341', credit, ({
                'nosso_numero': '%08d' % int(n), 'codigo_ocorrencia': '06',
                'data_ocorrencia': paid, 'valor_titulo': amount,
                'valor_pago': amount + interest + fine,
                'juros_mora': interest, 'outros_creditos': fine,
                'valor_tarifa': fee, 'data_credito': credit}
            for n in numbers))
