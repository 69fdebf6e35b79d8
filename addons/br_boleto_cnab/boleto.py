# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Boleto de cobrança: 44-digit barcode and 47-digit typed line.

FEBRABAN layout (see research domain-rules C.1): bank(3) currency(1)
general DV(1) due-date factor(4) value(10) free field(25).
Pure functions: no database, no clock (callers pass `reference`).
"""
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

__all__ = [
    'BoletoError', 'Boleto', 'mod10', 'mod11_sum', 'mod11', 'digits',
    'due_factor', 'due_date_from_factor', 'amount_field', 'amount_from_field',
    'general_dv', 'barcode', 'typed_line', 'barcode_from_typed_line',
    'format_typed_line', 'assemble', 'parse',
    ]

CURRENCY_REAL = '9'
FACTOR_BASE = dt.date(1997, 10, 7)
# FEBRABAN: factor 1000 restarts every 9000 days (2025-02-22, 2049-10-14...)
FACTOR_MIN, FACTOR_MAX, FACTOR_CYCLE = 1000, 9999, 9000
# FEBRABAN decode window around the reference date
WINDOW_PAST, WINDOW_FUTURE = 3000, 5500
MAX_CENTS = 10 ** 10 - 1


class BoletoError(ValueError):
    "Invalid boleto input or code; the message names the field and why"


def _only_digits(value, name):
    value = '' if value is None else str(value)
    if not value.isdigit() or not value.isascii():
        raise BoletoError('%s: %r must contain only digits' % (name, value))
    return value


def digits(value, size, name):
    """Return value zero-padded to size digits.

    Raises BoletoError when it is not numeric or does not fit: a number
    is never cut silently."""
    value = _only_digits(str(value).strip() if value is not None else '',
        name)
    if len(value) > size:
        value_ = value.lstrip('0')
        if len(value_) > size:
            raise BoletoError('%s: %r has %d digits, at most %d fit'
                % (name, value, len(value_), size))
        value = value_
    return value.rjust(size, '0')


def mod10(number):
    "FEBRABAN modulo 10: weights 2,1,2,1... from the right"
    total = 0
    for i, char in enumerate(reversed(number)):
        product = int(char) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def mod11_sum(number, base=9, weights=None):
    """Weighted sum of number for modulo 11.

    Default weights are 2..base cycling from the right; explicit weights
    are applied from the left (cycling), as Sicoob does."""
    if weights is not None:
        return sum(int(c) * weights[i % len(weights)]
            for i, c in enumerate(number))
    span = base - 1
    return sum(int(c) * (2 + i % span)
        for i, c in enumerate(reversed(number)))


def mod11(number, base=9, mapping=None):
    """Return 11 - (sum mod 11), with mapping for the out of range results.

    mapping defaults to {10: 0, 11: 0}, the most common bank rule."""
    if mapping is None:
        mapping = {10: 0, 11: 0}
    result = 11 - mod11_sum(number, base) % 11
    return mapping.get(result, result)


def due_factor(due_date):
    "Return the 4-digit due-date factor, with the 2025-02-22 rollover"
    if due_date is None:
        return '0000'
    if not isinstance(due_date, dt.date):
        raise BoletoError('vencimento: %r is not a date' % (due_date,))
    days = (due_date - FACTOR_BASE).days
    if days < FACTOR_MIN:
        raise BoletoError('vencimento: %s is before 2000-07-03, the first '
            'date a factor can express' % due_date)
    while days > FACTOR_MAX:
        days -= FACTOR_CYCLE
    return '%04d' % days


def due_date_from_factor(factor, reference):
    """Return the due date of factor, or None for factor 0000.

    Factor values repeat every 9000 days, so the date is the one inside
    the FEBRABAN window: 3000 days before to 5500 days after reference."""
    factor = _only_digits(factor, 'fator de vencimento')
    if len(factor) != 4:
        raise BoletoError('fator de vencimento: %r must have 4 digits'
            % factor)
    value = int(factor)
    if value == 0:
        return None
    if value < FACTOR_MIN:
        raise BoletoError('fator de vencimento: %s is below 1000' % factor)
    if not isinstance(reference, dt.date):
        raise BoletoError('reference: %r is not a date' % (reference,))
    low = reference - dt.timedelta(days=WINDOW_PAST)
    high = reference + dt.timedelta(days=WINDOW_FUTURE)
    days = value
    while True:
        try:
            date = FACTOR_BASE + dt.timedelta(days=days)
        except OverflowError:
            break
        if date > high:
            break
        if date >= low:
            return date
        days += FACTOR_CYCLE
    raise BoletoError('fator de vencimento: %s gives no date within '
        '%d days before and %d after %s' % (
            factor, WINDOW_PAST, WINDOW_FUTURE, reference))


def amount_field(amount):
    "Return the 10-digit value field (centavos) of a Decimal amount"
    if isinstance(amount, float):
        raise BoletoError('valor: %r is a float, use Decimal' % amount)
    try:
        amount = Decimal(str(amount)) if amount is not None else None
    except InvalidOperation:
        raise BoletoError('valor: %r is not a number' % (amount,))
    if amount is None or not amount.is_finite():
        raise BoletoError('valor: %r is not a number' % (amount,))
    if amount < 0:
        raise BoletoError('valor: %s is negative' % amount)
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise BoletoError('valor: %s has more than 2 decimal places' % amount)
    if cents > MAX_CENTS:
        raise BoletoError('valor: %s does not fit in 10 digits of centavos'
            % amount)
    return '%010d' % int(cents)


def amount_from_field(value):
    value = _only_digits(value, 'valor')
    return (Decimal(int(value)) / 100).quantize(Decimal('0.01'))


def general_dv(code43):
    "DV geral (position 5): modulo 11, weights 2..9, 0/10/11 -> 1"
    result = 11 - mod11_sum(code43) % 11
    return 1 if result in (0, 10, 11) else result


def barcode(bank, factor, value, free_field):
    "Return the 44-digit barcode"
    bank = digits(bank, 3, 'banco')
    if len(free_field) != 25 or not free_field.isdigit():
        raise BoletoError('campo livre: %r must have 25 digits' % free_field)
    if len(factor) != 4 or not factor.isdigit():
        raise BoletoError('fator de vencimento: %r must have 4 digits'
            % factor)
    if len(value) != 10 or not value.isdigit():
        raise BoletoError('valor: %r must have 10 digits' % value)
    code = bank + CURRENCY_REAL + factor + value + free_field
    dv = general_dv(code)
    return code[:4] + str(dv) + code[4:]


def _check_barcode(code):
    code = _only_digits(code, 'código de barras')
    if len(code) != 44:
        raise BoletoError('código de barras: has %d digits, 44 expected'
            % len(code))
    dv = general_dv(code[:4] + code[5:])
    if int(code[4]) != dv:
        raise BoletoError('código de barras: DV geral is %s, expected %d'
            % (code[4], dv))
    return code


def typed_line(code):
    "Return the 47-digit typed line (linha digitável) of a barcode"
    code = _check_barcode(code)
    fields = [code[0:4] + code[19:24], code[24:34], code[34:44]]
    line = ''.join(f + str(mod10(f)) for f in fields)
    return line + code[4] + code[5:19]


def barcode_from_typed_line(line):
    "Return the barcode of a typed line, checking every DV"
    line = re.sub(r'[\s.]', '', str(line or ''))
    line = _only_digits(line, 'linha digitável')
    if len(line) != 47:
        raise BoletoError('linha digitável: has %d digits, 47 expected'
            % len(line))
    for number, (start, end) in enumerate(((0, 9), (10, 20), (21, 31)), 1):
        part, dv = line[start:end], int(line[end])
        if mod10(part) != dv:
            raise BoletoError('linha digitável: field %d DV is %d, '
                'expected %d' % (number, dv, mod10(part)))
    code = (line[0:4] + line[32] + line[33:47] + line[4:9] + line[10:20]
        + line[21:31])
    return _check_barcode(code)


def format_typed_line(line):
    "Format as AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D EEEEEEEEEEEEEE"
    line = re.sub(r'[\s.]', '', line)
    if len(line) != 47 or not line.isdigit():
        raise BoletoError('linha digitável: %r must have 47 digits' % line)
    return '%s.%s %s.%s %s.%s %s %s' % (line[0:5], line[5:10], line[10:15],
        line[15:21], line[21:26], line[26:32], line[32], line[33:47])


@dataclass
class Boleto:
    "A boleto as encoded, or as decoded from a barcode or typed line"
    bank: str
    barcode: str
    due_date: object  # datetime.date or None (factor 0000)
    amount: Decimal
    free_field: str
    nosso_numero: str = ''
    factor: str = field(default='')

    @property
    def typed_line(self):
        return typed_line(self.barcode)

    @property
    def typed_line_formatted(self):
        return format_typed_line(self.typed_line)

    def as_dict(self):
        return {
            'bank': self.bank,
            'barcode': self.barcode,
            'typed_line': self.typed_line,
            'typed_line_formatted': self.typed_line_formatted,
            'due_date': (self.due_date.isoformat()
                if self.due_date else None),
            'factor': self.factor,
            'amount': str(self.amount),
            'free_field': self.free_field,
            'nosso_numero': self.nosso_numero,
            }


def assemble(bank, due_date, amount, free_field, nosso_numero=''):
    "Build a Boleto from its bank code, due date, Decimal amount, free field"
    factor = due_factor(due_date)
    value = amount_field(amount)
    code = barcode(bank, factor, value, free_field)
    return Boleto(bank=code[:3], barcode=code, due_date=due_date,
        amount=amount_from_field(value), free_field=free_field,
        nosso_numero=nosso_numero, factor=factor)


def parse(code, reference):
    """Decode a barcode (44) or typed line (47, dots and spaces allowed).

    reference is the date the due-date window is centred on."""
    text = re.sub(r'[\s.]', '', str(code or ''))
    if len(text) == 47:
        bar = barcode_from_typed_line(text)
    elif len(text) == 44:
        bar = _check_barcode(text)
    else:
        raise BoletoError('código: %d digits, expected a 44-digit barcode '
            'or a 47-digit linha digitável' % len(text))
    if bar[3] != CURRENCY_REAL:
        raise BoletoError('moeda: %r is not 9 (Real)' % bar[3])
    factor = bar[5:9]
    return Boleto(bank=bar[:3], barcode=bar,
        due_date=due_date_from_factor(factor, reference),
        amount=amount_from_field(bar[9:19]), free_field=bar[19:44],
        factor=factor)
