# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""ORM helpers that add price components and usage metrics to the plan
of tools.create_billing_setup, for the tests and the usage benchmark."""
from decimal import Decimal

from trytond.modules.company.tests import set_company
from trytond.pool import Pool


def create_metric(code, name, unit):
    Metric = Pool().get('sale.subscription.metric')
    metric, = Metric.create([{'code': code, 'name': name, 'unit': unit}])
    return metric


def create_component_service(company, plan, name):
    """Create a service product like the plan's (same category, so same
    revenue account and tax) and its subscription service"""
    pool = Pool()
    Template = pool.get('product.template')
    Service = pool.get('sale.subscription.service')
    product = plan.product
    with set_company(company):
        template, = Template.create([{
                    'name': name, 'type': 'service',
                    'default_uom': product.default_uom.id,
                    'salable': True,
                    'sale_uom': product.sale_uom.id,
                    'list_price': Decimal(0),
                    'account_category': product.account_category.id,
                    'products': [('create', [{}])],
                    }])
        service, = Service.create([{'product': template.products[0].id}])
    return service


def add_component(company, plan, name, **values):
    """Add a price component to plan, priced by values (the component's
    fields; tiers as [(up_to, unit_price, flat_fee)])"""
    pool = Pool()
    Component = pool.get('sale.subscription.component')
    service = create_component_service(company, plan, name)
    values = dict(values)
    tiers = values.pop('tiers', None)
    if tiers:
        values['tiers'] = [('create', [{
                            'up_to': u, 'unit_price': p, 'flat_fee': f}
                        for u, p, f in tiers])]
    with set_company(company):
        component, = Component.create([dict(
                    plan=plan.id, service=service.id, description=name,
                    **values)])
    return component
