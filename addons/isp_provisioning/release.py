# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Releases of a restricted access while the invoice is still unpaid:
trust unlock (desbloqueio de confiança), temporary release and manual
release. Each lasts a few days; when it ends and the invoice is still
overdue, the next run restricts the access again."""
import datetime

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.transaction import Transaction

from .exceptions import ReleaseError

RELEASE_KINDS = [
    (None, ""),
    ('trust', "Trust Unlock"),
    ('temporary', "Temporary Release"),
    ('manual', "Manual Release"),
    ]


class Access(metaclass=PoolMeta):
    __name__ = 'isp.access'

    release_kind = fields.Selection(
        RELEASE_KINDS, "Release", readonly=True,
        help="How the access was released while still overdue.")
    released_until = fields.Date(
        "Released Until", readonly=True,
        help="The last day of the release: the next run after it "
        "restricts the access again if the invoice is still overdue.")
    trust_unlock_date = fields.Date(
        "Last Trust Unlock", readonly=True)
    temporary_release_date = fields.Date(
        "Last Temporary Release", readonly=True)
    manual_release_date = fields.Date(
        "Last Manual Release", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        restricted = ~Eval('state').in_(['reduced', 'blocked'])
        cls._buttons.update({
                'trust_unlock': {
                    'invisible': restricted,
                    'icon': 'tryton-unlock',
                    'depends': ['state'],
                    },
                'temporary_release': {
                    'invisible': restricted,
                    'icon': 'tryton-unlock',
                    'depends': ['state'],
                    },
                'manual_release': {
                    'invisible': restricted,
                    'icon': 'tryton-unlock',
                    'depends': ['state'],
                    },
                })
        cls.__rpc__.update({
                'release': RPC(readonly=False, instantiate=0),
                })

    @classmethod
    @ModelView.button
    def trust_unlock(cls, accesses):
        cls.release(accesses, 'trust')

    @classmethod
    @ModelView.button
    def temporary_release(cls, accesses):
        cls.release(accesses, 'temporary')

    @classmethod
    @ModelView.button
    def manual_release(cls, accesses):
        cls.release(accesses, 'manual')

    @classmethod
    def release(cls, accesses, kind, date=None):
        """Release the restricted accesses on date by kind (trust,
        temporary or manual), once every access passes the checks."""
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        # Validate all first: a refused access releases none.
        for access in accesses:
            access.check_release(kind, date)
        for access in accesses:
            until = getattr(access, '_get_release_until_%s' % kind)(date)
            access.release_kind = kind
            access.released_until = until
            setattr(access, '%s_date' % cls._get_release_field(kind), date)
        cls.save(accesses)
        cls.activate(accesses, date=date, reason=gettext(
                'isp_provisioning.msg_reason_release_%s' % kind,
                until=Pool().get('ir.lang').get().strftime(
                    accesses[0].released_until) if accesses else ''))

    @classmethod
    def _get_release_field(cls, kind):
        return {
            'trust': 'trust_unlock',
            'temporary': 'temporary_release',
            'manual': 'manual_release',
            }[kind]

    def check_release(self, kind, date):
        pool = Pool()
        lang = pool.get('ir.lang').get()
        if self.state not in {'reduced', 'blocked'}:
            raise ReleaseError(gettext(
                    'isp_provisioning.msg_release_not_restricted',
                    access=self.rec_name))
        getattr(self, '_check_release_%s' % kind)(date, lang)

    def _check_release_once(self, last, period, date, lang, message):
        if last and date < last + datetime.timedelta(period):
            raise ReleaseError(gettext(
                    'isp_provisioning.%s' % message,
                    access=self.rec_name,
                    last=lang.strftime(last),
                    next=lang.strftime(last + datetime.timedelta(period)),
                    period=period))

    def _check_release_trust(self, date, lang):
        policy = self.get_policy()
        self._check_release_once(
            self.trust_unlock_date, policy.trust_unlock_period, date, lang,
            'msg_release_trust_used')

    def _check_release_temporary(self, date, lang):
        policy = self.get_policy()
        self._check_release_once(
            self.temporary_release_date, policy.temporary_release_period,
            date, lang, 'msg_release_temporary_used')

    def _check_release_manual(self, date, lang):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        transaction = Transaction()
        if transaction.user == 0:
            # The root user (scheduler, server scripts) has every right.
            return
        group = ModelData.get_id(
            'isp_provisioning', 'group_isp_access_release')
        if group not in User.get_groups():
            raise ReleaseError(gettext(
                    'isp_provisioning.msg_release_manual_group',
                    access=self.rec_name))

    def _get_release_until_trust(self, date):
        return date + datetime.timedelta(
            self.get_policy().trust_unlock_days - 1)

    def _get_release_until_temporary(self, date):
        return date + datetime.timedelta(
            self.get_policy().temporary_release_days - 1)

    def _get_release_until_manual(self, date):
        # Until the next automatic run: the release day only.
        return date

    def _get_release_state(self, date, state):
        state = super()._get_release_state(date, state)
        if self.released_until and self.released_until >= date:
            return 'active'
        if self.release_kind or self.released_until:
            # The release is over: the policy decides again.
            self.release_kind = None
            self.released_until = None
        return state

