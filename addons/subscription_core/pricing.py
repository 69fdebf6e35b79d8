# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Charge models: one small class per pricing model behind one factory.

Plain Python, no ORM. Every value is a Decimal; floats are refused so
that no binary rounding error can reach an invoice. Amounts are returned
unrounded: the caller rounds once, with the currency's rounding.

A price component is stored as a JSON dict (see ``PriceModel.to_dict``)
and rebuilt with ``from_dict``.
"""
from collections import namedtuple
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_UP, Decimal, InvalidOperation, localcontext)

__all__ = [
    'PricingError', 'Tier', 'ChargeLine', 'Charge', 'PriceModel',
    'Flat', 'PerUnit', 'Volume', 'Graduated', 'Package', 'Percentage',
    'price_model', 'from_dict', 'apply_minimum', 'round_amount',
    'prorate', 'daily_rate',
    ]

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


class PricingError(ValueError):
    "Invalid pricing configuration or input"


Tier = namedtuple('Tier', ['up_to', 'unit_price', 'flat_fee'])
Tier.__doc__ = (
    "A price tier: units up to and including `up_to` (None: no limit)")


@dataclass(frozen=True)
class ChargeLine:
    """One printable line of a charge.

    `kind` is a stable code (tier, unit, package, allowance, ...) that the
    invoice and statement layers use to translate the line; `description`
    is a short language-neutral text such as "101–500" or "2.5%".
    Invariant: amount == quantity * unit_price.
    """
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Charge:
    "The result of pricing one component for one period"
    kind: str
    lines: tuple

    @property
    def amount(self):
        # Derived from the lines so the total can never disagree with what
        # the invoice and usage statement print.
        return sum((line.amount for line in self.lines), ZERO)

    def rounded(self, rounding):
        "Return the amount rounded once to `rounding` (e.g. 0.01)"
        return round_amount(self.amount, rounding)


def _line(kind, description, quantity, unit_price):
    return ChargeLine(
        kind, description, quantity, unit_price, quantity * unit_price)


def _decimal(value, name, optional=False):
    "Convert value to a finite Decimal or raise PricingError naming it"
    if value is None:
        if optional:
            return None
        raise PricingError(f"{name} is required")
    # bool is an int subclass; True as a price is always a mistake.
    if isinstance(value, (float, bool)):
        raise PricingError(
            f"{name} must be a Decimal, an int or a string, "
            f"not {type(value).__name__} ({value!r})")
    if isinstance(value, int):
        value = Decimal(value)
    elif isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise PricingError(f"{name} is not a number: {value!r}")
    elif not isinstance(value, Decimal):
        raise PricingError(
            f"{name} must be a Decimal, an int or a string, "
            f"not {type(value).__name__}")
    if not value.is_finite():
        raise PricingError(f"{name} must be a finite number, not {value}")
    return value


def _non_negative(value, name, optional=False):
    value = _decimal(value, name, optional=optional)
    if value is not None and value < 0:
        raise PricingError(f"{name} must not be negative, got {value}")
    return value


def _count(value, name):
    "A non-negative whole number of things (transactions, days)"
    value = _non_negative(value, name)
    if value != value.to_integral_value():
        raise PricingError(f"{name} must be a whole number, got {value}")
    return value


def _text(value):
    "Format a Decimal without exponent and without trailing zeros"
    return format(value.normalize(), 'f')


def _str(value):
    # Decimals are stored as strings: JSON has no decimal type and a
    # float would lose exactness.
    return None if value is None else str(value)


def round_amount(amount, rounding):
    """Round amount to a multiple of `rounding` (e.g. Decimal('0.01')).

    ROUND_HALF_UP because Brazilian invoices, boletos and NFS-e are
    checked by customers and accountants with "arredondamento comercial"
    (spreadsheets' ROUND, calculators), which rounds halves up; our
    amounts are never negative so this is also half away from zero.
    Beware: Tryton's Currency.round defaults to ROUND_HALF_EVEN, so pass
    rounding=ROUND_HALF_UP there too or the two may differ by a cent.
    """
    amount = _decimal(amount, 'amount')
    rounding = _decimal(rounding, 'rounding')
    if rounding <= 0:
        raise PricingError(f"rounding must be positive, got {rounding}")
    # Divide and multiply (as Tryton's Currency._round does) so that
    # factors that are not powers of ten, like 0.05, work too.
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, (amount / rounding).adjusted() + 1)
        return (amount / rounding).quantize(
            ONE, rounding=ROUND_HALF_UP) * rounding


def apply_minimum(total, minimum):
    """Return the plan's total for a cycle raised to its minimum charge.

    Applied over the sum of all components; None means no minimum.
    The adjustment to invoice is apply_minimum(total, minimum) - total.
    """
    total = _decimal(total, 'total')
    minimum = _non_negative(minimum, 'minimum', optional=True)
    if minimum is None:
        return total
    return max(total, minimum)


def daily_rate(amount, days_in_period):
    "Return the unrounded price of one day of a period"
    amount = _decimal(amount, 'amount')
    days_in_period = _count(days_in_period, 'days_in_period')
    if not days_in_period:
        raise PricingError("days_in_period must be positive")
    return amount / days_in_period


def prorate(amount, days_used, days_in_period):
    "Return the unrounded part of amount for days_used of the period"
    amount = _decimal(amount, 'amount')
    days_used = _count(days_used, 'days_used')
    days_in_period = _count(days_in_period, 'days_in_period')
    if not days_in_period:
        raise PricingError("days_in_period must be positive")
    if days_used > days_in_period:
        raise PricingError(
            f"days_used ({days_used}) exceeds days_in_period "
            f"({days_in_period})")
    # Multiply before dividing: exact whenever the result is
    # representable (e.g. 100 * 15 / 30), unlike daily_rate * days.
    return amount * days_used / days_in_period


def _tiers(tiers):
    "Validate and normalise a list of tiers"
    if not isinstance(tiers, (list, tuple)):
        raise PricingError(
            f"tiers must be a list, not {type(tiers).__name__}")
    if not tiers:
        raise PricingError("at least one tier is required")
    result = []
    previous = ZERO
    for number, tier in enumerate(tiers, 1):
        name = f"tier {number}"
        if isinstance(tier, dict):
            unknown = set(tier) - set(Tier._fields)
            if unknown:
                raise PricingError(
                    f"{name}: unknown key(s) {', '.join(sorted(unknown))}")
            up_to = tier.get('up_to')
            if 'unit_price' not in tier:
                raise PricingError(f"{name}: unit_price is required")
            unit_price = tier['unit_price']
            flat_fee = tier.get('flat_fee', ZERO)
        else:
            try:
                values = tuple(tier)
            except TypeError:
                raise PricingError(
                    f"{name}: expected (up_to, unit_price[, flat_fee]), "
                    f"got {tier!r}")
            if len(values) not in {2, 3}:
                raise PricingError(
                    f"{name}: expected (up_to, unit_price[, flat_fee]), "
                    f"got {len(values)} values")
            up_to, unit_price, flat_fee = (values + (ZERO,))[:3]
        up_to = _decimal(up_to, f"{name}: up_to", optional=True)
        unit_price = _non_negative(unit_price, f"{name}: unit_price")
        flat_fee = _non_negative(
            ZERO if flat_fee is None else flat_fee, f"{name}: flat_fee")
        last = number == len(tiers)
        if up_to is None and not last:
            raise PricingError(
                f"{name}: only the last tier may be unbounded "
                "(up_to None)")
        if up_to is not None:
            if last:
                raise PricingError(
                    f"{name}: the last tier must be unbounded "
                    f"(up_to None), got {up_to}")
            if up_to <= previous:
                raise PricingError(
                    f"{name}: up_to {up_to} must be greater than "
                    f"{'the previous bound ' if number > 1 else ''}"
                    f"{previous}")
            previous = up_to
        result.append(Tier(up_to, unit_price, flat_fee))
    return tuple(result)


def _range_text(lower, upper):
    """Describe the units of a tier: "0–100", "101–500", "501+".

    Bounds are inclusive upper limits, so the first unit of a tier after a
    whole bound is bound + 1; a fractional bound (e.g. GB) is shown as is.
    """
    if lower is None:
        start = ZERO
    elif lower == lower.to_integral_value():
        start = lower + 1
    else:
        start = lower
    if upper is None:
        return f"{_text(start)}+"
    if start == upper:
        return _text(upper)
    return f"{_text(start)}–{_text(upper)}"


class PriceModel:
    """Base of the charge models.

    `allowance` (franquia) units are included: they are subtracted from
    the quantity before pricing. `minimum` is the least the component
    charges per period, usage or not (None: no minimum).
    Subclasses set `kind`, list their own parameters in `_fields` and
    implement `_lines(billable, transactions)`.
    """
    kind = None
    # Model specific parameters, in to_dict order.
    _fields = ()
    _common_fields = ('allowance', 'minimum')
    # Parameters accepted but stored under another name.
    _aliases = ()

    def __init__(self, allowance=ZERO, minimum=None):
        self.allowance = _non_negative(allowance, 'allowance')
        self.minimum = _non_negative(minimum, 'minimum', optional=True)

    def compute(self, quantity, transactions=0):
        """Return the Charge for a period.

        `quantity` is the aggregated usage of the period (for percentage:
        the reported base amount); `transactions` is the number of
        reported events, used only by the percentage model.
        """
        quantity = _non_negative(quantity, 'quantity')
        transactions = _count(transactions, 'transactions')
        lines = []
        included = min(self.allowance, quantity)
        if included:
            # Printed at zero so the statement shows what was included.
            lines.append(_line(
                'allowance', _text(self.allowance), included, ZERO))
        billable = quantity - included
        lines.extend(self._lines(billable, transactions))
        lines.extend(self._adjustments(lines))
        subtotal = sum((line.amount for line in lines), ZERO)
        if self.minimum is not None and subtotal < self.minimum:
            lines.append(_line(
                'minimum', _text(self.minimum), ONE,
                self.minimum - subtotal))
        return Charge(self.kind, tuple(lines))

    def amount(self, quantity, transactions=0, rounding=None):
        """Return the charge amount for a period.

        Unrounded unless `rounding` (e.g. Decimal('0.01')) is given.
        """
        charge = self.compute(quantity, transactions)
        if rounding is None:
            return charge.amount
        return charge.rounded(rounding)

    def _lines(self, billable, transactions):
        raise NotImplementedError

    def _adjustments(self, lines):
        "Return extra lines computed over the priced lines"
        return []

    def to_dict(self):
        """Return the parameters as a JSON-ready dict.

        Decimals are strings (exact, and JSON has no decimal type); None
        means "not set". from_dict(model.to_dict()) == model.
        """
        result = {'kind': self.kind}
        for name in self._fields + self._common_fields:
            result[name] = self._dump(name, getattr(self, name))
        return result

    def _dump(self, name, value):
        return _str(value)

    def __eq__(self, other):
        if not isinstance(other, PriceModel):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(repr(self))

    def __repr__(self):
        params = ', '.join(
            f'{k}={v!r}' for k, v in self.to_dict().items() if k != 'kind')
        return f"price_model({self.kind!r}, {params})"


class Flat(PriceModel):
    "A fixed price per period regardless of quantity"
    kind = 'flat'
    _fields = ('price',)

    def __init__(self, price, allowance=ZERO, minimum=None):
        super().__init__(allowance=allowance, minimum=minimum)
        if self.allowance:
            # Quantity is ignored, so an allowance would silently do
            # nothing: refuse it rather than mislead whoever set it.
            raise PricingError(
                "flat: allowance has no effect on a flat charge")
        self.price = _non_negative(price, 'flat: price')

    def _lines(self, billable, transactions):
        return [_line('flat', _text(self.price), ONE, self.price)]


class PerUnit(PriceModel):
    "Unit price times billable quantity"
    kind = 'per_unit'
    _fields = ('unit_price',)

    def __init__(self, unit_price, allowance=ZERO, minimum=None):
        super().__init__(allowance=allowance, minimum=minimum)
        self.unit_price = _non_negative(unit_price, 'per_unit: unit_price')

    def _lines(self, billable, transactions):
        if not billable:
            return []
        return [_line('unit', _text(billable), billable, self.unit_price)]


class _Tiered(PriceModel):
    _fields = ('tiers',)

    def __init__(self, tiers, allowance=ZERO, minimum=None):
        super().__init__(allowance=allowance, minimum=minimum)
        try:
            self.tiers = _tiers(tiers)
        except PricingError as exception:
            raise PricingError(f"{self.kind}: {exception}") from None

    def _bounds(self):
        "Yield (lower, tier) with lower the previous tier's up_to"
        lower = None
        for tier in self.tiers:
            yield lower, tier
            lower = tier.up_to

    def _dump(self, name, value):
        if name == 'tiers':
            return [{
                    'up_to': _str(t.up_to),
                    'unit_price': _str(t.unit_price),
                    'flat_fee': _str(t.flat_fee),
                    } for t in value]
        return super()._dump(name, value)


class Volume(_Tiered):
    """All units priced at the tier the total quantity reaches.

    Bounds are inclusive: 100 units with a first tier up to 100 are
    priced at the first tier. The tier's flat fee is charged once when
    there is at least one billable unit. Not monotone: with decreasing
    prices, 101 units may cost less than 100.
    """
    kind = 'volume'

    def _lines(self, billable, transactions):
        if not billable:
            return []
        for lower, tier in self._bounds():
            if tier.up_to is None or billable <= tier.up_to:
                break
        description = _range_text(lower, tier.up_to)
        lines = [_line('tier', description, billable, tier.unit_price)]
        if tier.flat_fee:
            lines.append(_line(
                    'tier_flat_fee', description, ONE, tier.flat_fee))
        return lines


class Graduated(_Tiered):
    """Each tier priced separately and summed.

    A tier's flat fee is charged once as soon as one unit falls in it.
    """
    kind = 'graduated'

    def _lines(self, billable, transactions):
        lines = []
        for lower, tier in self._bounds():
            start = lower or ZERO
            if billable <= start:
                break
            end = billable if tier.up_to is None else min(
                billable, tier.up_to)
            description = _range_text(lower, tier.up_to)
            lines.append(_line(
                    'tier', description, end - start, tier.unit_price))
            if tier.flat_fee:
                lines.append(_line(
                        'tier_flat_fee', description, ONE, tier.flat_fee))
        return lines


class Package(PriceModel):
    """A price per block of `package_size` units, partial blocks round up.

    Free units are the allowance: `free_units` is accepted as its name.
    """
    kind = 'package'
    _fields = ('package_size', 'package_price')
    _aliases = ('free_units',)

    def __init__(self, package_size, package_price, allowance=None,
            minimum=None, free_units=None):
        if allowance is not None and free_units is not None:
            raise PricingError(
                "package: give either allowance or free_units, they are "
                "the same thing")
        if allowance is None:
            allowance = ZERO if free_units is None else free_units
        super().__init__(allowance=allowance, minimum=minimum)
        self.package_size = _non_negative(
            package_size, 'package: package_size')
        if not self.package_size:
            raise PricingError("package: package_size must be positive")
        self.package_price = _non_negative(
            package_price, 'package: package_price')

    def _lines(self, billable, transactions):
        if not billable:
            return []
        # divmod is exact on Decimals, unlike a division then ceiling.
        blocks, rest = divmod(billable, self.package_size)
        if rest:
            blocks += 1
        return [_line(
                'package',
                f"{_text(blocks)} × {_text(self.package_size)}",
                blocks, self.package_price)]


class Percentage(PriceModel):
    """`rate` percent of a reported base amount (e.g. customer revenue).

    The quantity passed to compute is the base; the allowance is a free
    part of that base. Optional `transaction_fee` per reported transaction
    and `period_fee` per period are added, then the whole charge is
    capped at `maximum` and raised to `minimum` per period.
    """
    kind = 'percentage'
    _fields = ('rate', 'transaction_fee', 'period_fee', 'maximum')

    def __init__(self, rate, transaction_fee=ZERO, period_fee=ZERO,
            maximum=None, allowance=ZERO, minimum=None):
        super().__init__(allowance=allowance, minimum=minimum)
        self.rate = _non_negative(rate, 'percentage: rate')
        self.transaction_fee = _non_negative(
            transaction_fee, 'percentage: transaction_fee')
        self.period_fee = _non_negative(
            period_fee, 'percentage: period_fee')
        self.maximum = _non_negative(
            maximum, 'percentage: maximum', optional=True)
        if (self.maximum is not None and self.minimum is not None
                and self.minimum > self.maximum):
            raise PricingError(
                f"percentage: minimum {self.minimum} is greater than "
                f"maximum {self.maximum}")

    def _lines(self, billable, transactions):
        lines = []
        if billable:
            lines.append(_line(
                    'percentage', f"{_text(self.rate)}%", billable,
                    self.rate / HUNDRED))
        if transactions and self.transaction_fee:
            lines.append(_line(
                    'transaction_fee', _text(transactions), transactions,
                    self.transaction_fee))
        if self.period_fee:
            lines.append(_line(
                    'period_fee', _text(self.period_fee), ONE,
                    self.period_fee))
        return lines

    def _adjustments(self, lines):
        subtotal = sum((line.amount for line in lines), ZERO)
        if self.maximum is not None and subtotal > self.maximum:
            # A negative line keeps the total equal to the sum of lines
            # and shows the customer the cap they benefited from.
            return [_line(
                    'maximum', _text(self.maximum), ONE,
                    self.maximum - subtotal)]
        return []


# The only place that maps a kind to its class.
MODELS = {
    'flat': Flat,
    'per_unit': PerUnit,
    'volume': Volume,
    'graduated': Graduated,
    'package': Package,
    'percentage': Percentage,
    }

def price_model(kind, **params):
    "Return the charge model instance of `kind` configured with params"
    try:
        Model = MODELS[kind]
    except (KeyError, TypeError):
        raise PricingError(
            f"unknown pricing model {kind!r}; expected one of "
            f"{', '.join(sorted(MODELS))}") from None
    allowed = set(Model._fields + Model._common_fields + Model._aliases)
    unknown = set(params) - allowed
    if unknown:
        raise PricingError(
            f"{kind}: unknown parameter(s) {', '.join(sorted(unknown))}; "
            f"expected {', '.join(sorted(allowed))}")
    try:
        return Model(**params)
    except TypeError as exception:
        # A required parameter is missing.
        raise PricingError(f"{kind}: {exception}") from None


def from_dict(data):
    "Return the charge model stored as `data` (see PriceModel.to_dict)"
    if not isinstance(data, dict):
        raise PricingError(
            f"a price component must be a dict, not {type(data).__name__}")
    params = dict(data)
    if 'kind' not in params:
        raise PricingError("a price component needs a 'kind'")
    kind = params.pop('kind')
    return price_model(kind, **params)
