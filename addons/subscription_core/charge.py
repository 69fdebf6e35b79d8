# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import AccessError
from trytond.modules.currency.fields import Monetary
from trytond.tools import grouped_slice
from trytond.transaction import Transaction


class Charge(ModelSQL, ModelView):
    """Contract Charge

    One row per contract line, kind and period billed. The unique
    constraint on (line, kind, period_start) is what makes the billing run
    exactly-once: a re-run, a restart after a crash or a concurrent run
    cannot insert the same charge twice."""
    __name__ = 'sale.subscription.charge'

    contract = fields.Many2One(
        'sale.subscription', "Contract", required=True, ondelete='RESTRICT')
    line = fields.Many2One(
        'sale.subscription.line', "Line", required=True, ondelete='RESTRICT')
    kind = fields.Selection([
            ('recurring', "Recurring"),
            ('setup', "Setup Fee"),
            ('minimum', "Minimum Charge"),
            ], "Kind", required=True)
    period_start = fields.Date("Period Start", required=True)
    period_end = fields.Date(
        "Period End", required=True,
        help="The first day after the period.")
    ratio = fields.Numeric(
        "Ratio", digits=(16, 6), required=True,
        help="The share of a full period billed (pro-rata).")
    currency = fields.Many2One('currency.currency', "Currency", required=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True)
    invoice_line = fields.Many2One(
        'account.invoice.line', "Invoice Line", readonly=True,
        ondelete='RESTRICT')
    invoice = fields.Many2One(
        'account.invoice', "Invoice", readonly=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('contract')
        t = cls.__table__()
        cls._sql_constraints += [
            ('line_kind_period_uniq',
                Unique(t, t.line, t.kind, t.period_start),
                'subscription_core.msg_charge_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.contract, Index.Range())),
                Index(t, (t.invoice, Index.Range())),
                })
        cls._order = [('period_start', 'DESC'), ('id', 'DESC')]

    def get_rec_name(self, name):
        return '%s @ %s' % (self.period_start, self.contract.rec_name)

    @classmethod
    def billed_keys(cls, contracts):
        "Return the set of (line, kind, period_start) already charged"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        keys = set()
        for sub_ids in grouped_slice([c.id for c in contracts], 1000):
            cursor.execute(*table.select(
                    table.line, table.kind, table.period_start,
                    where=table.contract.in_(list(sub_ids))))
            for line, kind, period_start in cursor:
                if isinstance(period_start, str):
                    # SQLite returns dates as text
                    period_start = datetime.date.fromisoformat(period_start)
                keys.add((line, kind, period_start))
        return keys

    @classmethod
    def check_modification(cls, mode, charges, values=None, external=False):
        super().check_modification(
            mode, charges, values=values, external=external)
        if mode == 'delete' or (mode == 'write' and external):
            raise AccessError(gettext(
                    'subscription_core.msg_charge_modify'))
