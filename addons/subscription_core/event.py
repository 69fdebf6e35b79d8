# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.modules.currency.fields import Monetary


class ContractEvent(ModelSQL, ModelView):
    """Contract Event

    The ledger of what changes recurring revenue. KPIs (MRR movements,
    churn) are computed from it, so it is append-only."""
    __name__ = 'sale.subscription.event'

    contract = fields.Many2One(
        'sale.subscription', "Contract", required=True, ondelete='RESTRICT')
    date = fields.Date("Date", required=True)
    type = fields.Selection([
            ('start', "Start"),
            ('suspension', "Suspension"),
            ('reactivation', "Reactivation"),
            ('close', "Close"),
            ('cancellation', "Cancellation"),
            ], "Type", required=True)
    currency = fields.Many2One('currency.currency', "Currency", required=True)
    mrr_before = Monetary(
        "MRR Before", currency='currency', digits='currency', required=True)
    mrr_after = Monetary(
        "MRR After", currency='currency', digits='currency', required=True)
    mrr_delta = fields.Function(Monetary(
            "MRR Change", currency='currency', digits='currency'),
        'get_mrr_delta')
    reason = fields.Many2One('sale.subscription.reason', "Reason")
    user = fields.Many2One('res.user', "User", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('contract')
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.date, Index.Range()), (t.type, Index.Equality())))
        cls._order.insert(0, ('date', 'DESC'))

    def get_mrr_delta(self, name):
        return self.mrr_after - self.mrr_before

    @classmethod
    def check_modification(cls, mode, events, values=None, external=False):
        super().check_modification(
            mode, events, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise AccessError(gettext(
                    'subscription_core.msg_event_append_only'))
