# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Internet access of a contract line and its states (active, reduced,
blocked, cancelled), driven by the contract's overdue invoices under the
blocking policy (see policy.py)."""
import datetime
import secrets
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.model.exceptions import AccessError as ModelAccessError
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.tools import grouped_slice
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import AccessBlockError
from .policy import SEVERITY

STATES = [
    ('active', "Active"),
    ('reduced', "Reduced"),
    ('blocked', "Blocked"),
    ('cancelled', "Cancelled"),
    ]
# The date field stamped when an access enters each state.
STATE_DATES = {
    'reduced': 'reduced_date',
    'blocked': 'blocked_date',
    }


class Access(Workflow, ModelSQL, ModelView):
    """Internet Access

    The login (PPPoE or hotspot) of a connectivity contract line and the
    speed it gets in each state."""
    __name__ = 'isp.access'
    _rec_name = 'login'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    contract = fields.Many2One(
        'sale.subscription', "Contract", required=True, readonly=True,
        ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))])
    contract_line = fields.Many2One(
        'sale.subscription.line', "Contract Line", readonly=True,
        ondelete='RESTRICT',
        domain=[('subscription', '=', Eval('contract', -1))])
    party = fields.Many2One(
        'party.party', "Party", required=True, readonly=True,
        ondelete='RESTRICT')
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    state_changed_at = fields.Timestamp("State Changed At", readonly=True)
    login = fields.Char(
        "Login", required=True, strip=True,
        help="The PPPoE or hotspot user name.")
    password = fields.Char("Password", required=True)
    download_kbps = fields.Integer(
        "Download (kbps)", required=True,
        domain=[('download_kbps', '>', 0)])
    upload_kbps = fields.Integer(
        "Upload (kbps)", required=True,
        domain=[('upload_kbps', '>', 0)])
    reduced_download_kbps = fields.Integer(
        "Reduced Download (kbps)", required=True,
        domain=[('reduced_download_kbps', '>', 0)])
    reduced_upload_kbps = fields.Integer(
        "Reduced Upload (kbps)", required=True,
        domain=[('reduced_upload_kbps', '>', 0)])
    backend = fields.Many2One(
        'isp.provisioning.backend', "Backend", ondelete='RESTRICT',
        help="Where the access is provisioned.")
    notice_date = fields.Date(
        "Notice Sent", readonly=True,
        help="When the last suspension notice was sent.")
    reduced_date = fields.Date("Reduced On", readonly=True)
    blocked_date = fields.Date("Blocked On", readonly=True)
    termination_proposed_date = fields.Date(
        "Termination Proposed On", readonly=True,
        help="When the access had been blocked long enough for the "
        "contract's termination to be proposed.")
    next_block_date = fields.Date(
        "Next Block Date", readonly=True,
        help="When the access will be blocked if nothing is paid.")
    termination_date = fields.Date(
        "Termination Date", readonly=True,
        help="From when the contract's termination may be proposed.")
    overdue_since = fields.Date(
        "Overdue Since", readonly=True,
        help="The due date of the oldest overdue invoice.")
    logs = fields.One2Many(
        'isp.access.log', 'access', "State Log", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('contract')
        t = cls.__table__()
        cls._sql_constraints += [
            ('login_company_uniq', Unique(t, t.company, t.login),
                'isp_provisioning.msg_access_login_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.state, Index.Equality()),
                    (t.company, Index.Equality())),
                Index(t, (t.contract, Index.Range())),
                })
        cls._order = [('login', 'ASC'), ('id', 'ASC')]
        cls._transitions |= {
            ('active', 'reduced'),
            ('active', 'blocked'),
            ('reduced', 'blocked'),
            ('reduced', 'active'),
            ('blocked', 'active'),
            ('blocked', 'reduced'),
            ('active', 'cancelled'),
            ('reduced', 'cancelled'),
            ('blocked', 'cancelled'),
            }
        cls._buttons.update({
                'reduce': {
                    'invisible': Eval('state') != 'active',
                    'icon': 'tryton-switch',
                    'depends': ['state'],
                    },
                'block': {
                    'invisible': ~Eval('state').in_(['active', 'reduced']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') == 'cancelled',
                    'icon': 'tryton-delete',
                    'depends': ['state'],
                    },
                'update_state': {
                    'invisible': Eval('state') == 'cancelled',
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                })
        cls.__rpc__.update({
                'update_accesses': RPC(
                    readonly=False, result=lambda r: len(r)),
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'active'

    @classmethod
    def default_password(cls):
        # A random secret for the PPPoE client; the attendant may set one.
        return secrets.token_urlsafe(9)

    @classmethod
    def check_modification(cls, mode, accesses, values=None, external=False):
        super().check_modification(
            mode, accesses, values=values, external=external)
        if mode == 'delete':
            for access in accesses:
                if access.state != 'cancelled':
                    raise ModelAccessError(gettext(
                            'isp_provisioning.msg_access_delete',
                            access=access.rec_name))

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        to_push = []
        for accesses, values in zip(actions, actions):
            if set(values) & cls._get_provisioned_fields():
                to_push.extend(accesses)
        super().write(*args)
        if to_push:
            cls.push(list(set(to_push)))

    @classmethod
    def _get_provisioned_fields(cls):
        "Return the fields a backend must hear about when they change"
        return {'login', 'password', 'download_kbps', 'upload_kbps',
            'reduced_download_kbps', 'reduced_upload_kbps', 'backend'}

    @classmethod
    def create(cls, vlist):
        accesses = super().create(vlist)
        cls.push(accesses)
        return accesses

    def get_provisioning_payload(self):
        "Return what a provisioning backend needs to know of the access"
        return {
            'login': self.login,
            'password': self.password,
            'state': self.state,
            'download_kbps': self.download_kbps,
            'upload_kbps': self.upload_kbps,
            'reduced_download_kbps': self.reduced_download_kbps,
            'reduced_upload_kbps': self.reduced_upload_kbps,
            'contract': self.contract.number or str(self.contract.id),
            'party': self.party.name,
            'changed_at': (self.state_changed_at or self.create_date
                ).isoformat(),
            }

    @classmethod
    def push(cls, accesses):
        "Send the accesses to their provisioning backends (queued)"
        pool = Pool()
        Backend = pool.get('isp.provisioning.backend')
        accesses = [a for a in accesses if a.backend]
        if accesses:
            Backend.push(accesses)

    def get_policy(self):
        return self.contract.plan.get_access_policy()

    # Workflow ----------------------------------------------------------

    @classmethod
    def _change_state(cls, accesses, state, date=None, reason=None):
        """Move accesses to state on date, logging who, when, why, from
        and to, and push them to their backends"""
        pool = Pool()
        Date = pool.get('ir.date')
        Log = pool.get('isp.access.log')
        if date is None:
            date = Date.today()
        if reason is None:
            reason = gettext('isp_provisioning.msg_reason_manual')
        now = datetime.datetime.now()
        logs = []
        for access in accesses:
            logs.append(access._get_log(access.state, state, date, reason))
            access.state = state
            access.state_changed_at = now
            date_field = STATE_DATES.get(state)
            if date_field:
                setattr(access, date_field, date)
            if state == 'active':
                access.reduced_date = access.blocked_date = None
                access.termination_proposed_date = None
            if state == 'blocked' and access.overdue_since:
                # The termination clock starts with the block.
                access.next_block_date = None
                access.termination_date = access.get_policy().get_schedule(
                    access.overdue_since, access.notice_date, date
                    )['termination']
        # The state is not a provisioned field: write does not push, so
        # the accesses are pushed once, below.
        cls.save(accesses)
        Log.save(logs)
        cls.push(accesses)

    def _get_log(self, from_state, to_state, date, reason):
        pool = Pool()
        Log = pool.get('isp.access.log')
        return Log(
            access=self, date=date, from_state=from_state,
            to_state=to_state, reason=reason,
            user=Transaction().user)

    @classmethod
    @Workflow.transition('active')
    def activate(cls, accesses, date=None, reason=None):
        cls._change_state(accesses, 'active', date, reason)

    @classmethod
    @ModelView.button
    @Workflow.transition('reduced')
    def reduce(cls, accesses, date=None, reason=None):
        cls.check_notice(accesses, date)
        cls._change_state(accesses, 'reduced', date, reason)

    @classmethod
    @ModelView.button
    @Workflow.transition('blocked')
    def block(cls, accesses, date=None, reason=None):
        cls.check_notice(accesses, date)
        cls._change_state(accesses, 'blocked', date, reason)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, accesses, date=None, reason=None):
        cls._change_state(accesses, 'cancelled', date, reason)

    @classmethod
    @ModelView.button
    def update_state(cls, accesses):
        cls.update_accesses(accesses=accesses)

    @classmethod
    def check_notice(cls, accesses, date=None):
        """Refuse to suspend an access without a sent suspension notice for
        its overdue invoice at least the policy's notice period old
        (RGC 765/2023, arts. 70 and 71)."""
        pool = Pool()
        Date = pool.get('ir.date')
        lang = pool.get('ir.lang').get()
        if date is None:
            date = Date.today()
        overdue = cls._get_overdue([a.contract for a in accesses], date)
        notices = cls._get_notice_dates(overdue)
        for access in accesses:
            policy = access.get_policy()
            invoices = overdue.get(access.contract.id, {})
            notice_date = notices.get(access.contract.id)
            if not invoices:
                raise AccessBlockError(gettext(
                        'isp_provisioning.msg_access_block_not_overdue',
                        access=access.rec_name))
            if not notice_date:
                raise AccessBlockError(gettext(
                        'isp_provisioning.msg_access_block_no_notice',
                        access=access.rec_name))
            earliest = notice_date + datetime.timedelta(
                policy.notice_period)
            if date < earliest:
                raise AccessBlockError(gettext(
                        'isp_provisioning.msg_access_block_too_early',
                        access=access.rec_name,
                        notice=lang.strftime(notice_date),
                        earliest=lang.strftime(earliest),
                        days=policy.notice_period))

    # Overdue invoices --------------------------------------------------

    @classmethod
    def _get_overdue(cls, contracts, date):
        """Return {contract id: {invoice: (due date, amount)}} of the
        contracts' invoices with an unpaid installment due before date.

        Reads per batch of contracts: one query for the charges, one for
        the unpaid installments."""
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        MoveLine = pool.get('account.move.line')
        result = defaultdict(dict)
        contract_ids = list({c.id for c in contracts})
        for sub_ids in grouped_slice(contract_ids, 500):
            charges = Charge.search([
                    ('contract', 'in', list(sub_ids)),
                    ('invoice.state', '=', 'posted'),
                    ])
            by_move = {}
            for charge in charges:
                if charge.invoice.move:
                    by_move[charge.invoice.move.id] = (
                        charge.contract.id, charge.invoice)
            if not by_move:
                continue
            lines = MoveLine.search([
                    ('move', 'in', list(by_move)),
                    ('maturity_date', '<', date),
                    ('reconciliation', '=', None),
                    ('account.type.receivable', '=', True),
                    ])
            for line in lines:
                contract_id, invoice = by_move[line.move.id]
                due, amount = result[contract_id].get(
                    invoice, (line.maturity_date, 0))
                result[contract_id][invoice] = (
                    min(due, line.maturity_date),
                    amount + line.debit - line.credit)
        return result

    @classmethod
    def _get_notice_dates(cls, overdue):
        """Return {contract id: date of the first notice sent for one of
        its overdue invoices}"""
        pool = Pool()
        Notice = pool.get('isp.access.notice')
        invoices = [i.id for v in overdue.values() for i in v]
        dates = {}
        for sub_ids in grouped_slice(invoices, 500):
            for notice in Notice.search([
                        ('invoice', 'in', list(sub_ids)),
                        ('email', '!=', None),
                        ]):
                contract = notice.contract.id
                dates[contract] = min(
                    dates.get(contract, notice.date), notice.date)
        return dates

    # Scheduler ---------------------------------------------------------

    @classmethod
    def update_accesses(cls, date=None, accesses=None, restore_only=False):
        """Move the accesses (all open ones by default) to the state their
        overdue invoices call for on date, sending the suspension notices
        that are due. The cron's, the wizard's and the payment's entry.

        restore_only: only lift restrictions (on payment); never notify,
        reduce or block. Return the accesses whose state changed."""
        pool = Pool()
        Date = pool.get('ir.date')
        Notice = pool.get('isp.access.notice')
        if date is None:
            date = Date.today()
        if accesses is None:
            domain = [('state', 'in', ['active', 'reduced', 'blocked'])]
            company = Transaction().context.get('company')
            if company:
                domain.append(('company', '=', company))
            accesses = cls.search(domain)
        accesses = [a for a in accesses if a.state != 'cancelled']
        overdue = cls._get_overdue([a.contract for a in accesses], date)
        notice_dates = cls._get_notice_dates(overdue)

        targets = defaultdict(list)
        notify = {}
        to_save = []
        for access in accesses:
            state, notice = access._get_target(
                date, overdue.get(access.contract.id, {}),
                notice_dates.get(access.contract.id), restore_only)
            if notice:
                notify.setdefault(access.contract, notice)
            if state != access.state:
                targets[state].append(access)
            if access._save_values():
                to_save.append(access)
        cls.save(to_save)
        if not restore_only and notify:
            sent = Notice.send(Notice.create_notices(notify, date), date)
            cls._noticed(accesses, {n.contract for n in sent}, date)
        changed = []
        reasons = {
            'active': 'msg_reason_paid',
            'reduced': 'msg_reason_overdue',
            'blocked': 'msg_reason_overdue',
            }
        for state in ['active', 'reduced', 'blocked']:
            if targets[state]:
                method = getattr(cls, cls._get_transition_method(state))
                method(targets[state], date=date, reason=gettext(
                        'isp_provisioning.%s' % reasons[state]))
                changed.extend(targets[state])
        return changed

    @classmethod
    def _noticed(cls, accesses, contracts, date):
        "Record on the accesses of contracts the notice sent on date"
        to_save = []
        for access in accesses:
            if access.contract in contracts and access.overdue_since:
                schedule = access.get_policy().get_schedule(
                    access.overdue_since, date)
                access.notice_date = date
                access.next_block_date = schedule['block']
                to_save.append(access)
        cls.save(to_save)

    @classmethod
    def _get_transition_method(cls, state):
        return {
            'active': 'activate',
            'reduced': 'reduce',
            'blocked': 'block',
            }[state]

    def _get_target(self, date, invoices, notice_date, restore_only=False):
        """Return (state, notice) for the access on date: the state it
        must be in and the (invoice, due date, amount) to notify of, if a
        notice is due. Sets the planned dates on the record."""
        policy = self.get_policy()
        due_date = min((d for d, _ in invoices.values()), default=None)
        state, notify, propose = policy.get_target(
            date, due_date, notice_date, self.blocked_date)
        schedule = (policy.get_schedule(
                due_date, notice_date, self.blocked_date)
            if due_date else {})
        if self.overdue_since != due_date:
            self.overdue_since = due_date
        next_block = (schedule.get('block')
            if self.state != 'blocked' else None)
        if self.next_block_date != next_block:
            self.next_block_date = next_block
        termination = schedule.get('termination')
        if self.termination_date != termination:
            self.termination_date = termination
        if propose and not self.termination_proposed_date:
            self.termination_proposed_date = date
        if notice_date and self.notice_date != notice_date:
            self.notice_date = notice_date
        state = self._get_release_state(date, state)
        if restore_only and SEVERITY[state] > SEVERITY[self.state]:
            state = self.state
        notice = None
        if notify and not restore_only:
            invoice = min(invoices, key=lambda i: (invoices[i][0], i.id))
            notice = (invoice,) + invoices[invoice]
        return state, notice

    def _get_release_state(self, date, state):
        "Return the state once the releases in force are applied"
        return state


class AccessLog(ModelSQL, ModelView):
    """Access State Log

    Who moved an access from which state to which, when and why. It is
    append-only."""
    __name__ = 'isp.access.log'

    access = fields.Many2One(
        'isp.access', "Access", required=True, readonly=True,
        ondelete='CASCADE')
    date = fields.Date("Date", required=True, readonly=True)
    from_state = fields.Selection(
        STATES, "From", required=True, readonly=True)
    to_state = fields.Selection(STATES, "To", required=True, readonly=True)
    reason = fields.Char("Reason", readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('access')
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.access, Index.Range())))
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def check_modification(cls, mode, logs, values=None, external=False):
        super().check_modification(
            mode, logs, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise ModelAccessError(gettext(
                    'isp_provisioning.msg_access_log_append_only'))


class UpdateStart(ModelView):
    "Update Accesses"
    __name__ = 'isp.access.update.start'

    date = fields.Date(
        "Date", required=True,
        help="The day the overdue invoices are judged on.")

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


class Update(Wizard):
    "Update Accesses"
    __name__ = 'isp.access.update'
    start = StateView(
        'isp.access.update.start',
        'isp_provisioning.access_update_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Update", 'update', 'tryton-ok', default=True),
            ])
    update = StateTransition()

    def transition_update(self):
        pool = Pool()
        Access = pool.get('isp.access')
        Access.update_accesses(date=self.start.date)
        return 'end'
