# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta

from .exceptions import PlanValidationError


class Configuration(metaclass=PoolMeta):
    __name__ = 'sale.configuration'

    contract_invoice_state = fields.Selection([
            ('draft', "Draft"),
            ('posted', "Posted"),
            ], "Contract Invoice State", required=True,
        help="The state in which the billing run leaves the invoices.")
    contract_billing_chunk = fields.Integer(
        "Billing Run Chunk", required=True,
        domain=[('contract_billing_chunk', '>', 0)],
        help="How many contracts the billing run bills per transaction.")

    @classmethod
    def default_contract_invoice_state(cls):
        return 'posted'

    @classmethod
    def default_contract_billing_chunk(cls):
        return 500

    def get_due_days(self):
        "Return the sorted list of allowed due days"
        pool = Pool()
        DueDay = pool.get('sale.subscription.due_day')
        return [d.day for d in DueDay.search([], order=[('day', 'ASC')])]


class DueDay(ModelSQL, ModelView):
    "Contract Due Day"
    __name__ = 'sale.subscription.due_day'

    day = fields.Integer(
        "Day", required=True,
        help="A day of the month customers may choose to pay on.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('day_uniq', Unique(t, t.day),
                'subscription_core.msg_due_day_unique'),
            ]
        cls._order = [('day', 'ASC'), ('id', 'ASC')]

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        for record in records:
            # Days 29-31 do not exist in every month; a cycle anchored on
            # them would skip months.
            if not (1 <= record.day <= 28):
                raise PlanValidationError(gettext(
                        'subscription_core.msg_due_day_invalid',
                        day=record.day))
