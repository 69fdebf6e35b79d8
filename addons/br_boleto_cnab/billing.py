# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.pool import Pool, PoolMeta


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def bill(cls, contracts, date):
        """Register the boleto titles of the posted invoices of the chunk.

        bill() runs in the chunk's transaction, so an invoice and its
        title are committed together or not at all: a restarted or
        concurrent run cannot create a second title (the invoice is not
        billed twice), and a title that cannot be built fails its
        contract like any other billing error, with nothing half-done.
        The customer's e-mail is queued, never sent here."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoices = super().bill(contracts, date)
        posted = [i for i in invoices if i.state == 'posted']
        if posted:
            Invoice.register_boletos(date, posted)
        return invoices
