# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Price components: the ORM side of pricing.py.

A component prices one contract line per period with one of the charge
models of pricing.py. Plans carry components as templates; activating a
contract copies each of them onto a contract line of its own, where it
may be overridden for that customer."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, Workflow, fields,
    sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval

from trytond.model.exceptions import ValidationError

from . import pricing



class ComponentValidationError(ValidationError):
    pass


KINDS = [
    ('flat', "Flat"),
    ('per_unit', "Per Unit"),
    ('volume', "Volume"),
    ('graduated', "Graduated"),
    ('package', "Package"),
    ('percentage', "Percentage"),
    ]
PRICE_DIGITS = (16, 4)


def _states(*kinds):
    return {
        'invisible': ~Eval('kind').in_(list(kinds)),
        'required': Eval('kind').in_(list(kinds)),
        }


class Metric(DeactivableMixin, ModelSQL, ModelView):
    "Usage Metric"
    __name__ = 'sale.subscription.metric'

    code = fields.Char(
        "Code", required=True,
        help="The code usage records name the metric by.")
    name = fields.Char("Name", required=True, translate=True)
    unit = fields.Char(
        "Unit", required=True,
        help="What is counted, e.g. GB, hours, users, pageviews, km, BRL.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_uniq', Unique(t, t.code),
                'subscription_core.msg_metric_code_unique'),
            ]
        cls._order.insert(0, ('code', 'ASC'))

    def get_rec_name(self, name):
        return '%s (%s)' % (self.name, self.unit)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('code', operator, value),
            ('name', operator, value),
            ]


class Component(sequence_ordered(), ModelSQL, ModelView):
    """Price Component

    Belongs either to a plan (a template) or to a contract line (what is
    billed)."""
    __name__ = 'sale.subscription.component'

    plan = fields.Many2One(
        'sale.subscription.plan', "Plan", ondelete='CASCADE',
        states={
            'invisible': Bool(Eval('line')),
            })
    line = fields.Many2One(
        'sale.subscription.line', "Contract Line", ondelete='CASCADE',
        states={
            'invisible': Bool(Eval('plan')),
            })
    origin = fields.Many2One(
        'sale.subscription.component', "Plan Component", readonly=True,
        ondelete='SET NULL',
        help="The plan component this one was copied from.")
    service = fields.Many2One(
        'sale.subscription.service', "Service", required=True,
        help="The service invoiced for this component.")
    description = fields.Char("Description", translate=True)
    kind = fields.Selection(KINDS, "Kind", required=True, sort=False)
    timing = fields.Selection([
            ('advance', "In Advance"),
            ('arrears', "In Arrears"),
            ], "Timing", required=True,
        help="In advance: priced on the contract line's quantity and "
        "billed with the period, pro-rata.\n"
        "In arrears: priced on the usage of the metric recorded until the "
        "period's billing date (the period's end on contracts billed in "
        "arrears, its start on contracts billed in advance).")
    metric = fields.Many2One(
        'sale.subscription.metric', "Metric",
        states={
            'invisible': Eval('timing') != 'arrears',
            'required': Eval('timing') == 'arrears',
            })
    price = fields.Numeric(
        "Price", digits=PRICE_DIGITS, states=_states('flat'))
    unit_price = fields.Numeric(
        "Unit Price", digits=PRICE_DIGITS, states=_states('per_unit'))
    tiers = fields.One2Many(
        'sale.subscription.component.tier', 'component', "Tiers",
        states={
            'invisible': ~Eval('kind').in_(['volume', 'graduated']),
            })
    package_size = fields.Numeric(
        "Package Size", states=_states('package'),
        help="Units per package; a started package is charged whole.")
    package_price = fields.Numeric(
        "Package Price", digits=PRICE_DIGITS, states=_states('package'))
    rate = fields.Numeric(
        "Rate (%)", digits=(16, 4), states=_states('percentage'),
        help="The percentage of the reported base (e.g. the customer's "
        "revenue) charged.")
    period_fee = fields.Numeric(
        "Fixed Fee", digits=PRICE_DIGITS,
        states={'invisible': Eval('kind') != 'percentage'},
        help="Added once per period.")
    transaction_fee = fields.Numeric(
        "Transaction Fee", digits=PRICE_DIGITS,
        states={'invisible': Eval('kind') != 'percentage'},
        help="Added per usage record reported.")
    maximum = fields.Numeric(
        "Maximum", digits=PRICE_DIGITS,
        states={'invisible': Eval('kind') != 'percentage'},
        help="The most the component charges per period.")
    allowance = fields.Numeric(
        "Allowance", states={'invisible': Eval('kind') == 'flat'},
        help="The units included each period before charging (franquia).")
    minimum = fields.Numeric(
        "Minimum", digits=PRICE_DIGITS,
        help="The least the component charges per period.")

    @classmethod
    def default_kind(cls):
        return 'per_unit'

    @classmethod
    def default_timing(cls):
        return 'arrears'

    @classmethod
    def default_allowance(cls):
        return Decimal(0)

    @fields.depends('timing', 'metric')
    def on_change_timing(self):
        if self.timing != 'arrears':
            self.metric = None

    def get_rec_name(self, name):
        return self.description or self.service.rec_name

    def get_price_model(self):
        """Return the pricing.PriceModel of the component.

        The parameters of the kind's model are read from the fields of the
        same name: one factory call whatever the kind."""
        Model = pricing.MODELS[self.kind]
        params = {}
        for name in Model._fields + Model._common_fields:
            value = getattr(self, name)
            if name == 'tiers':
                value = [(t.up_to, t.unit_price, t.flat_fee or Decimal(0))
                    for t in value]
            if value is not None:
                params[name] = value
        return pricing.price_model(self.kind, **params)

    @classmethod
    def validate_fields(cls, components, field_names):
        super().validate_fields(components, field_names)
        for component in components:
            component.check_owner()
            component.check_price_model()

    def check_owner(self):
        if bool(self.plan) == bool(self.line):
            raise ComponentValidationError(gettext(
                    'subscription_core.msg_component_owner',
                    component=self.rec_name))

    def check_price_model(self):
        try:
            self.get_price_model()
        except pricing.PricingError as exception:
            raise ComponentValidationError(gettext(
                    'subscription_core.msg_component_invalid',
                    component=self.rec_name, reason=exception)) from None

    def get_line_values(self, contract):
        "Return the values of the contract line that bills this component"
        return {
            'service': self.service.id,
            'quantity': 1,
            'unit': self.service.product.sale_uom.id,
            # The component prices the line: its recurring price is unused.
            'unit_price': Decimal(0),
            'start_date': contract.start_date,
            'description': self.description or self.service.rec_name,
            'components': [('copy', [self.id], {
                            'plan': None, 'origin': self.id})],
            }


class ComponentTier(sequence_ordered(), ModelSQL, ModelView):
    "Price Component Tier"
    __name__ = 'sale.subscription.component.tier'

    component = fields.Many2One(
        'sale.subscription.component', "Component", required=True,
        ondelete='CASCADE')
    up_to = fields.Numeric(
        "Up To",
        help="The last unit of the tier (inclusive); empty on the last "
        "tier.")
    unit_price = fields.Numeric(
        "Unit Price", digits=PRICE_DIGITS, required=True)
    flat_fee = fields.Numeric(
        "Flat Fee", digits=PRICE_DIGITS,
        help="Charged once when at least one unit falls in the tier.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('component')
        # Tiers are read in order of their bounds, the last unbounded.
        cls._order = [
            ('up_to', 'ASC NULLS LAST'), ('sequence', 'ASC'),
            ('id', 'ASC')]

    @classmethod
    def default_flat_fee(cls):
        return Decimal(0)


class Plan(metaclass=PoolMeta):
    __name__ = 'sale.subscription.plan'

    components = fields.One2Many(
        'sale.subscription.component', 'plan', "Price Components",
        filter=[('line', '=', None)],
        help="Priced each period besides the plan's price; each is copied "
        "onto a contract line of its own when a contract starts.")


class Line(metaclass=PoolMeta):
    __name__ = 'sale.subscription.line'

    components = fields.One2Many(
        'sale.subscription.component', 'line', "Price Component", size=1,
        filter=[('plan', '=', None)],
        help="Prices the line instead of its unit price.")

    @property
    def component(self):
        return self.components[0] if self.components else None

    def is_active_in(self, period_start, period_end):
        "Whether the line is billed for some of [period_start, period_end)"
        return ((not self.start_date or self.start_date < period_end)
            and (not self.end_date or self.end_date >= period_start))


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    @ModelView.button
    @Workflow.transition('running')
    def run(cls, contracts):
        cls.add_plan_components(contracts)
        super().run(contracts)

    @classmethod
    def add_plan_components(cls, contracts):
        """Add a contract line for each plan component the contract does
        not price yet (overridden copies already on a line are kept)."""
        pool = Pool()
        Line = pool.get('sale.subscription.line')
        to_create = []
        for contract in contracts:
            if not contract.plan or contract.state == 'suspended':
                continue
            copied = {l.component.origin for l in contract.lines
                if l.component and l.component.origin}
            for component in contract.plan.components:
                if component in copied:
                    continue
                values = component.get_line_values(contract)
                values['subscription'] = contract.id
                to_create.append(values)
        if to_create:
            Line.create(to_create)
