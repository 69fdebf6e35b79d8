# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Blocking policy: when an overdue connectivity contract is notified,
reduced, blocked and proposed for termination.

The steps are counted in days after the due date of the oldest overdue
invoice, as ISP systems configure them, and never earlier than the legal
floors of Anatel's RGC (Resolução 765/2023), counted from the notice and
from the suspension (see LEGAL_FLOORS)."""
import datetime
import weakref

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import PolicyError

# The legal floors every policy must respect, with their source. A policy
# may wait longer, never less.
LEGAL_FLOORS = {
    # Suspension (partial or total) only 15 days after a notice with the
    # contents of art. 71.
    'notice_period': (15, 'RGC 765/2023 (Anatel), arts. 70 and 71'),
    # Termination only after 60 days of suspension, with prior notice.
    'suspension_period': (60, 'RGC 765/2023 (Anatel), arts. 73, 75 and 77'),
    }
# Access is restored within 1 day of the payment, with no reconnection
# fee (RGC 765/2023, art. 78).
RESTORE_MAX_DAYS = (1, 'RGC 765/2023 (Anatel), art. 78')

# Per transaction: {company id: default policy id}, so the scheduler does
# not search the default policy once per access.
_default_memo = weakref.WeakKeyDictionary()

# Severity of the access states, to compare them.
SEVERITY = {'active': 0, 'reduced': 1, 'blocked': 2}


def parse_days_of_month(text):
    """Return the sorted days of month listed in text ("15, 25"),
    or raise ValueError naming the bad item."""
    days = set()
    for item in (text or '').replace(';', ',').split(','):
        item = item.strip()
        if not item:
            continue
        if not item.isdigit() or not 1 <= int(item) <= 31:
            raise ValueError(item)
        days.add(int(item))
    return sorted(days)


class Policy(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    """Access Blocking Policy

    Used by the plans that name it, else the first policy of the contract's
    company, else the first policy without company."""
    __name__ = 'isp.access.policy'

    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One(
        'company.company', "Company",
        help="Leave empty to use it for every company without its own.")
    notice_days = fields.Integer(
        "Notice Days", required=True,
        domain=[('notice_days', '>=', 0)],
        help="Days after the due date to send the suspension notice.")
    reduce_days = fields.Integer(
        "Reduce Days",
        domain=['OR', ('reduce_days', '=', None), ('reduce_days', '>=', 0)],
        help="Days after the due date to reduce the speed (partial "
        "suspension). Leave empty for no reduction stage.")
    block_days = fields.Integer(
        "Block Days", required=True,
        domain=[('block_days', '>=', 0)],
        help="Days after the due date to block the access (total "
        "suspension).")
    termination_days = fields.Integer(
        "Termination Days", required=True,
        domain=[('termination_days', '>=', 0)],
        help="Days after the due date to propose the termination of the "
        "contract.")
    notice_period = fields.Integer(
        "Notice Period", required=True,
        help="The least days between the notice and a reduction or "
        "block.")
    suspension_period = fields.Integer(
        "Suspension Period", required=True,
        help="The least days blocked before the termination is proposed.")
    restore_days = fields.Integer(
        "Restore Days", required=True,
        help="The most days between the payment and the restored access "
        "(the access is restored when the invoice is paid).")
    suspension_days_of_month = fields.Char(
        "Suspension Days of Month",
        help="Comma-separated days of the month on which reductions and "
        "blocks happen (e.g. \"15, 25\"); empty for any day.")
    trust_unlock_days = fields.Integer(
        "Trust Unlock Days", required=True,
        domain=[('trust_unlock_days', '>', 0)],
        help="How many days a trust unlock lasts.")
    trust_unlock_period = fields.Integer(
        "Trust Unlock Period", required=True,
        domain=[('trust_unlock_period', '>', 0)],
        help="A trust unlock is allowed once per this many days.")
    temporary_release_days = fields.Integer(
        "Temporary Release Days", required=True,
        domain=[('temporary_release_days', '>', 0)],
        help="How many days a temporary release lasts.")
    temporary_release_period = fields.Integer(
        "Temporary Release Period", required=True,
        domain=[('temporary_release_period', '>', 0)],
        help="A temporary release is allowed once per this many days.")
    source = fields.Text(
        "Source",
        help="The legal source or practice behind each value.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_notice_days(cls):
        return 1

    @classmethod
    def default_reduce_days(cls):
        return 16

    @classmethod
    def default_block_days(cls):
        return 31

    @classmethod
    def default_termination_days(cls):
        return 91

    @classmethod
    def default_notice_period(cls):
        return LEGAL_FLOORS['notice_period'][0]

    @classmethod
    def default_suspension_period(cls):
        return LEGAL_FLOORS['suspension_period'][0]

    @classmethod
    def default_restore_days(cls):
        return 0

    @classmethod
    def default_trust_unlock_days(cls):
        return 3

    @classmethod
    def default_trust_unlock_period(cls):
        return 30

    @classmethod
    def default_temporary_release_days(cls):
        return 1

    @classmethod
    def default_temporary_release_period(cls):
        return 30

    @classmethod
    def validate_fields(cls, policies, field_names):
        super().validate_fields(policies, field_names)
        for policy in policies:
            policy.check_legal_floors()
            try:
                parse_days_of_month(policy.suspension_days_of_month)
            except ValueError as exception:
                raise PolicyError(gettext(
                        'isp_provisioning.msg_policy_days_of_month',
                        policy=policy.rec_name,
                        value=str(exception)))

    def check_legal_floors(self):
        for name, (minimum, source) in LEGAL_FLOORS.items():
            value = getattr(self, name)
            if value is None or value < minimum:
                raise PolicyError(gettext(
                        'isp_provisioning.msg_policy_below_floor',
                        policy=self.rec_name, value=value,
                        minimum=minimum, source=source))
        maximum, source = RESTORE_MAX_DAYS
        if self.restore_days is None or not (
                0 <= self.restore_days <= maximum):
            raise PolicyError(gettext(
                    'isp_provisioning.msg_policy_restore_days',
                    policy=self.rec_name, value=self.restore_days,
                    maximum=maximum, source=source))

    @classmethod
    def get_default(cls, company):
        "Return the company's policy, else the first one without company"
        memo = _default_memo.setdefault(Transaction(), {})
        key = company.id if company else None
        if key not in memo:
            memo[key] = None
            for domain in [[('company', '=', key)], [('company', '=', None)]]:
                policies = cls.search(domain, limit=1)
                if policies:
                    memo[key] = policies[0].id
                    break
        return cls(memo[key]) if memo[key] is not None else None

    @classmethod
    def create(cls, vlist):
        _default_memo.pop(Transaction(), None)
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        _default_memo.pop(Transaction(), None)
        super().write(*args)

    @classmethod
    def delete(cls, policies):
        _default_memo.pop(Transaction(), None)
        super().delete(policies)

    @property
    def days_of_month(self):
        return parse_days_of_month(self.suspension_days_of_month)

    def suspension_day(self, day):
        "Return the first allowed suspension date on or after day"
        days = self.days_of_month
        if not days:
            return day
        for _ in range(62):
            if day.day in days:
                return day
            day += datetime.timedelta(1)
        # Only days absent from every month (none: 31 exists in a
        # month of any two) would get here.
        raise ValueError(self.suspension_days_of_month)

    def get_schedule(self, due_date, notice_date=None, blocked_date=None):
        """Return the planned dates of each step for an invoice overdue
        since due_date: {'notice', 'reduce', 'block', 'termination'}.

        Reduction and block need the notice: without one they are None.
        The termination needs the block."""
        delta = datetime.timedelta
        schedule = {
            'notice': due_date + delta(self.notice_days),
            'reduce': None,
            'block': None,
            'termination': None,
            }
        if notice_date:
            earliest = notice_date + delta(self.notice_period)
            if self.reduce_days is not None:
                schedule['reduce'] = self.suspension_day(
                    max(due_date + delta(self.reduce_days), earliest))
            schedule['block'] = self.suspension_day(
                max(due_date + delta(self.block_days), earliest))
            if (schedule['reduce']
                    and schedule['reduce'] >= schedule['block']):
                schedule['reduce'] = None
        if blocked_date:
            schedule['termination'] = max(
                due_date + delta(self.termination_days),
                blocked_date + delta(self.suspension_period))
        return schedule

    def get_target(self, date, due_date, notice_date=None,
            blocked_date=None):
        """Return (state, notify, propose_termination) on date for an
        access whose oldest overdue invoice fell due on due_date (None when
        nothing is overdue)."""
        if due_date is None or due_date >= date:
            return 'active', False, False
        schedule = self.get_schedule(due_date, notice_date, blocked_date)
        notify = notice_date is None and date >= schedule['notice']
        state = 'active'
        for step, stage in [('reduce', 'reduced'), ('block', 'blocked')]:
            if schedule[step] and date >= schedule[step]:
                state = stage
        propose = bool(
            schedule['termination'] and date >= schedule['termination'])
        return state, notify, propose


class Plan(metaclass=PoolMeta):
    __name__ = 'sale.subscription.plan'

    connectivity = fields.Boolean(
        "Connectivity",
        help="The plan's service gives internet access: each contract "
        "gets a login whose access follows the payments.")
    download_kbps = fields.Integer(
        "Download (kbps)",
        domain=['OR', ('download_kbps', '=', None),
            ('download_kbps', '>', 0)],
        states={
            'required': Eval('connectivity', False),
            'invisible': ~Eval('connectivity', False),
            })
    upload_kbps = fields.Integer(
        "Upload (kbps)",
        domain=['OR', ('upload_kbps', '=', None), ('upload_kbps', '>', 0)],
        states={
            'required': Eval('connectivity', False),
            'invisible': ~Eval('connectivity', False),
            })
    reduced_download_kbps = fields.Integer(
        "Reduced Download (kbps)",
        domain=['OR', ('reduced_download_kbps', '=', None),
            ('reduced_download_kbps', '>', 0)],
        states={
            'required': Eval('connectivity', False),
            'invisible': ~Eval('connectivity', False),
            })
    reduced_upload_kbps = fields.Integer(
        "Reduced Upload (kbps)",
        domain=['OR', ('reduced_upload_kbps', '=', None),
            ('reduced_upload_kbps', '>', 0)],
        states={
            'required': Eval('connectivity', False),
            'invisible': ~Eval('connectivity', False),
            })
    access_policy = fields.Many2One(
        'isp.access.policy', "Blocking Policy",
        domain=['OR',
            ('company', '=', None),
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'invisible': ~Eval('connectivity', False),
            },
        help="Leave empty to use the company's policy.")
    provisioning_backend = fields.Many2One(
        'isp.provisioning.backend', "Provisioning Backend",
        states={
            'invisible': ~Eval('connectivity', False),
            },
        help="Where the accesses of new contracts are provisioned.")

    def get_access_policy(self):
        "Return the blocking policy of the plan's contracts"
        pool = Pool()
        Policy = pool.get('isp.access.policy')
        if self.access_policy:
            return self.access_policy
        return Policy.get_default(self.company)

