# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The accesses reaching their block or termination date soon."""
import datetime

from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import PYSONEncoder
from trytond.wizard import Button, StateAction, StateView, Wizard


class UpcomingStart(ModelView):
    "Accesses Reaching Block or Termination"
    __name__ = 'isp.access.upcoming.start'

    date = fields.Date("Date", required=True)
    days = fields.Integer(
        "Days", required=True, domain=[('days', '>=', 0)],
        help="List the accesses to be blocked or whose contract's "
        "termination may be proposed within these days from the date.")

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_days(cls):
        return 7


class Upcoming(Wizard):
    "Accesses Reaching Block or Termination"
    __name__ = 'isp.access.upcoming'
    start = StateView(
        'isp.access.upcoming.start',
        'isp_provisioning.access_upcoming_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Open", 'open_', 'tryton-ok', default=True),
            ])
    open_ = StateAction('isp_provisioning.act_access_upcoming')

    def do_open_(self, action):
        action['pyson_domain'] = PYSONEncoder().encode(
            self.get_domain(self.start.date, self.start.days))
        return action, {}

    @classmethod
    def get_domain(cls, date, days):
        until = date + datetime.timedelta(days)
        return [
            ('state', 'in', ['active', 'reduced', 'blocked']),
            ['OR',
                [('state', '!=', 'blocked'),
                    ('next_block_date', '<=', until)],
                [('state', '=', 'blocked'),
                    ('termination_proposed_date', '=', None),
                    ('termination_date', '<=', until)],
                ],
            ]
