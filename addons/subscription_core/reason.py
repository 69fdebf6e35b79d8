# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pyson import Eval


class Reason(DeactivableMixin, ModelSQL, ModelView):
    "Contract Reason"
    __name__ = 'sale.subscription.reason'

    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True)
    type = fields.Selection([
            ('inclusion', "Inclusion"),
            ('cancellation', "Cancellation"),
            ], "Type", required=True)
    provider_fault = fields.Boolean(
        "Provider Fault",
        states={'invisible': Eval('type') != 'cancellation'},
        help="The provider caused the cancellation: no loyalty penalty.")
