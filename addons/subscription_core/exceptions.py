# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class PartyPolicyError(ValidationError):
    pass


class ContractError(UserError):
    pass


class PlanValidationError(ValidationError):
    pass


class BillingError(UserError):
    pass


class ContractChangeError(UserError):
    pass
