# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Late fee (multa) and interest (juros de mora) of an overdue boleto.

Pure Decimal functions (no ORM, no clock): the caller passes the dates.
"""
from decimal import ROUND_HALF_UP, Decimal

__all__ = ['FINE_CAP_PERCENT', 'DEFAULT_INTEREST_PERCENT', 'DAYS_IN_MONTH',
    'late_charges', 'daily_interest']

# CDC (Lei 8.078/1990) art. 52 §1 (wording of Lei 9.298/1996): "multas de
# mora ... não poderão ser superiores a dois por cento do valor da
# prestação" (domain-rules C.7). Anatel RGC 765 art. 78 repeats it.
FINE_CAP_PERCENT = Decimal('2')
# Customary contract clause and RGC 765 art. 78: 1% a.m. pro rata die
DEFAULT_INTEREST_PERCENT = Decimal('1')
# Pro rata die over the commercial month (30 days), as banks compute
# "juros de mora ao dia" = monthly rate / 30 on the boleto.
DAYS_IN_MONTH = 30
CENT = Decimal('0.01')


def _round(value):
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def daily_interest(amount, interest_percent=DEFAULT_INTEREST_PERCENT):
    "Interest per day of delay (rounded to the cent, as printed on boletos)"
    return _round(Decimal(amount) * Decimal(interest_percent)
        / 100 / DAYS_IN_MONTH)


def late_charges(amount, due_date, date, fine_percent,
        interest_percent=DEFAULT_INTEREST_PERCENT):
    """Return (fine, interest, days) owed on amount paid on date.

    The fine is charged once any day late, capped at FINE_CAP_PERCENT
    whatever fine_percent says; interest is simple, pro rata die, on the
    original amount. Nothing is owed on or before the due date."""
    amount = Decimal(amount)
    if amount < 0:
        raise ValueError('amount %s is negative' % amount)
    if Decimal(fine_percent) < 0 or Decimal(interest_percent) < 0:
        raise ValueError('percentages must not be negative')
    days = (date - due_date).days
    if days <= 0:
        return Decimal('0.00'), Decimal('0.00'), 0
    fine_percent = min(Decimal(fine_percent), FINE_CAP_PERCENT)
    fine = _round(amount * fine_percent / 100)
    interest = _round(amount * Decimal(interest_percent) * days
        / (100 * DAYS_IN_MONTH))
    return fine, interest, days
