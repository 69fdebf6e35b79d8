# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.tests.test_tryton import ModuleTestCase


class IspProvisioningTestCase(ModuleTestCase):
    "Test isp_provisioning module"
    module = 'isp_provisioning'


del ModuleTestCase
