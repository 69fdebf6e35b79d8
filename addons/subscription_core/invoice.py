# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import copy
import weakref

from trytond.model import Workflow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

# Per billing transaction: {key: taxes}
_tax_memo = weakref.WeakKeyDictionary()


class BillingTaxMemo:
    """Compute the taxes of identical invoices (and lines) once per
    billing chunk.

    The host computes them line by line, reading each tax's children
    again for every record: two thirds of the billing run's time before
    this memo. Within one billing transaction the taxes do not change,
    so the same taxes, prices, quantities, dates and language give the
    same result."""
    __slots__ = ()

    def _get_taxes(self):
        transaction = Transaction()
        if not transaction.context.get('subscription_billing'):
            return super()._get_taxes()
        key = self._get_billing_tax_key()
        memo = _tax_memo.setdefault(transaction, {})
        if key not in memo:
            memo[key] = super()._get_taxes()
        return {k: copy.copy(v) for k, v in memo[key].items()}

    def _get_billing_tax_key(self):
        return (self.__name__,
            self.company.id if self.company else None,
            self.currency.id if self.currency else None,
            self.tax_date,
            tuple(sorted(self._get_tax_context().items())),
            tuple(
                (tuple(int(t) for t in taxes), unit_price, quantity, date)
                for taxes, unit_price, quantity, date
                in self.taxable_lines))


class Invoice(BillingTaxMemo, metaclass=PoolMeta):
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


class InvoiceLine(BillingTaxMemo, metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['sale.subscription.line']
