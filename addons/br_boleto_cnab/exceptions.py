# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class BoletoJournalError(ValidationError):
    pass


class BoletoError(UserError):
    pass


class RetornoError(UserError):
    pass


class RemessaError(UserError):
    pass
