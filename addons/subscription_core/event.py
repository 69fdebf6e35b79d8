# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from sql.aggregate import Count, Min, Sum
from sql.functions import DateTrunc

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool


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
            ('upgrade', "Upgrade"),
            ('downgrade', "Downgrade"),
            ('addon', "Add-on"),
            ('plan_change', "Plan Change"),
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
    change = fields.Many2One(
        'sale.subscription.change', "Change", readonly=True,
        ondelete='RESTRICT')
    from_description = fields.Char("From", readonly=True)
    to_description = fields.Char("To", readonly=True)

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


class EventMovement(ModelSQL, ModelView):
    """Contract Movement

    Upgrades, downgrades, add-ons and plan switches per month: count and
    MRR change, from the event ledger."""
    __name__ = 'sale.subscription.event.movement'

    month = fields.Date("Month")
    company = fields.Many2One('company.company', "Company")
    type = fields.Selection('get_types', "Type")
    count = fields.Integer("Count")
    currency = fields.Many2One('currency.currency', "Currency")
    mrr_delta = Monetary(
        "MRR Change", currency='currency', digits='currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'DESC'), ('type', 'ASC'), ('id', 'ASC')]

    @classmethod
    def get_types(cls):
        pool = Pool()
        Event = pool.get('sale.subscription.event')
        return Event.type.selection

    @classmethod
    def _movement_types(cls):
        return ['upgrade', 'downgrade', 'addon', 'plan_change']

    @classmethod
    def table_query(cls):
        pool = Pool()
        Event = pool.get('sale.subscription.event')
        Contract = pool.get('sale.subscription')
        event = Event.__table__()
        contract = Contract.__table__()
        # The month is computed in a subquery and grouped by its column:
        # PostgreSQL does not match DATE_TRUNC($1, ...) in the select
        # with DATE_TRUNC($5, ...) in the GROUP BY.
        events = event.join(contract,
            condition=event.contract == contract.id).select(
                event.id.as_('id'),
                cls.month.sql_cast(
                    DateTrunc('month', event.date)).as_('month'),
                contract.company.as_('company'),
                event.type.as_('type'),
                event.currency.as_('currency'),
                (event.mrr_after - event.mrr_before).as_('delta'),
                where=event.type.in_(cls._movement_types()))
        return events.select(
            Min(events.id).as_('id'),
            events.month.as_('month'),
            events.company.as_('company'),
            events.type.as_('type'),
            events.currency.as_('currency'),
            Count(events.id).as_('count'),
            cls.mrr_delta.sql_cast(Sum(events.delta)).as_('mrr_delta'),
            group_by=[events.month, events.company, events.type,
                events.currency])
