# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The contract change wizard: choose a change, preview its invoice lines
and MRR, confirm (change.py applies it)."""
from decimal import Decimal

from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .change import CHANGE_KINDS, ONE_DAY, TIMINGS


class ChangeStart(ModelView):
    "Change Contract"
    __name__ = 'sale.subscription.change_contract.start'

    contract = fields.Many2One(
        'sale.subscription', "Contract", required=True, readonly=True)
    plan_current = fields.Many2One(
        'sale.subscription.plan', "Current Plan", readonly=True)
    kind = fields.Selection(CHANGE_KINDS, "Change", required=True)
    plan = fields.Many2One(
        'sale.subscription.plan', "New Plan",
        domain=[('id', '!=', Eval('plan_current', -1))],
        states={
            'invisible': Eval('kind') != 'plan',
            'required': Eval('kind') == 'plan',
            })
    line = fields.Many2One(
        'sale.subscription.line', "Line",
        domain=[
            ('subscription', '=', Eval('contract', -1)),
            ('end_date', '=', None),
            ],
        states={
            'invisible': ~Eval('kind').in_(['remove_addon', 'quantity']),
            'required': Eval('kind').in_(['remove_addon', 'quantity']),
            })
    service = fields.Many2One(
        'sale.subscription.service', "Add-on",
        states={
            'invisible': Eval('kind') != 'add_addon',
            'required': Eval('kind') == 'add_addon',
            })
    quantity = fields.Float(
        "Quantity",
        states={
            'invisible': ~Eval('kind').in_(['add_addon', 'quantity']),
            'required': Eval('kind').in_(['add_addon', 'quantity']),
            })
    reason = fields.Many2One(
        'sale.subscription.reason', "Reason",
        domain=[('type', '=', 'cancellation')],
        states={
            'invisible': Eval('kind') != 'cancellation',
            'required': Eval('kind') == 'cancellation',
            })
    timing = fields.Selection(
        TIMINGS, "Timing",
        states={
            'invisible': Eval('kind') != 'cancellation',
            'required': Eval('kind') == 'cancellation',
            },
        help="Other changes follow the plan's rule.")
    date = fields.Date(
        "Date", required=True,
        help="When the change takes effect if immediate; for a "
        "cancellation, the last day of service.")

    @classmethod
    def default_timing(cls):
        return 'immediate'


class ChangePreviewLine(ModelView):
    "Change Contract Preview Line"
    __name__ = 'sale.subscription.change_contract.preview.line'

    description = fields.Char("Description", readonly=True)
    kind = fields.Selection('get_kinds', "Kind", readonly=True)
    period_start = fields.Date("From", readonly=True)
    period_end = fields.Date("Until", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)

    @classmethod
    def get_kinds(cls):
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        return Charge.kind.selection


class ChangePreview(ModelView):
    "Change Contract Preview"
    __name__ = 'sale.subscription.change_contract.preview'

    timing = fields.Selection(TIMINGS, "Timing", readonly=True)
    date = fields.Date("Effective Date", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    mrr_before = Monetary(
        "MRR Before", currency='currency', digits='currency', readonly=True)
    mrr_after = Monetary(
        "MRR After", currency='currency', digits='currency', readonly=True)
    lines = fields.One2Many(
        'sale.subscription.change_contract.preview.line', None,
        "Invoice Lines", readonly=True,
        help="What confirming invoices now (nothing when scheduled).")
    total = Monetary(
        "Total", currency='currency', digits='currency', readonly=True)


class ChangeContract(Wizard):
    "Change Contract"
    __name__ = 'sale.subscription.change_contract'
    start = StateView(
        'sale.subscription.change_contract.start',
        'subscription_core.change_contract_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Preview", 'preview', 'tryton-forward', default=True),
            ])
    preview = StateView(
        'sale.subscription.change_contract.preview',
        'subscription_core.change_contract_preview_view_form', [
            Button("Back", 'start', 'tryton-back'),
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Confirm", 'confirm', 'tryton-ok', default=True),
            ])
    confirm = StateTransition()

    def default_start(self, fields):
        pool = Pool()
        Date = pool.get('ir.date')
        values = {
            'contract': self.record.id,
            'plan_current': self.record.plan.id if self.record.plan else None,
            'date': Date.today(),
            }
        for name in ['kind', 'plan', 'line', 'service', 'quantity',
                'reason', 'timing', 'date']:
            value = getattr(self.start, name, None)
            if value is not None:
                values[name] = getattr(value, 'id', value)
        return values

    def get_change(self):
        "Return the change asked, not saved, with its timing and date"
        pool = Pool()
        Change = pool.get('sale.subscription.change')
        start = self.start
        contract = self.record
        change = Change(
            contract=contract, kind=start.kind, date=start.date,
            currency=contract.currency, state='scheduled',
            user=Transaction().user,
            plan=start.plan if start.kind == 'plan' else None,
            service=start.service if start.kind == 'add_addon' else None,
            quantity=start.quantity,
            reason=start.reason if start.kind == 'cancellation' else None)
        if start.kind == 'plan':
            change.line = next((l for l in contract.get_active_lines(
                            start.date)
                    if contract.plan and l.service == contract.plan.service),
                None)
        elif start.kind in {'remove_addon', 'quantity'}:
            change.line = start.line
        else:
            change.line = None
        change.timing = 'immediate'
        change.check()
        if start.kind == 'cancellation':
            change.timing = start.timing
        else:
            before, after = change.get_mrr()
            change.timing = getattr(
                self, '_timing_%s' % contract.plan.change_timing)(
                after - before)
        if change.timing == 'period_end':
            end = contract.get_period_end(start.date)
            change.date = (end - ONE_DAY
                if start.kind == 'cancellation' else end)
        return change

    def _timing_immediate(self, delta):
        return 'immediate'

    def _timing_period_end(self, delta):
        return 'period_end'

    def _timing_upgrade_immediate(self, delta):
        return 'immediate' if delta >= 0 else 'period_end'

    def default_preview(self, fields):
        change = self.get_change()
        if change.kind == 'cancellation':
            before = change.contract.compute_mrr(date=change.date)
            after = Decimal(0)
        else:
            before, after = change.get_mrr()
        items = change.get_charges() if change.timing == 'immediate' else []
        currency = change.contract.currency
        return {
            'timing': change.timing,
            'date': change.date,
            'currency': currency.id,
            'mrr_before': before,
            'mrr_after': after,
            'lines': [{
                    'description': i.description,
                    'kind': i.kind,
                    'period_start': i.period_start,
                    'period_end': i.period_end - ONE_DAY,
                    'currency': currency.id,
                    'amount': i.amount,
                    } for i in items],
            'total': sum((i.amount for i in items), Decimal(0)),
            }

    def transition_confirm(self):
        pool = Pool()
        Change = pool.get('sale.subscription.change')
        change = self.get_change()
        change.save()
        if change.timing == 'immediate':
            Change.apply([change])
        return 'end'
