# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""CPF and CNPJ checks (plain Python, no ORM).

Check digits come from python-stdnum (which knows the alphanumeric CNPJ
of IN RFB 2.229/2024, issued from July 2026). On top of it, numbers the
Receita Federal never issues are refused: repeated digits pass the
checksum but are not valid registrations."""
import re

from stdnum.br import cnpj, cpf
from stdnum.exceptions import ValidationError

# Numbers that pass the checksum but are not registrations. Repeated
# digits: Receita Federal does not issue them (the common validators,
# e.g. cpf-cnpj-validator and brutils, refuse them). 12345678909 is the
# placeholder CPF of countless forms and examples (refused by
# cpf-cnpj-validator's blacklist).
BLACKLIST = frozenset(
    [d * 11 for d in '0123456789']
    + [d * 14 for d in '0123456789']
    + ['12345678909'])

_JUNK = re.compile(r'[^0-9A-Za-z]')


class DocumentError(ValueError):
    "A CPF or CNPJ that is not valid; the message says why"


def compact(value):
    """Return value without separators or stray characters, upper case.

    Input is taken as people type or paste it: dots, slashes, dashes,
    spaces, line breaks and other punctuation are dropped."""
    return _JUNK.sub('', value or '').upper()


def check(value):
    """Return (kind, compact, formatted) for a valid CPF or CNPJ.

    kind is 'cpf' or 'cnpj'. Raises DocumentError with the reason."""
    number = compact(value)
    if not number:
        raise DocumentError("empty value")
    if len(number) == 11:
        kind, module = 'cpf', cpf
        if not number.isdigit():
            raise DocumentError("a CPF has only digits: %r" % value)
    elif len(number) == 14:
        kind, module = 'cnpj', cnpj
        if not number[-2:].isdigit():
            raise DocumentError(
                "the CNPJ check digits (last two) must be digits: %r"
                % value)
    else:
        raise DocumentError(
            "%d characters: a CPF has 11 digits, a CNPJ 14 characters"
            % len(number))
    if number in BLACKLIST:
        raise DocumentError(
            "%s %s is not issued by the Receita Federal" % (
                kind.upper(), number))
    try:
        module.validate(number)
    except ValidationError as exception:
        raise DocumentError("%s: %s" % (kind.upper(), exception)) from None
    return kind, number, module.format(number)


def is_valid(value):
    try:
        check(value)
    except DocumentError:
        return False
    return True
