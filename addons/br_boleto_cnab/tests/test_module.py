# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.tests.test_tryton import ModuleTestCase


class BrBoletoCnabTestCase(ModuleTestCase):
    "Test br_boleto_cnab module"
    module = 'br_boleto_cnab'


del ModuleTestCase
