# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Discounts per contract line, shown on the invoice lines they bill.

Modelled on the host's sale_discount (base_price, discount_rate,
discount_amount on sale.line), which Tryton 8.0 has for sales only. A
contract line keeps its discount as agreed terms (a rate and/or a fixed
amount per unit off its base price) and its unit price is the base price
less them; the invoice line carries that discounted unit price and the
base price, its discount being derived from both as the host does."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.product import price_digits, round_price
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .exceptions import ContractError

RATE_DIGITS = (16, 4)


def discounted_price(base_price, rate=None, amount=None):
    """Return base_price less rate (a fraction: 0.1 is 10%) and less
    amount, rounded to the price digits; None without a base price"""
    if base_price is None:
        return None
    price = base_price * (1 - (rate or Decimal(0))) - (amount or Decimal(0))
    return round_price(price)


def format_discount(lang, rate, amount, currency=None):
    "Return the discount as the host's sale_discount shows it: 10% or R$ 5"
    if rate and not rate % Decimal('0.01'):
        return lang.format('%i', rate * 100) + '%'
    if rate:
        return lang.format('%.2f', rate * 100) + '%'
    if amount:
        if currency:
            return lang.currency(amount, currency, digits=price_digits[1])
        return lang.format_number(
            amount, digits=price_digits[1], monetary=True)


class Line(metaclass=PoolMeta):
    __name__ = 'sale.subscription.line'

    base_price = Monetary(
        "Base Price", currency='currency', digits=price_digits,
        states={
            'readonly': Eval('subscription_state') != 'draft',
            },
        help="The price before the discount, from the price lists.")
    discount_rate = fields.Numeric(
        "Discount Rate", digits=RATE_DIGITS,
        domain=['OR',
            ('discount_rate', '=', None),
            [('discount_rate', '>=', 0), ('discount_rate', '<=', 1)],
            ],
        states={
            'readonly': Eval('subscription_state') != 'draft',
            },
        help="The share of the base price taken off (0.1 for 10%).")
    discount_amount = Monetary(
        "Discount Amount", currency='currency', digits=price_digits,
        domain=['OR',
            ('discount_amount', '=', None),
            ('discount_amount', '>=', 0),
            ],
        states={
            'readonly': Eval('subscription_state') != 'draft',
            },
        help="A fixed amount per unit taken off the base price.")
    discount = fields.Function(fields.Char("Discount"), 'get_discount')

    @fields.depends('base_price', 'discount_rate', 'discount_amount')
    def compute_discounted_price(self):
        return discounted_price(
            self.base_price, self.discount_rate, self.discount_amount)

    @fields.depends('base_price', 'discount_rate', 'discount_amount',
        methods=['compute_discounted_price'])
    def on_change_base_price(self):
        if self.base_price is not None:
            self.unit_price = self.compute_discounted_price()

    @fields.depends('base_price', 'unit_price', 'discount_rate',
        'discount_amount', methods=['on_change_base_price'])
    def on_change_discount_rate(self):
        if self.base_price is None:
            # A line priced by hand: its price is what is discounted.
            self.base_price = self.unit_price
        self.on_change_base_price()

    @fields.depends(methods=['on_change_discount_rate'])
    def on_change_discount_amount(self):
        self.on_change_discount_rate()

    @fields.depends(
        'subscription', 'service', 'quantity', 'unit', 'start_date',
        '_parent_subscription.party', '_parent_subscription.company',
        '_parent_subscription.plan', '_parent_subscription.start_date',
        methods=['on_change_base_price'])
    def on_change_service(self):
        super().on_change_service()
        if self.service and self.subscription:
            # The contract's price lists, as the contract prices lines.
            self.base_price = self.subscription.compute_base_price(
                self.service, self.quantity, self.unit,
                date=self.start_date)
            self.on_change_base_price()

    def get_discount(self, name):
        pool = Pool()
        Lang = pool.get('ir.lang')
        return format_discount(
            Lang.get(), self.discount_rate, self.discount_amount,
            self.currency)

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        cls.check_discount(lines, field_names)

    @classmethod
    def check_discount(cls, lines, field_names=None):
        if field_names and not (field_names & {
                    'base_price', 'discount_rate', 'discount_amount',
                    'unit_price'}):
            return
        for line in lines:
            if line.base_price is None:
                if line.discount_rate or line.discount_amount:
                    raise ContractError(gettext(
                            'subscription_core.msg_discount_base_price',
                            line=line.rec_name))
                continue
            price = line.compute_discounted_price()
            if price < 0:
                raise ContractError(gettext(
                        'subscription_core.msg_discount_negative',
                        line=line.rec_name,
                        contract=line.subscription.rec_name))


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    base_price = Monetary(
        "Base Price", currency='currency', digits=price_digits,
        states={
            'invisible': Eval('type') != 'line',
            'readonly': Eval('invoice_state') != 'draft',
            },
        help="The unit price before the discount.")
    discount_rate = fields.Function(fields.Numeric(
            "Discount Rate", digits=RATE_DIGITS,
            states={
                'invisible': Eval('type') != 'line',
                }),
        'get_discount_rate')
    discount_amount = fields.Function(Monetary(
            "Discount Amount", currency='currency', digits=price_digits,
            states={
                'invisible': Eval('type') != 'line',
                }),
        'get_discount_amount')
    discount = fields.Function(fields.Char(
            "Discount",
            states={
                'invisible': ~Eval('discount'),
                }),
        'get_discount')

    def get_discount_rate(self, name=None):
        if self.unit_price is None or not self.base_price:
            return
        rate = 1 - self.unit_price / self.base_price
        return rate.quantize(Decimal(1).scaleb(-RATE_DIGITS[1]))

    def get_discount_amount(self, name=None):
        if self.unit_price is None or self.base_price is None:
            return
        return round_price(self.base_price - self.unit_price)

    def get_discount(self, name):
        pool = Pool()
        Lang = pool.get('ir.lang')
        rate = self.get_discount_rate()
        if not rate:
            return
        if rate % Decimal('0.01'):
            # Not a round rate (a fixed amount, or pro-rata): the amount.
            return format_discount(
                Lang.get(), None, self.get_discount_amount(), self.currency)
        return format_discount(Lang.get(), rate, None)


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def _get_bill_signatures(cls, contracts, billed, cache):
        # _get_charge reads the line's base price: a stored field, in the
        # signature already.
        return super()._get_bill_signatures(contracts, billed, cache)

    def _get_charge(self, key_line, kind, period_start, period_end, ratio,
            amount, quantity, unit_price, product, description, cache):
        charge, line = super()._get_charge(
            key_line, kind, period_start, period_end, ratio, amount,
            quantity, unit_price, product, description, cache)
        base_price = getattr(key_line, 'base_price', None)
        if (kind == 'recurring' and base_price is not None
                and base_price != key_line.unit_price):
            # Only a discounted line shows its base price (pro-rata as
            # its unit price): the others stay as the host stores them.
            line.base_price = self._round_unit_price(base_price * ratio)
        return charge, line
