# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Remessas carrying instructions on titles already at the bank: golden
files for Itaú CNAB 400 and Sicoob CNAB 240, with each instruction's code
and values checked at the positions the bank manuals give."""
import datetime
import os
import unittest
from decimal import Decimal
from pathlib import Path

from trytond.modules.br_boleto_cnab.cnab import CnabError
from trytond.modules.br_boleto_cnab.cnab_layouts_remessa import (
    instruction_code)
from trytond.modules.br_boleto_cnab.cnab_remessa import build_remessa

GOLDEN = Path(__file__).parent / 'golden'
REGEN = os.environ.get('CICLO_REGEN_GOLDEN') == '1'
DATE = datetime.date(2026, 11, 22)
DUE = datetime.date(2026, 12, 10)


def company():
    return {'tipo_inscricao': 2, 'inscricao': '12.345.678/0001-95',
        'convenio': '1234567', 'agencia': '0607', 'agencia_dv': '5',
        'conta': '15255', 'conta_dv': '0',
        'nome': 'Ciclo Fibra Ltda'}


def title(number, instruction, carteira, **values):
    result = {'instruction': instruction,
        'nosso_numero': '%08d' % number, 'nosso_numero_dv': '1',
        'seu_numero': 'FAT-%04d' % number, 'uso_empresa': str(number),
        'carteira': carteira, 'data_vencimento': DUE,
        'valor': Decimal('100.00'), 'data_emissao': DATE,
        'juros_dia': Decimal('0.03'),
        'data_juros': DUE + datetime.timedelta(days=1),
        'sacado': {'tipo_inscricao': 1, 'inscricao': '390.533.447-05',
            'nome': 'Maria Silva', 'endereco': 'Rua das Flores, 100',
            'cep': '01310-100', 'cidade': 'Sao Paulo', 'uf': 'SP'}}
    result.update(values)
    return result


def titles(carteira, with_discount):
    "One title per instruction (Itaú 400 has no discount instruction)"
    result = [
        title(1, 'new', carteira),
        title(2, 'abatement', carteira, abatimento=Decimal('10.00')),
        title(3, 'cancel_abatement', carteira),
        title(4, 'due_date_change', carteira,
            data_vencimento=datetime.date(2026, 12, 20)),
        title(5, 'protest', carteira, codigo_protesto='1',
            protesto_dias=5),
        title(6, 'stop_protest_keep', carteira),
        title(7, 'write_off', carteira),
        ]
    if with_discount:
        result.append(title(8, 'discount', carteira, codigo_desconto='1',
                desconto=Decimal('5.00'),
                data_desconto=datetime.date(2026, 12, 5)))
    return result


class InstructionRemessaTestCase(unittest.TestCase):
    "Remessas with instructions"

    def golden(self, name, data):
        path = GOLDEN / name
        if REGEN:
            path.write_bytes(data)
        self.assertTrue(path.exists(), 'golden file %s missing: '
            'regenerate with CICLO_REGEN_GOLDEN=1' % name)
        self.assertEqual(data, path.read_bytes())

    def test_itau_400(self):
        data = build_remessa('341', '400', company(),
            titles('109', False), 3, DATE)
        self.golden('itau400_instructions.rem', data)
        header, *details, trailer, end = data.decode('ascii').split('\r\n')
        self.assertEqual(end, '')
        # Itaú "Cobrança CNAB 400": ocorrência 109-110, nosso número
        # 63-70, vencimento 121-126, abatimento 206-218, prazo 392-393
        self.assertEqual([d[108:110] for d in details],
            ['01', '04', '05', '06', '09', '18', '02'])
        self.assertEqual([int(d[62:70]) for d in details],
            list(range(1, 8)))
        self.assertEqual(details[1][205:218], '0000000001000')
        self.assertEqual(details[3][120:126], '201226')
        self.assertEqual(details[4][391:393], '05')

    def test_sicoob_240(self):
        data = build_remessa('756', '240', company(),
            titles('1', True), 3, DATE)
        self.golden('sicoob240_instructions.rem', data)
        lines = data.decode('ascii').split('\r\n')
        segments_p = [l for l in lines if l[13:14] == 'P']
        segments_q = [l for l in lines if l[13:14] == 'Q']
        # FEBRABAN 240 segment P: movimento 16-17 (C004), código do
        # desconto 142, desconto 151-165, abatimento 181-195, código de
        # protesto 221 and prazo 222-223; segment Q repeats the movement
        self.assertEqual([p[15:17] for p in segments_p],
            ['01', '04', '05', '06', '09', '11', '02', '07'])
        self.assertEqual([q[15:17] for q in segments_q],
            [p[15:17] for p in segments_p])
        discount = segments_p[7]
        self.assertEqual(discount[141], '1')
        self.assertEqual(discount[142:150], '05122026')
        self.assertEqual(discount[150:165], '000000000000500')
        self.assertEqual(segments_p[1][180:195], '000000000001000')
        self.assertEqual(segments_p[3][77:85], '20122026')
        self.assertEqual(segments_p[4][220:223], '105')
        # trailer de lote: 2 + 2 segments per title
        self.assertEqual(int(lines[-3][17:23]), 2 + 2 * 8)

    def test_unsupported(self):
        "A bank without the instruction refuses it, naming it"
        with self.assertRaises(ValueError) as cm:
            instruction_code('341', '400', 'discount')
        self.assertIn("'discount'", str(cm.exception))
        with self.assertRaises(CnabError):
            build_remessa('341', '400', company(),
                titles('109', True), 3, DATE)
