# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class PolicyError(ValidationError):
    pass


class AccessError(UserError):
    pass


class AccessBlockError(AccessError):
    pass


class ReleaseError(AccessError):
    pass


class BackendError(ValidationError):
    pass


class BackendUnavailable(Exception):
    "A provisioning backend could not take a change now: retry later."
