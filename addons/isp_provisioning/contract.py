# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from collections import defaultdict

from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    accesses = fields.One2Many(
        'isp.access', 'contract', "Internet Accesses", readonly=True)

    @classmethod
    @ModelView.button
    @Workflow.transition('running')
    def run(cls, contracts):
        pool = Pool()
        Access = pool.get('isp.access')
        super().run(contracts)
        Access.save(cls._get_new_accesses(contracts))

    @classmethod
    def _get_new_accesses(cls, contracts):
        "Return the accesses of the connectivity lines without one yet"
        pool = Pool()
        Access = pool.get('isp.access')
        existing = {a.contract_line.id for a in Access.search([
                    ('contract', 'in', [c.id for c in contracts]),
                    ]) if a.contract_line}
        accesses = []
        for contract in contracts:
            plan = contract.plan
            if not plan or not plan.connectivity:
                continue
            lines = [l for l in contract.lines
                if l.service == plan.service and l.id not in existing]
            for i, line in enumerate(lines):
                accesses.append(contract._get_access(line, i))
        return accesses

    def _get_access(self, line, index):
        pool = Pool()
        Access = pool.get('isp.access')
        plan = self.plan
        login = self.number or str(self.id)
        if index:
            login = '%s-%d' % (login, index + 1)
        return Access(
            company=self.company, contract=self, contract_line=line,
            party=self.party, login=login,
            download_kbps=plan.download_kbps,
            upload_kbps=plan.upload_kbps,
            reduced_download_kbps=plan.reduced_download_kbps,
            reduced_upload_kbps=plan.reduced_upload_kbps,
            backend=plan.provisioning_backend)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, contracts, date=None):
        pool = Pool()
        Access = pool.get('isp.access')
        super().cancel(contracts, date=date)
        accesses = Access.search([
                ('contract', 'in', [c.id for c in contracts]),
                ('state', '!=', 'cancelled'),
                ])
        Access.cancel(accesses, date=date)

    @classmethod
    @Workflow.transition('closed')
    def close(cls, contracts):
        pool = Pool()
        Access = pool.get('isp.access')
        super().close(contracts)
        accesses = Access.search([
                ('contract', 'in', [c.id for c in contracts]),
                ('state', '!=', 'cancelled'),
                ])
        # The access ends with the contract's term.
        by_date = defaultdict(list)
        for access in accesses:
            contract = access.contract
            by_date[contract.end_date or contract.billed_until].append(access)
        for date, date_accesses in by_date.items():
            Access.cancel(date_accesses, date=date)
