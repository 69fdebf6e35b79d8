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


    # Price components and usage --------------------------------------

    def _usage_setup(self, billing_mode='advance'):
        "Return (company, plan, metrics, contract) with a component per kind"
        from trytond.modules.subscription_core.tests.tools import (
            create_billing_setup, create_contracts)
        from trytond.modules.subscription_core.tests.usage_tools import (
            add_component, create_metric)
        pool = Pool()
        Plan = pool.get('sale.subscription.plan')
        start = datetime.date(2026, 3, 10)
        company, plan = create_billing_setup(start)
        Plan.write([plan], {'billing_mode': billing_mode})
        metrics = {code: create_metric(code, name, unit) for code, name, unit
            in [('hours', "Support", 'hours'), ('users', "Users", 'users'),
                ('gb', "Traffic", 'GB'), ('sms', "SMS", 'SMS'),
                ('revenue', "Revenue", 'BRL')]}
        add_component(company, plan, "Fixed IP", kind='flat',
            timing='advance', price=Decimal('30.00'))
        add_component(company, plan, "Support hours", kind='per_unit',
            metric=metrics['hours'], unit_price=Decimal('2.50'),
            allowance=Decimal(10))
        add_component(company, plan, "Users", kind='volume',
            metric=metrics['users'], tiers=[
                (Decimal(10), Decimal('5.00'), Decimal(0)),
                (Decimal(50), Decimal('4.00'), Decimal(0)),
                (None, Decimal('3.00'), Decimal(0))])
        add_component(company, plan, "Traffic", kind='graduated',
            metric=metrics['gb'], tiers=[
                (Decimal(100), Decimal(0), Decimal(0)),
                (Decimal(500), Decimal('0.10'), Decimal(0)),
                (None, Decimal('0.05'), Decimal(0))])
        add_component(company, plan, "SMS", kind='package',
            metric=metrics['sms'], package_size=Decimal(1000),
            package_price=Decimal('15.00'))
        add_component(company, plan, "Revenue share", kind='percentage',
            metric=metrics['revenue'], rate=Decimal('2.5'),
            period_fee=Decimal('10.00'), transaction_fee=Decimal('0.10'),
            maximum=Decimal('200.00'))
        contract, = create_contracts(company, plan, 1, start)
        return company, plan, metrics, contract

    @with_transaction()
    def test_components_copied_to_contract(self):
        "Activating a contract copies each plan component onto a line"
        company, plan, metrics, contract = self._usage_setup()
        components = [l.component for l in contract.lines if l.component]
        self.assertEqual(
            sorted(c.kind for c in components),
            sorted(['flat', 'per_unit', 'volume', 'graduated', 'package',
                    'percentage']))
        self.assertTrue(all(c.origin.plan == plan for c in components))
        self.assertTrue(all(c.plan is None for c in components))
        graduated, = [c for c in components if c.kind == 'graduated']
        self.assertEqual(len(graduated.tiers), 3)

    @with_transaction()
    def test_component_invalid_price_model(self):
        "A component the price model refuses is not saved"
        from trytond.model.exceptions import ValidationError
        company, plan, metrics, contract = self._usage_setup()
        component = plan.components[0]
        component.kind = 'volume'
        component.tiers = []
        with self.assertRaisesRegex(ValidationError, 'at least one tier'):
            component.save()

    def _ingest(self, company, records):
        from trytond.modules.company.tests import set_company
        Usage = Pool().get('sale.subscription.usage')
        with set_company(company):
            return Usage.ingest(records)

    @with_transaction()
    def test_usage_ingest_idempotent(self):
        "The same key is stored once; the counts say so"
        pool = Pool()
        Usage = pool.get('sale.subscription.usage')
        company, plan, metrics, contract = self._usage_setup()
        record = {'contract': contract.id, 'metric': 'gb',
            'quantity': Decimal('1.5'),
            'timestamp': datetime.datetime(2026, 3, 12, 2, 30), 'key': 'k1'}
        self.assertEqual(self._ingest(company, [record, dict(record)]),
            {'inserted': 1, 'duplicates': 1})
        self.assertEqual(self._ingest(company, [dict(record, key='k2'),
                    dict(record)]), {'inserted': 1, 'duplicates': 1})
        usage = Usage.search([('contract', '=', contract.id)])
        self.assertEqual(len(usage), 2)
        self.assertEqual(usage[0].quantity, Decimal('1.5'))
        # The company has no timezone: the day is the UTC day.
        self.assertEqual(usage[0].date, datetime.date(2026, 3, 12))

    @with_transaction()
    def test_usage_ingest_rejects_whole_batch(self):
        "A malformed record rejects the batch with its index; none stored"
        from trytond.modules.subscription_core.usage import UsageError
        pool = Pool()
        Usage = pool.get('sale.subscription.usage')
        company, plan, metrics, contract = self._usage_setup()
        good = {'contract': contract.id, 'metric': 'gb', 'quantity': '2',
            'timestamp': '2026-03-12T10:00:00-03:00', 'key': 'ok'}
        for bad, reason in [
                ({'quantity': 1.5}, 'not a decimal'),
                ({'quantity': '-1'}, 'not a decimal'),
                ({'timestamp': '12/03/2026'}, 'ISO 8601'),
                ({'metric': 'nope'}, 'metric "nope" does not exist'),
                ({'metric': 'xx', 'extra': 1}, 'unknown field'),
                ({'contract': 999999}, 'does not exist'),
                ({'key': ''}, '"key" is missing'),
                ]:
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(
                        UsageError, 'record 1 .*%s' % reason):
                    self._ingest(company, [good, dict(good, **bad)])
        self.assertEqual(Usage.search([]), [])

    @with_transaction()
    def test_usage_csv_error_names_line(self):
        "The CSV wizard names the file's line of a malformed record"
        from trytond.modules.subscription_core.usage import (
            UsageError, UsageImport)
        company, plan, metrics, contract = self._usage_setup()
        data = ('contract;metric;quantity;timestamp;key\n'
            '%(c)s;gb;1,5;2026-03-12T10:00:00;a\n'
            '%(c)s;gb;abc;2026-03-12T10:00:00;b\n' % {'c': contract.id})
        records, lines = UsageImport.read_csv(data.encode(), ';')
        self.assertEqual(records[0]['quantity'], '1.5')
        self.assertEqual(lines, [2, 3])
        Usage = Pool().get('sale.subscription.usage')

        def error(index, reason):
            return UsageError('line %s: %s' % (lines[index], reason))
        from trytond.modules.company.tests import set_company
        with set_company(company), self.assertRaisesRegex(
                UsageError, 'line 3: quantity "abc"'):
            Usage._ingest(records, error)

    @with_transaction()
    def test_price_models_on_invoice(self):
        "Each price model is rated on a real invoice (amounts by hand)"
        pool = Pool()
        Contract = pool.get('sale.subscription')
        Invoice = pool.get('account.invoice')
        Usage = pool.get('sale.subscription.usage')
        Report = pool.get('sale.subscription.usage.statement',
            type='report')
        from trytond.modules.company.tests import set_company
        from trytond.transaction import Transaction
        company, plan, metrics, contract = self._usage_setup()
        march = datetime.datetime(2026, 3, 15, 12)
        records = [
            ('hours', '4'), ('hours', '10.5'),
            ('users', '12'),
            ('gb', '250'), ('gb', '400.5'),
            ('sms', '2500'),
            ('revenue', '1000'), ('revenue', '2000.40'), ('revenue', '1500'),
            ]
        self._ingest(company, [{
                    'contract': contract.number, 'metric': m,
                    'quantity': q, 'timestamp': march, 'key': 'r%s' % i}
                for i, (m, q) in enumerate(records)])
        # bill() in this transaction, in the billing run's context.
        def billing():
            return Transaction().set_context(
                subscription_billing=True, _skip_warnings=True)
        with set_company(company), billing():
            # Billed in advance: March, then April with March's usage.
            Contract.bill(Contract.browse([contract.id]),
                datetime.date(2026, 3, 10))
            Contract.bill(Contract.browse([contract.id]),
                datetime.date(2026, 4, 10))
        first, second = Invoice.search([], order=[('id', 'ASC')])
        self.assertEqual(sorted(l.amount for l in first.lines),
            [Decimal('30.00'), Decimal('99.90')])
        amounts = {l.origin.component.kind if l.origin.component
            else 'plan': l.amount for l in second.lines}
        self.assertEqual(amounts, {
                'plan': Decimal('99.90'),
                'flat': Decimal('30.00'),
                # (4 + 10.5 - 10 included) × 2.50
                'per_unit': Decimal('11.25'),
                # 12 users reach the 11–50 tier: all at 4.00
                'volume': Decimal('48.00'),
                # 100 × 0 + 400 × 0.10 + 150.5 × 0.05 = 47.525, half up
                'graduated': Decimal('47.53'),
                # 2500 SMS: 3 packages of 1000 at 15.00
                'package': Decimal('45.00'),
                # 2.5% × 4500.40 + 10.00 + 3 × 0.10
                'percentage': Decimal('122.81'),
                })
        self.assertFalse(Usage.search([('charge', '=', None)]))
        self.assertEqual(len(Usage.search([('invoice', '=', second.id)])), 9)
        # Billing again rates nothing twice.
        with set_company(company), billing():
            Contract.bill(Contract.browse([contract.id]),
                datetime.date(2026, 4, 10))
        self.assertEqual(len(Invoice.search([])), 2)
        # The usage statement shows the allowance used and the charged part.
        _, content, _, _ = Report.execute([second.id], {})
        self.assertIn('Support hours', content)
        self.assertIn('4.5', content)


    @with_transaction()
    def test_bill_copies_allowed(self):
        "Bills are copied only when every billing hook override says so"
        pool = Pool()
        Contract = pool.get('sale.subscription')
        self.assertTrue(Contract._bill_copies_allowed())

        class Partner(Contract):
            def _get_charge(self, *args):
                return super()._get_charge(*args)
        self.assertFalse(Partner._bill_copies_allowed())

        class Aware(Partner):
            @classmethod
            def _get_bill_signatures(cls, contracts, billed, cache):
                return super()._get_bill_signatures(contracts, billed, cache)
        # Partner still overrides without saying what its bills read.
        self.assertFalse(Aware._bill_copies_allowed())

        class AwarePartner(Contract):
            def _get_charge(self, *args):
                return super()._get_charge(*args)

            @classmethod
            def _get_bill_signatures(cls, contracts, billed, cache):
                return super()._get_bill_signatures(contracts, billed, cache)
        self.assertTrue(AwarePartner._bill_copies_allowed())

    @with_transaction()
    def test_party_tax_identifiers(self):
        "The billing writer picks the parties' tax identifiers as the host"
        pool = Pool()
        Party = pool.get('party.party')
        from trytond.modules.subscription_core.billing_writer import (
            BillingWriter)
        parties = Party.create([{
                    'name': "CPF then CNPJ",
                    'identifiers': [('create', [{
                                    'type': 'br_cpf',
                                    'code': '390.533.447-05'}, {
                                    'type': 'br_vat',
                                    'code': '11.222.333/0001-81'}])],
                    }, {
                    'name': "None",
                    }, {
                    'name': "Two CNPJ",
                    'identifiers': [('create', [{
                                    'type': 'br_vat',
                                    'code': '11.444.777/0001-61',
                                    'sequence': 2}, {
                                    'type': 'br_vat',
                                    'code': '45.723.174/0001-10',
                                    'sequence': 1}])],
                    }])
        expected = {p.id: p.tax_identifier.id if p.tax_identifier else None
            for p in parties}
        self.assertEqual(len({v for v in expected.values() if v}), 2)
        writer = BillingWriter(True, datetime.date(2026, 3, 10))
        self.assertEqual(
            writer._party_tax_identifiers([p.id for p in parties]),
            expected)


del ModuleTestCase
