# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The contract's term: trial, loyalty penalty, renewal and expiration,
and the daily lifecycle run that applies them."""
import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .change import ChargeItem
from .exceptions import PlanValidationError
from .proration import PENALTY_LEGAL_SOURCE, loyalty_penalty, remaining_months

ONE_DAY = datetime.timedelta(1)


class Plan(metaclass=PoolMeta):
    __name__ = 'sale.subscription.plan'

    trial_conversion = fields.Selection([
            ('automatic', "Automatic"),
            ('explicit', "On Confirmation"),
            ], "Trial Conversion", required=True,
        help="Automatic: billing starts when the trial ends.\n"
        "On confirmation: the contract closes at the end of the trial "
        "unless it is converted.")
    auto_renew = fields.Boolean(
        "Auto Renew",
        help="Contracts renew at their expiration date by default.")
    renewal_months = fields.Integer(
        "Renewal Term",
        domain=['OR',
            ('renewal_months', '=', None),
            ('renewal_months', '>', 0)],
        help="Months each renewal adds; empty: after its first term the "
        "contract runs without expiration.")
    loyalty_penalty = fields.Selection([
            (None, ""),
            ('benefit', "Proportional to the Benefit"),
            ], "Loyalty Penalty",
        help="The early-termination penalty inside the loyalty term: "
        "benefit granted × whole months left / loyalty months, none when "
        "the provider is at fault (%s)." % PENALTY_LEGAL_SOURCE)
    loyalty_benefit = Monetary(
        "Loyalty Benefit", currency='currency', digits='currency',
        domain=['OR',
            ('loyalty_benefit', '=', None),
            ('loyalty_benefit', '>=', 0)],
        states={
            'invisible': ~Eval('loyalty_penalty'),
            'required': Eval('loyalty_penalty') == 'benefit',
            },
        help="The benefit granted for the loyalty term (discounts on the "
        "installation, equipment or price).")
    penalty_product = fields.Many2One(
        'product.product', "Penalty Product",
        domain=[('type', '=', 'service')],
        context={'company': Eval('company', -1)},
        depends={'company'},
        states={
            'invisible': ~Eval('loyalty_penalty'),
            })

    @classmethod
    def default_trial_conversion(cls):
        return 'automatic'

    @classmethod
    def default_auto_renew(cls):
        return True

    @classmethod
    def validate_fields(cls, plans, field_names):
        super().validate_fields(plans, field_names)
        for plan in plans:
            if plan.loyalty_penalty and not plan.penalty_product:
                raise PlanValidationError(gettext(
                        'subscription_core.msg_plan_penalty_product_required',
                        plan=plan.rec_name))


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def process_lifecycle(cls, date=None):
        """Apply what falls due on date before it is billed: scheduled
        changes, unconverted trials ending, terms expiring.

        The cron and the wizard both call this."""
        pool = Pool()
        Date = pool.get('ir.date')
        Change = pool.get('sale.subscription.change')
        if date is None:
            date = Date.today()
        changes = Change.apply_scheduled(date)
        trials = cls.close_unconverted_trials(date)
        renewed, closed = cls.renew_or_close(date)
        return {
            'changes': len(changes),
            'trials': len(trials),
            'renewed': len(renewed),
            'closed': len(closed),
            }

    @classmethod
    def _lifecycle_domain(cls):
        return [
            ('company', '=', Transaction().context.get('company', -1)),
            ('state', '=', 'running'),
            ]

    @classmethod
    def close_unconverted_trials(cls, date):
        "Close the contracts whose trial ended on date without conversion"
        contracts = cls.search(cls._lifecycle_domain() + [
                ('trial_end_date', '<=', date),
                ('trial_converted', '=', False),
                ])
        for contract in contracts:
            contract.end_date = contract.trial_end_date - ONE_DAY
        cls.save(contracts)
        cls.close(contracts)
        return contracts

    @classmethod
    def renew_or_close(cls, date):
        """Renew the terms expiring on date, or close the contracts that
        do not renew; return (renewed, closed)."""
        contracts = cls.search(cls._lifecycle_domain() + [
                ('expiration_date', '<=', date),
                ])
        renewed, closed = [], []
        for contract in contracts:
            if contract.auto_renew:
                contract.renew(date)
                renewed.append(contract)
            else:
                contract.end_date = contract.expiration_date - ONE_DAY
                closed.append(contract)
        cls.save(contracts)
        for contract in closed:
            contract.create_adjustment_invoice(
                contract.get_termination_charges(
                    contract.end_date, penalty=False), date)
        cls.close(closed)
        return renewed, closed

    def renew(self, date):
        """Start the terms up to date: the loyalty term does not renew (a
        new one needs a new benefit)."""
        months = self.plan.renewal_months if self.plan else None
        while self.expiration_date and self.expiration_date <= date:
            self.renewal_date = self.expiration_date
            self.expiration_date = (
                self.expiration_date + relativedelta(months=months)
                if months else None)

    def get_termination_charges(self, last_day, reason=None, penalty=True):
        """Return the charge items of ending the contract after last_day:
        the penalty, the credit of what was billed for later days and,
        in arrears, the periods not billed yet."""
        items = []
        if penalty:
            items += self.get_penalty_charges(
                last_day, reason or self.cancellation_reason)
        items += self.get_unused_credits(last_day + ONE_DAY)
        items += self._get_final_arrears_charges(last_day)
        return items

    def get_penalty_charges(self, last_day, reason):
        plan = self.plan
        if (not plan or not plan.loyalty_penalty
                or (reason and reason.provider_fault)
                or not self.loyalty_end_date
                or last_day + ONE_DAY >= self.loyalty_end_date):
            return []
        amount = getattr(self, '_compute_penalty_%s' % plan.loyalty_penalty)(
            last_day)
        if not amount:
            return []
        line = next(iter(self.get_active_lines(last_day)), self.lines[0])
        months = remaining_months(last_day + ONE_DAY, self.loyalty_end_date)
        description = gettext('subscription_core.msg_penalty_line',
            months=months, loyalty=plan.loyalty_months,
            benefit=plan.loyalty_benefit, source=PENALTY_LEGAL_SOURCE)
        return [ChargeItem(
                line, 'penalty', last_day + ONE_DAY, self.loyalty_end_date,
                Decimal(1), amount, 1, amount, plan.penalty_product,
                description)]

    def _compute_penalty_benefit(self, last_day):
        plan = self.plan
        months = remaining_months(last_day + ONE_DAY, self.loyalty_end_date)
        return loyalty_penalty(
            plan.loyalty_benefit or Decimal(0), months,
            plan.loyalty_months or 0, self.currency.rounding)

    def _get_final_arrears_charges(self, last_day):
        "Return the items of the periods billed in arrears up to last_day"
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        if self.get_billing_mode() != 'arrears':
            return []
        billed = Charge.billed_keys([self])
        start = self.billed_until or (
            self.financial_base_date or self.start_date)
        first = not self.billed_until
        items = []
        end_date, self.end_date = self.end_date, last_day
        try:
            for period_start, period_end, ratio in self.get_periods(
                    start, last_day + ONE_DAY):
                for (line, kind, amount, quantity, unit_price, product,
                        description) in self._get_period_charges(
                            period_start, period_end, ratio, first):
                    if (line.id, kind, period_start) not in billed:
                        items.append(ChargeItem(
                                line, kind, period_start, period_end,
                                ratio, amount, quantity, unit_price,
                                product, description))
                first = False
                self.billed_until = period_end
        finally:
            self.end_date = end_date
        return items


class LifecycleStart(ModelView):
    "Contract Lifecycle"
    __name__ = 'sale.subscription.lifecycle.start'
    date = fields.Date(
        "Date", required=True,
        help="Apply the scheduled changes, trial ends and expirations due "
        "on this date.")

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


class LifecycleResult(ModelView):
    "Contract Lifecycle Result"
    __name__ = 'sale.subscription.lifecycle.result'
    changes = fields.Integer("Changes Applied", readonly=True)
    trials = fields.Integer("Trials Closed", readonly=True)
    renewed = fields.Integer("Contracts Renewed", readonly=True)
    closed = fields.Integer("Contracts Closed", readonly=True)


class Lifecycle(Wizard):
    "Contract Lifecycle"
    __name__ = 'sale.subscription.lifecycle'
    start = StateView(
        'sale.subscription.lifecycle.start',
        'subscription_core.lifecycle_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Run", 'run', 'tryton-ok', default=True),
            ])
    run = StateTransition()
    result = StateView(
        'sale.subscription.lifecycle.result',
        'subscription_core.lifecycle_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_run(self):
        pool = Pool()
        Contract = pool.get('sale.subscription')
        self._result = Contract.process_lifecycle(self.start.date)
        return 'result'

    def default_result(self, fields):
        return getattr(self, '_result', None) or {}


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('sale.subscription|process_lifecycle',
                "Process Contract Lifecycle"))
