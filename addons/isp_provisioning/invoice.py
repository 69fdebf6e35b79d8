# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.pool import Pool, PoolMeta


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def paid(cls, invoices):
        super().paid(invoices)
        cls._restore_accesses(invoices)

    @classmethod
    def _restore_accesses(cls, invoices):
        """Restore, on the day of payment, the accesses of the invoices'
        contracts left with nothing overdue beyond the policy (RGC
        765/2023, art. 78: within 1 day of payment, no reconnection fee).

        Whatever paid the invoice (bank return file, PIX, a manual
        payment) reconciles it, which is what calls this."""
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        Access = pool.get('isp.access')
        Date = pool.get('ir.date')
        charges = Charge.search([
                ('invoice', 'in', [i.id for i in invoices]),
                ])
        contracts = {c.contract.id for c in charges}
        if not contracts:
            return
        accesses = Access.search([
                ('contract', 'in', list(contracts)),
                ('state', 'in', ['reduced', 'blocked']),
                ])
        if not accesses:
            return
        # Judged on the payment's day, not on the day it is recorded.
        date = max(
            (i.reconciled for i in invoices if i.reconciled),
            default=None) or Date.today()
        Access.update_accesses(
            date=date, accesses=accesses, restore_only=True)
