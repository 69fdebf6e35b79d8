# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Arithmetic of contract changes and early termination (no ORM).

Amounts are Decimal; every result is rounded once, with the commercial
rounding of pricing.round_amount."""
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from .pricing import PricingError, prorate, round_amount

ZERO = Decimal(0)

# The early-termination penalty of a loyalty term (fidelidade): it is
# proportional to the benefit granted and to the time left, and there is
# none when the provider caused the termination.
# Source: Anatel RGC 632/2014 arts. 57-58 (kept by RGC 765/2023 art. 37
# §2º II) for telecom; CDC (Lei 8.078/1990) art. 51 IV and §1º III
# (no disproportionate penalty) for any consumer contract.
# See research/domain-rules.md C.8.
PENALTY_LEGAL_SOURCE = (
    "Anatel RGC 765/2023 art. 37 §2º II; RGC 632/2014 arts. 57-58; "
    "CDC art. 51 IV")


def change_proration(
        old_amount, new_amount, days_left, days_in_period, rounding):
    """Return (credit, charge) of a change with days_left in the period.

    old_amount and new_amount are what a full period costs before and
    after the change (rounded amounts). The credit is the unused part of
    the old amount, the charge the new part; both are non-negative, each
    rounded once, and their difference never exceeds the difference of
    the full amounts."""
    for name, value in [('old_amount', old_amount),
            ('new_amount', new_amount)]:
        if not isinstance(value, Decimal):
            raise PricingError(f"{name} must be a Decimal, got {value!r}")
        if value < 0:
            raise PricingError(f"{name} must not be negative, got {value}")
    credit = round_amount(
        prorate(old_amount, days_left, days_in_period), rounding)
    charge = round_amount(
        prorate(new_amount, days_left, days_in_period), rounding)
    return credit, charge


def remaining_months(date, end_date):
    """Return the whole months from date to end_date (0 once past).

    A month begun is not counted: the reading most favourable to the
    consumer (CDC art. 47)."""
    if end_date is None or date >= end_date:
        return 0
    delta = relativedelta(end_date, date)
    return delta.years * 12 + delta.months


def loyalty_penalty(benefit, months_left, loyalty_months, rounding):
    """Return benefit × months_left / loyalty_months, rounded.

    months_left is capped at loyalty_months, so the penalty never exceeds
    the benefit granted."""
    if not isinstance(benefit, Decimal):
        raise PricingError(f"benefit must be a Decimal, got {benefit!r}")
    if benefit < 0:
        raise PricingError(f"benefit must not be negative, got {benefit}")
    if not loyalty_months or loyalty_months < 0:
        return ZERO
    months_left = max(0, min(months_left, loyalty_months))
    return round_amount(
        prorate(benefit, months_left, loyalty_months), rounding)
