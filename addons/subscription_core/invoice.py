# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import Workflow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def print_invoice(cls, invoices):
        # The billing run does not render every invoice: the report is
        # rendered (and cached) the first time it is opened or sent.
        if Transaction().context.get('subscription_billing'):
            return
        super().print_invoice(invoices)

    @classmethod
    @Workflow.transition('paid')
    def paid(cls, invoices):
        super().paid(invoices)
        cls._update_contracts_paid_until(invoices)

    @classmethod
    @Workflow.transition('posted')
    def post(cls, invoices):
        super().post(invoices)

    @classmethod
    def process(cls, invoices):
        super().process(invoices)
        # An invoice unreconciled back to posted moves paid-until back.
        cls._update_contracts_paid_until(invoices)

    @classmethod
    def _update_contracts_paid_until(cls, invoices):
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        Contract = pool.get('sale.subscription')
        charges = Charge.search([
                ('invoice', 'in', [i.id for i in invoices]),
                ])
        contracts = list({c.contract for c in charges})
        if contracts:
            Contract.update_paid_until(contracts)


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['sale.subscription.line']
