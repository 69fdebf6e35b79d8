# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    contracts = fields.One2Many(
        'sale.subscription', 'sale', "Contracts", readonly=True)
    contract_billing_day = fields.Integer(
        "Contract Billing Day",
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="The day of the month the contracts created by this sale "
        "fall due.")

    @classmethod
    def default_contract_billing_day(cls):
        pool = Pool()
        Contract = pool.get('sale.subscription')
        return Contract.default_billing_day()

    @classmethod
    def process(cls, sales):
        super().process(sales)
        cls.create_contracts(
            [s for s in sales if s.state in {'processing', 'done'}])

    @classmethod
    def create_contracts(cls, sales):
        """Create and activate a contract for each recurring sale line.

        A line is recurring when its product is sold through a plan. Lines
        that already have their contract are skipped, so processing a sale
        again creates nothing new."""
        pool = Pool()
        Contract = pool.get('sale.subscription')
        Line = pool.get('sale.line')
        plans = Line.get_plans([l for s in sales for l in s.lines])
        contracts, lines = [], []
        for sale in sales:
            for line in sale.lines:
                plan = plans.get(line)
                if plan and not line.contract:
                    contract = sale._get_contract(line, plan)
                    contracts.append(contract)
                    lines.append(line)
        if not contracts:
            return []
        Contract.save(contracts)
        for line, contract in zip(lines, contracts):
            line.contract = contract
        Line.save(lines)
        Contract.quote(contracts)
        Contract.run(contracts)
        return contracts

    def _get_contract(self, line, plan):
        "Return the contract a recurring sale line starts"
        pool = Pool()
        Contract = pool.get('sale.subscription')
        contract = Contract(
            company=self.company,
            party=self.party,
            invoice_party=self.invoice_party,
            invoice_address=self.invoice_address,
            currency=self.currency,
            payment_term=self.payment_term,
            plan=plan,
            invoice_recurrence=plan.recurrence,
            start_date=self.sale_date,
            reference=self.number,
            description=line.description,
            sale=self,
            salesperson=getattr(self, 'employee', None)
            or self.confirmed_by,
            )
        contract.inclusion_reason = self._get_contract_inclusion_reason()
        contract.billing_day = (
            self.contract_billing_day or Contract.default_billing_day())
        contract.lines = [contract._get_plan_line(
                quantity=line.quantity, unit_price=line.unit_price)]
        return contract


    def _get_contract_inclusion_reason(self):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Reason = pool.get('sale.subscription.reason')
        return Reason(ModelData.get_id('subscription_core', 'reason_new_sale'))


class SaleLine(metaclass=PoolMeta):
    __name__ = 'sale.line'

    contract = fields.Many2One(
        'sale.subscription', "Contract", readonly=True, ondelete='RESTRICT')

    @classmethod
    def get_plans(cls, lines):
        "Return a dict of line → plan for the recurring lines"
        pool = Pool()
        Plan = pool.get('sale.subscription.plan')
        products = {l.product.id for l in lines if l.product}
        if not products:
            return {}
        by_product = {}
        # The first plan by id wins when a product has several.
        for plan in Plan.search(
                [('product', 'in', list(products))],
                order=[('id', 'DESC')]):
            by_product[plan.product.id] = plan
        return {l: by_product[l.product.id] for l in lines
            if l.product and l.product.id in by_product
            and l.type == 'line'}

    def get_invoice_line(self):
        # The contract bills recurring lines, not the sale.
        if self.type == 'line' and self.product and self.get_plans([self]):
            return []
        return super().get_invoice_line()

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('contract', None)
        return super().copy(lines, default=default)
