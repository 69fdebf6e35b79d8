# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
from decimal import Decimal

from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.subscription_core.exceptions import PartyPolicyError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class SubscriptionCoreTestCase(CompanyTestMixin, ModuleTestCase):
    "Test subscription_core module"
    module = 'subscription_core'

    def set_policy(self, **values):
        pool = Pool()
        Configuration = pool.get('party.configuration')
        config = Configuration(1)
        for name, value in values.items():
            setattr(config, name, value)
        config.save()

    @with_transaction()
    def test_policy_requires_tax_identifier(self):
        "A party without CPF/CNPJ is refused when the policy asks for it"
        pool = Pool()
        Party = pool.get('party.party')
        Party.create([{'name': "Before the policy"}])
        self.set_policy(require_tax_identifier=True)
        with self.assertRaisesRegex(PartyPolicyError, 'CPF or CNPJ'):
            Party.create([{'name': "No document"}])
        # Contact mechanisms may be created before the identifiers.
        party, = Party.create([{
                    'name': "With CPF",
                    'contact_mechanisms': [('create', [{
                                    'type': 'email',
                                    'value': 'a@example.com'}])],
                    'identifiers': [('create', [{
                                    'type': 'br_cpf',
                                    'code': '390.533.447-05'}])],
                    }])
        self.assertEqual(party.identifiers[0].code, '390.533.447-05')

    @with_transaction()
    def test_policy_unique_tax_identifier(self):
        "Two parties cannot share a CPF when the policy asks for it"
        pool = Pool()
        Party = pool.get('party.party')
        self.set_policy(unique_tax_identifier=True)
        Party.create([{
                    'name': "First",
                    'identifiers': [('create', [{
                                    'type': 'br_vat',
                                    'code': '11.222.333/0001-81'}])],
                    }])
        with self.assertRaisesRegex(PartyPolicyError, 'already registered'):
            Party.create([{
                        'name': "Second",
                        'identifiers': [('create', [{
                                        'type': 'br_vat',
                                        'code': '11222333000181'}])],
                        }])

    @with_transaction()
    def test_tax_identifier_not_issued(self):
        "A CPF with repeated digits passes the checksum but is refused"
        pool = Pool()
        Party = pool.get('party.party')
        with self.assertRaisesRegex(PartyPolicyError, 'not valid'):
            Party.create([{
                        'name': "Fake",
                        'identifiers': [('create', [{
                                        'type': 'br_cpf',
                                        'code': '111.111.111-11'}])],
                        }])

    @with_transaction()
    def test_policy_contact_mechanisms(self):
        "Mobile and e-mail are required when the policy asks for them"
        pool = Pool()
        Party = pool.get('party.party')
        ContactMechanism = pool.get('party.contact_mechanism')
        self.set_policy(require_mobile=True, require_email=True)
        with self.assertRaisesRegex(PartyPolicyError, 'mobile'):
            Party.create([{
                        'name': "No mobile",
                        'contact_mechanisms': [('create', [{
                                        'type': 'email',
                                        'value': 'a@example.com'}])],
                        }])
        with self.assertRaisesRegex(PartyPolicyError, 'e-mail'):
            Party.create([{
                        'name': "No e-mail",
                        'contact_mechanisms': [('create', [{
                                        'type': 'mobile',
                                        'value': '+5511999990000'}])],
                        }])
        party, = Party.create([{
                    'name': "Complete",
                    'contact_mechanisms': [('create', [{
                                    'type': 'mobile',
                                    'value': '+5511999990000',
                                    }, {
                                    'type': 'email',
                                    'value': 'a@example.com'}])],
                    }])
        email = [m for m in party.contact_mechanisms if m.type == 'email']
        with self.assertRaisesRegex(PartyPolicyError, 'e-mail'):
            ContactMechanism.delete(email)

    @with_transaction()
    def test_due_day_range(self):
        "Due days must exist in every month"
        pool = Pool()
        DueDay = pool.get('sale.subscription.due_day')
        self.assertEqual(
            [d.day for d in DueDay.search([])], [5, 10, 15, 20, 25])
        with self.assertRaises(Exception):
            DueDay.create([{'day': 31}])

    @with_transaction()
    def test_periods_pro_rata_and_cycles(self):
        "The first period is pro-rata to the billing day, then full cycles"
        pool = Pool()
        Contract = pool.get('sale.subscription')
        RuleSet = pool.get('sale.subscription.recurrence.rule.set')
        monthly, = RuleSet.create([{
                    'name': 'Monthly',
                    'rules': [('create', [{
                                    'freq': 'monthly', 'interval': 1}])],
                    }])
        Plan = pool.get('sale.subscription.plan')
        plan = Plan(billing_mode='advance', recurrence=monthly)
        contract = Contract(
            start_date=datetime.date(2026, 1, 20),
            financial_base_date=datetime.date(2026, 1, 20),
            billing_day=10, invoice_recurrence=monthly, plan=plan,
            end_date=None)
        periods = list(contract.get_periods(
                contract.financial_base_date, datetime.date(2026, 3, 10)))
        self.assertEqual(periods, [
                (datetime.date(2026, 1, 20), datetime.date(2026, 2, 10),
                    Decimal(21) / Decimal(28)),
                (datetime.date(2026, 2, 10), datetime.date(2026, 3, 10),
                    Decimal(1)),
                (datetime.date(2026, 3, 10), datetime.date(2026, 4, 10),
                    Decimal(1)),
                ])
        # In arrears, a period is due when it ends.
        plan.billing_mode = 'arrears'
        periods = list(contract.get_periods(
                contract.financial_base_date, datetime.date(2026, 3, 10)))
        self.assertEqual(
            [p[1] for p in periods],
            [datetime.date(2026, 2, 10), datetime.date(2026, 3, 10)])
        # The contract's end clips the last period.
        plan.billing_mode = 'advance'
        contract.end_date = datetime.date(2026, 2, 24)
        periods = list(contract.get_periods(
                contract.financial_base_date, datetime.date(2026, 3, 10)))
        self.assertEqual(periods[-1], (
                datetime.date(2026, 2, 10), datetime.date(2026, 2, 25),
                Decimal(15) / Decimal(28)))


del ModuleTestCase
