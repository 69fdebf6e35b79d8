# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Run one billing run in its own process and print its result as JSON.

Used by the exactly-once tests to start concurrent runs and to kill a
run mid-way: python tests/billing_worker.py DB COMPANY_ID YYYY-MM-DD"""
import datetime
import json
import sys


def main(database, company_id, date):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    Pool(database).init()
    with Transaction().start(
            database, 0, context={'company': int(company_id)}):
        Contract = Pool().get('sale.subscription')
        result = Contract.billing_run(datetime.date.fromisoformat(date))
    print(json.dumps(result))


if __name__ == '__main__':
    main(*sys.argv[1:4])
