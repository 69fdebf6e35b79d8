# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class SubscriptionCoreTestCase(CompanyTestMixin, ModuleTestCase):
    "Test subscription_core module"
    module = 'subscription_core'


del ModuleTestCase
