# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Contract prices from the host's price lists (product_price_list).

A contract line's base price comes from the first of these that prices
its product: the customer's sale price list (sale_price_list, set on the
party for the company), the plan's price list, the company's default
sale price list; else the plan's price (for the plan's service) or the
product's list price. The lists' formulas see the plan's price as
`list_price` (and as `unit_price` when the list is based on the list
price), so "list_price * 0.9" is 10% off the plan.

The price is taken when the line gets its service (the contract created
from the plan, or a line added by hand) and, for lines still without a
price, when the contract is confirmed (quotation). An index adjustment
raises the base price by the same factor as the unit price, so the
discount agreed stays."""
from trytond.model import fields
from trytond.modules.product import round_price
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction


class PriceList(metaclass=PoolMeta):
    __name__ = 'product.price_list'

    def get_context_formula(self, product, quantity, uom, pattern=None):
        context = super().get_context_formula(
            product, quantity, uom, pattern=pattern)
        # A plan sells its service at the plan's price, not at the
        # product's list price: the formulas start from it.
        list_price = Transaction().context.get('subscription_list_price')
        if list_price is not None:
            names = context['names']
            names['list_price'] = list_price
            if self.price == 'list_price':
                names['unit_price'] = list_price
        return context


class Plan(metaclass=PoolMeta):
    __name__ = 'sale.subscription.plan'

    price_list = fields.Many2One(
        'product.price_list', "Price List",
        domain=[('company', '=', Eval('company', -1))],
        help="Prices the plan's contracts when the customer has no price "
        "list of its own.")


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    def _get_price_lists(self, plan=None):
        """Return the price lists to try, in order: the customer's, the
        plan's, the company's default"""
        pool = Pool()
        PartyPriceList = pool.get('party.party.sale_price_list')
        Configuration = pool.get('sale.configuration')
        plan = plan or self.plan
        company = self.company
        price_lists = []
        if self.party and company:
            # Only a list set on the party: the company default (which
            # the party's MultiValue falls back to) comes after the plan.
            records = PartyPriceList.search([
                    ('party', '=', self.party.id),
                    ('company', '=', company.id),
                    ('sale_price_list', '!=', None),
                    ], limit=1)
            price_lists.extend(r.sale_price_list for r in records)
        if plan and plan.price_list:
            price_lists.append(plan.price_list)
        if company:
            default = Configuration(1).get_multivalue(
                'sale_price_list', company=company.id)
            if default:
                price_lists.append(default)
        return price_lists

    def _get_list_price(self, service, unit, plan=None):
        "Return the price before the price lists: the plan's or the list price"
        pool = Pool()
        Uom = pool.get('product.uom')
        plan = plan or self.plan
        if plan and service == plan.service:
            return plan.price
        product = service.product
        price = product.list_price_used
        if price is not None and unit:
            price = Uom.compute_price(product.default_uom, price, unit)
        return price

    def compute_base_price(self, service, quantity=1, unit=None, plan=None,
            date=None):
        """Return the base unit price of service for the contract, from
        its price lists (product.price_list.compute)"""
        pool = Pool()
        Tax = pool.get('account.tax')
        Date = pool.get('ir.date')
        product = service.product
        unit = unit or product.sale_uom
        list_price = self._get_list_price(service, unit, plan=plan)
        for price_list in self._get_price_lists(plan=plan):
            with Transaction().set_context(
                    subscription_list_price=list_price):
                price = price_list.compute(product, abs(quantity or 0), unit)
            if price is None:
                continue
            if price_list.tax_included:
                # Contract prices are without taxes, as sale prices.
                price = Tax.reverse_compute(
                    price, product.customer_taxes_used,
                    date or self.start_date or Date.today())
            return round_price(price)
        if list_price is not None and list_price != round_price(list_price):
            # Only a price with more digits than a price (unit conversion)
            # is rounded: the plan's price is kept as it is written.
            list_price = round_price(list_price)
        return list_price

    @fields.depends(methods=['_get_plan_line'])
    def on_change_plan(self):
        super().on_change_plan()

    @classmethod
    def quote(cls, contracts):
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        # Confirmation: the lines still without a price get it from the
        # price lists now that the customer and the plan are final.
        lines = []
        for contract in contracts:
            if contract.state != 'draft':
                continue
            for line in contract.lines:
                if line.base_price is not None or not line.service:
                    continue
                if line.unit_price is not None:
                    # A price typed by hand is the line's base price.
                    line.base_price = line.unit_price
                else:
                    line.base_price = contract.compute_base_price(
                        line.service, line.quantity, line.unit,
                        date=line.start_date)
                    line.unit_price = line.compute_discounted_price()
                lines.append(line)
        Line.save(lines)
        super().quote(contracts)

    @fields.depends('plan', 'party', 'company', 'start_date')
    def _get_plan_line(self, quantity=1, unit_price=None):
        line = super()._get_plan_line(quantity=quantity, unit_price=unit_price)
        if unit_price is None:
            line.base_price = self.compute_base_price(
                self.plan.service, quantity, line.unit,
                date=self.start_date)
            line.unit_price = line.base_price
        else:
            # A price agreed elsewhere (e.g. the sale, priced by the
            # sale's own price list).
            line.base_price = unit_price
        return line

    @classmethod
    def adjust(cls, contracts, index, date):
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        adjusted = {c.id: [l for l in c._get_adjustable_lines(date)
                if l.base_price is not None]
            for c in contracts}
        adjustments = super().adjust(contracts, index, date)
        # The index raises the price agreed (super sets the unit price):
        # the base price and a fixed discount rise by the same factor, so
        # the discount stays what was agreed.
        lines = []
        for adjustment in adjustments:
            factor = adjustment.factor
            for line in adjusted[adjustment.contract.id]:
                line = Line(line.id)
                line.base_price = round_price(line.base_price * factor)
                if line.discount_amount:
                    line.discount_amount = round_price(
                        line.discount_amount * factor)
                lines.append(line)
        Line.save(lines)
        return adjustments


class Change(metaclass=PoolMeta):
    __name__ = 'sale.subscription.change'

    def _get_lines_plan(self):
        old, new = super()._get_lines_plan()
        # The new plan is priced by the price lists too, and keeps the
        # line's discount.
        new.base_price = self.contract.compute_base_price(
            self.plan.service, new.quantity, new.unit, plan=self.plan,
            date=self.date)
        if old:
            new.discount_rate = old.discount_rate
        new.unit_price = new.compute_discounted_price()
        return old, new

    def _get_lines_quantity(self):
        old, new = super()._get_lines_quantity()
        new.base_price = old.base_price
        new.discount_rate = old.discount_rate
        return old, new
