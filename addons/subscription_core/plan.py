# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval

from .exceptions import PlanValidationError


class Plan(DeactivableMixin, ModelSQL, ModelView):
    "Subscription Plan"
    __name__ = 'sale.subscription.plan'

    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True)
    company = fields.Many2One('company.company', "Company", required=True)
    currency = fields.Many2One('currency.currency', "Currency", required=True)
    product = fields.Many2One(
        'product.product', "Product", required=True,
        domain=[('type', '=', 'service')],
        context={'company': Eval('company', -1)},
        depends={'company'},
        help="The service sold: a sale line of this product creates "
        "a contract on this plan.")
    service = fields.Many2One(
        'sale.subscription.service', "Subscription Service", required=True,
        domain=[('product', '=', Eval('product', -1))])
    recurrence = fields.Many2One(
        'sale.subscription.recurrence.rule.set', "Recurrence",
        required=True,
        help="How often the contract is billed (weekly, monthly, "
        "quarterly, …).")
    billing_mode = fields.Selection([
            ('advance', "In Advance"),
            ('arrears', "In Arrears"),
            ], "Billing Mode", required=True,
        help="In advance: each period is billed when it starts.\n"
        "In arrears: each period is billed when it ends.")
    price = Monetary(
        "Price", currency='currency', digits='currency', required=True,
        domain=[('price', '>=', 0)],
        help="The recurring price per period.")
    setup_fee = Monetary(
        "Setup Fee", currency='currency', digits='currency',
        domain=['OR', ('setup_fee', '=', None), ('setup_fee', '>=', 0)],
        help="Charged once, on the first invoice.")
    setup_product = fields.Many2One(
        'product.product', "Setup Product",
        domain=[('type', '=', 'service')],
        context={'company': Eval('company', -1)},
        depends={'company'},
        states={
            'required': Eval('setup_fee', 0) > 0,
            })
    minimum_charge = Monetary(
        "Minimum Charge", currency='currency', digits='currency',
        domain=['OR',
            ('minimum_charge', '=', None),
            ('minimum_charge', '>=', 0)],
        help="The least a full period is charged.")
    trial_days = fields.Integer(
        "Trial Days",
        domain=['OR', ('trial_days', '=', None), ('trial_days', '>=', 0)],
        help="Free days before the first paid period.")
    loyalty_months = fields.Integer(
        "Loyalty Months",
        domain=['OR',
            ('loyalty_months', '=', None),
            ('loyalty_months', '>=', 0)],
        help="The minimum term (fidelidade) of the contract.")
    description = fields.Text("Description", translate=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_company_uniq', Unique(t, t.company, t.code),
                'subscription_core.msg_plan_code_unique'),
            ]

    @classmethod
    def default_company(cls):
        from trytond.transaction import Transaction
        return Transaction().context.get('company')

    @classmethod
    def default_currency(cls):
        pool = Pool()
        Company = pool.get('company.company')
        company = cls.default_company()
        if company is not None and company >= 0:
            return Company(company).currency.id

    @classmethod
    def default_billing_mode(cls):
        return 'advance'

    @classmethod
    def default_trial_days(cls):
        return 0

    @classmethod
    def default_loyalty_months(cls):
        return 0

    @classmethod
    def validate_fields(cls, plans, field_names):
        super().validate_fields(plans, field_names)
        for plan in plans:
            if plan.setup_fee and not plan.setup_product:
                raise PlanValidationError(gettext(
                        'subscription_core.msg_plan_setup_product_required',
                        plan=plan.rec_name))
