# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta

from . import documents
from .exceptions import PartyPolicyError

# Tryton's identifier types for Brazilian taxpayers (validated by stdnum):
# CPF, and CNPJ, which the host names br_vat (its alias for br_cnpj).
BR_TAX_TYPES = ('br_cpf', 'br_vat')


class Configuration(metaclass=PoolMeta):
    __name__ = 'party.configuration'

    require_tax_identifier = fields.Boolean(
        "Require CPF/CNPJ",
        help="Every party must have a CPF or a CNPJ.")
    unique_tax_identifier = fields.Boolean(
        "Unique CPF/CNPJ",
        help="No two parties may share a CPF or CNPJ.")
    require_mobile = fields.Boolean(
        "Require Mobile", help="Every party must have a mobile phone.")
    require_email = fields.Boolean(
        "Require E-mail", help="Every party must have an e-mail.")


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def validate(cls, parties):
        super().validate(parties)
        cls.check_registration_policy(parties)

    @classmethod
    def check_registration_policy(cls, parties, identifiers=True):
        """Enforce the registration policy of the party configuration.

        identifiers=False checks only the contact mechanisms: they are
        validated while a new party's other lists may not exist yet."""
        pool = Pool()
        Configuration = pool.get('party.configuration')
        config = Configuration(1)
        for party in parties:
            if not party.active:
                continue
            if identifiers and config.require_tax_identifier and not any(
                    i.type in BR_TAX_TYPES for i in party.identifiers):
                raise PartyPolicyError(gettext(
                        'subscription_core.msg_party_tax_identifier_required',
                        party=party.rec_name))
            kinds = {m.type for m in party.contact_mechanisms if m.active}
            if config.require_mobile and 'mobile' not in kinds:
                raise PartyPolicyError(gettext(
                        'subscription_core.msg_party_mobile_required',
                        party=party.rec_name))
            if config.require_email and 'email' not in kinds:
                raise PartyPolicyError(gettext(
                        'subscription_core.msg_party_email_required',
                        party=party.rec_name))


class Identifier(metaclass=PoolMeta):
    __name__ = 'party.identifier'

    @classmethod
    def validate(cls, identifiers):
        super().validate(identifiers)
        cls.check_tax_identifier(identifiers)
        cls.check_unique_tax_identifier(identifiers)

    @classmethod
    def check_tax_identifier(cls, identifiers):
        "Refuse CPF/CNPJ that pass the checksum but are never issued"
        for identifier in identifiers:
            if identifier.type not in BR_TAX_TYPES:
                continue
            try:
                documents.check(identifier.code)
            except documents.DocumentError as exception:
                raise PartyPolicyError(gettext(
                        'subscription_core.msg_party_tax_identifier_invalid',
                        code=identifier.code,
                        party=identifier.party.rec_name,
                        reason=str(exception))) from exception

    @classmethod
    def check_unique_tax_identifier(cls, identifiers):
        pool = Pool()
        Configuration = pool.get('party.configuration')
        if not Configuration(1).unique_tax_identifier:
            return
        tax_identifiers = [i for i in identifiers if i.type in BR_TAX_TYPES]
        if not tax_identifiers:
            return
        others = cls.search([
                ('type', 'in', BR_TAX_TYPES),
                ('code', 'in', [i.code for i in tax_identifiers]),
                ('party.active', '=', True),
                ])
        owners = {}
        for other in others:
            owners.setdefault(other.code, set()).add(other.party)
        for identifier in tax_identifiers:
            parties = owners.get(identifier.code, set())
            if len(parties) > 1:
                other = next(p for p in parties if p != identifier.party)
                raise PartyPolicyError(gettext(
                        'subscription_core.msg_party_tax_identifier_unique',
                        code=identifier.code,
                        party=identifier.party.rec_name,
                        other=other.rec_name))


class ContactMechanism(metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @classmethod
    def on_delete(cls, mechanisms):
        callback = super().on_delete(mechanisms)
        parties = list({m.party for m in mechanisms})

        def check():
            Party = Pool().get('party.party')
            Party.check_registration_policy(
                Party.browse([p.id for p in parties]), identifiers=False)
        return callback + [check]

    @classmethod
    def validate(cls, mechanisms):
        super().validate(mechanisms)
        pool = Pool()
        Party = pool.get('party.party')
        Party.check_registration_policy(
            list({m.party for m in mechanisms}), identifiers=False)
