# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What a liquidation leaves on its title: paid less (a remainder the
invoice still owes, collected by a new title) or paid more (late charges
the bank did not itemise, then the customer's credit).

Occurrence._apply_liquidation_orm (occurrence.py) fills these fields."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta

__all__ = ['split_excess']

ZERO = Decimal('0.00')


def split_excess(excess, fine_owed, interest_owed):
    """Return (fine, interest, credit) of an amount paid above the title.

    The late fee is received first, then the interest, each up to what
    the title owed on the payment date; the rest is the customer's
    credit. All Decimal, none negative, summing to excess."""
    excess, fine_owed, interest_owed = (Decimal(excess), Decimal(fine_owed),
        Decimal(interest_owed))
    if excess < 0 or fine_owed < 0 or interest_owed < 0:
        raise ValueError('amounts must not be negative')
    fine = min(excess, fine_owed)
    interest = min(excess - fine, interest_owed)
    return fine, interest, excess - fine - interest


class Occurrence(metaclass=PoolMeta):
    __name__ = 'account.payment.boleto.occurrence'

    overpaid = Monetary("Overpaid", currency='currency', digits='currency',
        readonly=True,
        help="Paid above what the title owed, fine and interest included: "
        "left as the customer's credit on the receivable account.")
    remainder = Monetary("Remainder", currency='currency',
        digits='currency', readonly=True,
        help="What the title still owed after a partial payment: the "
        "invoice stays open for it.")
    balance_note = fields.Function(fields.Char("Balance"),
        'get_balance_note')

    def get_balance_note(self, name):
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        currency = self.currency
        if self.overpaid:
            return gettext('br_boleto_cnab.msg_occurrence_overpaid',
                amount=lang.currency(self.overpaid, currency))
        if self.remainder:
            return gettext('br_boleto_cnab.msg_occurrence_remainder',
                amount=lang.currency(self.remainder, currency))

    def _get_liquidation_open_lines(self):
        """The receivable lines the liquidation settles: the title's line
        and the credits of earlier partial liquidations of it; none when
        the line is already paid (the title is paid again)."""
        pool = Pool()
        Line = pool.get('account.move.line')
        payment = self.payment
        line = payment.line
        if (not line or line.reconciliation
                or payment.state == 'succeeded'):
            return []
        others = [str(p) for p in line.payments
            if p != payment and p.state == 'succeeded']
        earlier = Line.search([
                ('move.origin', 'in', others),
                ('move.state', '=', 'posted'),
                ('account', '=', line.account.id),
                ('party', '=', line.party.id if line.party else None),
                ('reconciliation', '=', None),
                ], order=[('id', 'ASC')]) if others else []
        return [line] + list(earlier)

    def _get_late_charges_owed(self):
        """(fine, interest) the title owed on the payment date: as the
        journal's rates give them, or as the second copy printed them
        when more (the customer paid the printed amount)."""
        payment = self.payment
        fine, interest = payment.get_boleto_late_charges(self.date)
        return (max(fine, payment.boleto_fine or ZERO),
            max(interest, payment.boleto_interest or ZERO))

    def _allocate_liquidation(self, due):
        """Set overpaid or remainder (and the late charges received when
        the bank did not itemise them) against due, the amount the open
        lines still owe. Return the amount credited to the title."""
        interest, fine = self.interest or ZERO, self.fine or ZERO
        settled = ((self.amount_paid or ZERO) + (self.discount or ZERO)
            + (self.abatement or ZERO) - interest - fine)
        self.overpaid = self.remainder = None
        if settled > due:
            excess = settled - due
            if due > 0 and not interest and not fine:
                fine, interest, excess = split_excess(excess,
                    *self._get_late_charges_owed())
                self.fine, self.interest = fine, interest
            self.overpaid = excess or None
            settled = due + excess
        elif 0 < settled < due:
            self.remainder = due - settled
        return settled
