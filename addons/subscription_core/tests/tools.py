# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""ORM helpers that set up a company able to bill contracts, for the
tests that need committed data (concurrency, crash) and the benchmark."""
from decimal import Decimal

from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.account_invoice.tests import set_invoice_sequences
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool


def create_service_setup(today, price=Decimal('99.90'), consumption=False):
    """Create a company with a chart, a fiscal year, a 5% tax, a service
    product, a monthly recurrence and a subscription service (host models
    only, so the benchmark sets up the stock path with it too).

    consumption: the service consumes monthly (the stock path's way).
    Return (company, product, monthly, service)."""
    pool = Pool()
    FiscalYear = pool.get('account.fiscalyear')
    Account = pool.get('account.account')
    Tax = pool.get('account.tax')
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    RuleSet = pool.get('sale.subscription.recurrence.rule.set')
    Service = pool.get('sale.subscription.service')

    company = create_company()
    with set_company(company):
        create_chart(company)
        fiscalyear = set_invoice_sequences(get_fiscalyear(company, today))
        fiscalyear.save()
        FiscalYear.create_period([fiscalyear])
        revenue, = Account.search([
                ('company', '=', company.id),
                ('type.revenue', '=', True),
                ('closed', '!=', True),
                ], limit=1)
        tax_account, = Account.search([
                ('company', '=', company.id),
                ('code', '=', '6.3.6'),
                ], limit=1)
        tax, = Tax.create([{
                    'name': 'ISS 5%', 'description': 'ISS 5%',
                    'type': 'percentage', 'rate': Decimal('.05'),
                    'invoice_account': tax_account.id,
                    'credit_note_account': tax_account.id,
                    }])
        category, = Category.create([{
                    'name': 'Services', 'accounting': True,
                    'account_revenue': revenue.id,
                    'customer_taxes': [('add', [tax.id])],
                    }])
        unit, = Uom.search([('name', '=', 'Unit')])
        template, = Template.create([{
                    'name': 'Fibra 500 Mega', 'type': 'service',
                    'default_uom': unit.id, 'salable': True,
                    'sale_uom': unit.id,
                    'list_price': price, 'account_category': category.id,
                    'products': [('create', [{}])],
                    }])
        product, = template.products
        monthly, = RuleSet.create([{
                    'name': 'Monthly',
                    'rules': [('create', [{
                                    'freq': 'monthly', 'interval': 1}])],
                    }])
        service, = Service.create([{
                    'product': product.id,
                    'consumption_recurrence': (
                        monthly.id if consumption else None),
                    }])
    return company, product, monthly, service


def create_billing_setup(today, price=Decimal('99.90')):
    """Create what create_service_setup does and a monthly plan billed in
    advance; return (company, plan)."""
    pool = Pool()
    Plan = pool.get('sale.subscription.plan')
    company, product, monthly, service = create_service_setup(today, price)
    with set_company(company):
        plan, = Plan.create([{
                    'name': 'Fibra 500', 'code': 'F500',
                    'company': company.id,
                    'currency': company.currency.id,
                    'product': product.id, 'service': service.id,
                    'recurrence': monthly.id, 'price': price,
                    }])
    return company, plan


def create_contracts(company, plan, n, start_date, billing_day=10):
    "Create and activate n contracts on plan for n new parties"
    pool = Pool()
    Party = pool.get('party.party')
    Contract = pool.get('sale.subscription')
    with set_company(company):
        parties = Party.create([{
                    'name': 'Customer %05d' % i,
                    'addresses': [('create', [{}])],
                    } for i in range(n)])
        unit = plan.service.product.sale_uom
        contracts = Contract.create([{
                    'company': company.id,
                    'party': party.id,
                    'invoice_address': party.addresses[0].id,
                    'currency': company.currency.id,
                    'plan': plan.id,
                    'invoice_recurrence': plan.recurrence.id,
                    'start_date': start_date,
                    'billing_day': billing_day,
                    'lines': [('create', [{
                                    'service': plan.service.id,
                                    'quantity': 1,
                                    'unit': unit.id,
                                    'unit_price': plan.price,
                                    'start_date': start_date,
                                    }])],
                    } for party in parties])
        Contract.quote(contracts)
        Contract.run(contracts)
    return contracts


def set_billing_chunk(size):
    pool = Pool()
    Configuration = pool.get('sale.configuration')
    config = Configuration(1)
    config.contract_billing_chunk = size
    config.save()

