# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.tests.test_tryton import ModuleTestCase


class BrFiscalNfseTestCase(ModuleTestCase):
    "Test br_fiscal_nfse module"
    module = 'br_fiscal_nfse'


del ModuleTestCase
