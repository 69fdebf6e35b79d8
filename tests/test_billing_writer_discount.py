# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The set-based writer stores discounted contract lines (invoice lines
with a base price) exactly as the ORM does: the differential test of
test_billing_writer on contracts whose lines carry a discount rate or a
fixed discount."""
import unittest
from decimal import Decimal

from trytond import backend
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module

from .test_billing_exactly_once import committed
from .test_billing_writer import (
    CASES, bill_cases, create_cases, invoice_rows, setup_company)


def create_discounted_cases(company_id):
    """Create the contracts of CASES; give their lines a discount: a rate
    with odd roundings or a fixed amount, in turn"""
    pool = Pool()
    Company = pool.get('company.company')
    Contract = pool.get('sale.subscription')
    Line = pool.get('sale.subscription.line')
    company_id, contract_ids = create_cases(company_id)
    with set_company(Company(company_id)):
        lines = []
        for i, contract in enumerate(Contract.browse(contract_ids)):
            for line in contract.lines:
                if i % 2:
                    line.discount_amount = Decimal('1.11')
                else:
                    line.discount_rate = Decimal('0.1234')
                line.base_price = line.unit_price + Decimal('2.50')
                line.unit_price = line.compute_discounted_price()
                lines.append(line)
        Line.save(lines)
    return company_id, contract_ids


@unittest.skipIf(
    backend.name != 'postgresql', "the writer runs on PostgreSQL only")
class BillingWriterDiscountTestCase(unittest.TestCase):
    "The set-based writer stores discounted lines as the ORM does"

    @classmethod
    def setUpClass(cls):
        activate_module('subscription_core')

    def test_same_rows_discounted(self):
        "Writer and ORM store the same rows for discounted lines"
        company_id = committed(setup_company, 'document')
        orm = committed(bill_cases, committed(
                create_discounted_cases, company_id), True)
        writer = committed(bill_cases, committed(
                create_discounted_cases, company_id), False)
        self.assertEqual(orm['result']['errors'], [])
        self.assertEqual(writer['result']['errors'], [])
        self.assertGreater(orm['result']['invoices'], len(CASES))
        self.assertEqual(writer['writer'], writer['result']['invoices'])
        orm_rows = committed(invoice_rows, orm['contracts'])
        writer_rows = committed(invoice_rows, writer['contracts'])
        # The recurring lines carry their base price, pro-rata.
        base_prices = [l['base_price'] for r in orm_rows for l in r['lines']
            if l['base_price'] is not None]
        self.assertTrue(base_prices)
        self.assertEqual(len(orm_rows), len(writer_rows))
        for expected, got in zip(orm_rows, writer_rows):
            self.assertEqual(got, expected)
