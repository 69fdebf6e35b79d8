# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
import unittest
from decimal import Decimal

from trytond.modules.br_boleto_cnab.cnab import CnabError
from trytond.modules.br_boleto_cnab.cnab_file import parse_retorno
from trytond.modules.br_boleto_cnab.cnab_retorno import build_retorno_400


class RetornoWriterTestCase(unittest.TestCase):
    "The retorno writer of the tests and benchmark round-trips"

    def test_round_trip(self):
        details = [{'nosso_numero': '%08d' % n, 'codigo_ocorrencia': '06',
                'data_ocorrencia': datetime.date(2026, 1, 25),
                'valor_titulo': Decimal('78.75'),
                'valor_pago': Decimal('80.46'),
                'juros_mora': Decimal('0.13'),
                'valor_tarifa': Decimal('1.50'),
                'data_credito': datetime.date(2026, 1, 26)}
            for n in range(1, 4)]
        data = build_retorno_400('341', datetime.date(2026, 1, 26), details)
        result = parse_retorno(data)
        self.assertEqual(result.kind, 'retorno')
        self.assertEqual(result.file_date, datetime.date(2026, 1, 26))
        self.assertEqual(len(result.titles), 3)
        record = result.titles[2]
        self.assertEqual(record.line, 4)
        self.assertEqual(record.text('nosso_numero'), '00000003')
        self.assertEqual(record.decimal('valor_pago'), Decimal('80.46'))
        self.assertEqual(record.decimal('juros_mora'), Decimal('0.13'))
        self.assertEqual(record.date('data_credito'),
            datetime.date(2026, 1, 26))
        self.assertEqual(result.liquidados, 3)

    def test_overflow_raises(self):
        self.assertRaises(CnabError, build_retorno_400, '341',
            datetime.date(2026, 1, 26), [{'nosso_numero': '1' * 9}])

    def test_unknown_bank(self):
        self.assertRaises(CnabError, build_retorno_400, '999',
            datetime.date(2026, 1, 26), [])
