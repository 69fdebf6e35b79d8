# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""CNAB retorno layouts as data rows, per bank and layout.

Positions are 1-based and inclusive, as in the bank manuals. Where a
library is cited, its (0-based) ranges were converted and checked against
the sample files it ships with; the remessa records are in
cnab_layouts_remessa.py.
"""
from . import cnab_layouts_remessa as rem
from .cnab import Field as F, Layout, Record

BANK_NAMES = {
    '001': 'Banco do Brasil S.A.',
    '004': 'Banco do Nordeste do Brasil S.A.',
    '033': 'Banco Santander (Brasil) S.A.',
    '041': 'Banco do Estado do Rio Grande do Sul S.A.',
    '070': 'BRB - Banco de Brasília S.A.',
    '077': 'Banco Inter S.A.',
    '085': 'Cooperativa Central de Crédito - Ailos',
    '097': 'Credisis - Central de Cooperativas de Crédito Ltda.',
    '104': 'Caixa Econômica Federal',
    '136': 'Unicred do Brasil',
    '208': 'Banco BTG Pactual S.A.',
    '224': 'Banco Fibra S.A.',
    '237': 'Banco Bradesco S.A.',
    '341': 'Itaú Unibanco S.A.',
    '399': 'HSBC Bank Brasil S.A.',
    '435': 'Delcred SCD S.A',
    '643': 'Banco Pine S.A.',
    '712': 'Banco Ourinvest',
    '745': 'Banco Citibank S.A.',
    '748': 'Banco Cooperativo Sicredi S.A.',
    '756': 'Banco Cooperativo Sicoob S.A.',
}

# --- CNAB 240 --------------------------------------------------------------
# FEBRABAN "Layout Padrão de Arquivos CNAB 240" v10.7/v10.9, cobrança:
# header/trailer of file and batch, retorno segments T and U (the remessa
# segments P, Q, R live in cnab_layouts_remessa.py).
HEADER_240 = [
    F('banco', 1, 3, 'num'),
    F('lote', 4, 7, 'num'),
    F('tipo_registro', 8, 8, 'num'),
    F('tipo_inscricao', 18, 18, 'alpha'),
    F('inscricao', 19, 32, 'alpha'),
    F('convenio', 33, 52, 'alpha'),
    F('agencia', 53, 57, 'alpha'),
    F('agencia_dv', 58, 58, 'alpha'),
    F('conta', 59, 70, 'alpha'),
    F('conta_dv', 71, 71, 'alpha'),
    F('nome_empresa', 73, 102, 'alpha'),
    F('nome_banco', 103, 132, 'alpha'),
    F('codigo_remessa_retorno', 143, 143, 'alpha'),
    # Alpha: several banks leave it blank or fill it oddly in retornos
    F('data_geracao', 144, 151, 'alpha'),
    F('nsa', 158, 163, 'alpha'),
    F('versao_layout', 164, 166, 'alpha'),
    ]
BATCH_HEADER_240 = [
    F('banco', 1, 3, 'num'),
    F('lote', 4, 7, 'num'),
    F('tipo_registro', 8, 8, 'num'),
    F('operacao', 9, 9, 'alpha'),
    F('servico', 10, 11, 'alpha'),
    F('versao_layout_lote', 14, 16, 'alpha'),
    ]
BATCH_TRAILER_240 = [
    F('banco', 1, 3, 'num'),
    F('lote', 4, 7, 'num'),
    F('tipo_registro', 8, 8, 'num'),
    F('quantidade_registros', 18, 23, 'num'),
    ]
TRAILER_240 = [
    F('banco', 1, 3, 'num'),
    F('lote', 4, 7, 'num'),
    F('tipo_registro', 8, 8, 'num'),
    F('quantidade_lotes', 18, 23, 'num'),
    F('quantidade_registros', 24, 29, 'num'),
    ]
SEGMENT_T = [
    F('banco', 1, 3, 'num'),
    F('lote', 4, 7, 'num'),
    F('sequencial', 9, 13, 'num'),
    F('segmento', 14, 14, 'alpha'),
    F('codigo_ocorrencia', 16, 17, 'alpha'),
    F('agencia_com_dv', 18, 23, 'alpha'),
    F('cedente_com_dv', 24, 36, 'alpha'),
    F('nosso_numero', 38, 57, 'alpha'),
    F('carteira', 58, 58, 'alpha'),
    F('seu_numero', 59, 73, 'alpha'),
    F('data_vencimento', 74, 81, 'date8'),
    F('valor_titulo', 82, 96, 'amount'),
    F('banco_recebedor', 97, 99, 'alpha'),
    F('agencia_recebedora', 100, 105, 'alpha'),
    F('uso_empresa', 106, 130, 'alpha'),
    F('sacado_inscricao', 134, 148, 'alpha'),
    F('sacado_nome', 149, 188, 'alpha'),
    F('valor_tarifa', 199, 213, 'amount'),
    F('motivo_ocorrencia', 214, 223, 'alpha'),
    ]
SEGMENT_U = [
    F('banco', 1, 3, 'num'),
    F('lote', 4, 7, 'num'),
    F('sequencial', 9, 13, 'num'),
    F('segmento', 14, 14, 'alpha'),
    F('codigo_ocorrencia', 16, 17, 'alpha'),
    F('juros_mora', 18, 32, 'amount'),
    F('desconto', 33, 47, 'amount'),
    F('abatimento', 48, 62, 'amount'),
    F('iof', 63, 77, 'amount'),
    F('valor_pago', 78, 92, 'amount'),
    F('valor_liquido', 93, 107, 'amount'),
    F('outras_despesas', 108, 122, 'amount'),
    F('outros_creditos', 123, 137, 'amount'),
    F('data_ocorrencia', 138, 145, 'date8'),
    F('data_credito', 146, 153, 'date8'),
    ]
# Optional segment Y (Y-01 sacador, Y-03 PIX, Y-04 e-mail...): kept raw
SEGMENT_Y = [
    F('sequencial', 9, 13, 'num'),
    F('segmento', 14, 14, 'alpha'),
    F('codigo_ocorrencia', 16, 17, 'alpha'),
    F('identificacao_registro_opcional', 18, 19, 'alpha'),
    ]

# Per-bank overrides of segment T/U rows (replace by name).
OVERRIDES_240 = {
    # Banco do Brasil: 38-44 convênio (7) then the 10-digit title number;
    # as kivanio/brcobranca retorno_cnab240.rb (the parser its
    # CNAB240.RET spec uses), the nosso número read is 47-57.
    '001': {'3T': [F('nosso_numero', 47, 57, 'alpha'),
            F('identificacao_titulo', 38, 57, 'alpha')]},
    # Santander "Layout CNAB 240 Cobrança" v8: agência 4+1, conta 9+1,
    # nosso número 41-53; agrees with brcobranca retorno/cnab240/santander.rb
    '033': {'3T': [
            F('agencia_com_dv', 18, 22, 'alpha'),
            F('cedente_com_dv', 23, 32, 'alpha'),
            F('nosso_numero', 41, 53, 'alpha'),
            F('carteira', 54, 54, 'alpha'),
            F('seu_numero', 55, 69, 'alpha'),
            F('data_vencimento', 70, 77, 'date8'),
            F('valor_titulo', 78, 92, 'amount'),
            F('banco_recebedor', 93, 95, 'alpha'),
            F('agencia_recebedora', 96, 100, 'alpha'),
            F('uso_empresa', 101, 125, 'alpha'),
            F('sacado_inscricao', 129, 143, 'alpha'),
            F('sacado_nome', 144, 183, 'alpha'),
            F('valor_tarifa', 194, 208, 'amount'),
            F('motivo_ocorrencia', 209, 218, 'alpha'),
            ]},
    # Sicoob "Layout CNAB 240" (nosso número 10 digits, then parcela,
    # modalidade, formulário); agrees with brcobranca cnab240/sicoob.rb
    '756': {'3T': [F('nosso_numero', 38, 47, 'alpha')]},
    }


def _kinds(records):
    kinds = {}
    for rec in records.values():
        for f in rec.fields:
            kinds.setdefault(f.name, f.kind)
    return kinds


_CACHE = {}


def layout_240(bank):
    "CNAB 240 layout for a bank: FEBRABAN with that bank's overrides"
    key = ('240', bank)
    if key in _CACHE:
        return _CACHE[key]
    records = {
        '0': Record('header_arquivo', 240, HEADER_240),
        '1': Record('header_lote', 240, BATCH_HEADER_240),
        '3T': Record('segmento_t', 240, SEGMENT_T),
        '3U': Record('segmento_u', 240, SEGMENT_U),
        '3Y': Record('segmento_y', 240, SEGMENT_Y),
        '3S': Record('segmento_s', 240, SEGMENT_Y),
        '3P': Record('segmento_p', 240, rem.SEGMENT_P),
        '3Q': Record('segmento_q', 240, rem.SEGMENT_Q),
        '3R': Record('segmento_r', 240, rem.SEGMENT_R),
        '5': Record('trailer_lote', 240, BATCH_TRAILER_240),
        '9': Record('trailer_arquivo', 240, TRAILER_240),
        }
    for rtype, fields in OVERRIDES_240.get(bank, {}).items():
        records[rtype] = records[rtype].replace(*fields)
    layout = Layout('CNAB240', 240, records, bank=bank)
    layout.batch_count = BATCH_COUNT_240.get(bank, 'all')
    layout.kinds = _kinds(records)
    _CACHE[key] = layout
    return layout


# --- CNAB 400 --------------------------------------------------------------
HEADER_400 = [
    F('tipo_registro', 1, 1, 'num'),
    F('codigo_remessa_retorno', 2, 2, 'num'),
    F('literal_remessa_retorno', 3, 9, 'alpha'),
    F('codigo_servico', 10, 11, 'alpha'),
    F('literal_servico', 12, 26, 'alpha'),
    F('codigo_empresa', 27, 46, 'alpha'),
    F('nome_empresa', 47, 76, 'alpha'),
    F('banco', 77, 79, 'alpha'),
    F('nome_banco', 80, 94, 'alpha'),
    F('data_geracao', 95, 100, 'date6'),
    F('sequencial', 395, 400, 'alpha'),
    ]
TRAILER_400 = [
    F('tipo_registro', 1, 1, 'num'),
    F('sequencial', 395, 400, 'num'),
    ]

# The positions most banks share, from the Itaú "Cobrança CNAB 400"
# and Bradesco "Layout Cobrança 4008.524.0121" retorno detail (type 1).
COMMON_400 = [
    F('tipo_registro', 1, 1, 'alpha'),
    F('tipo_inscricao', 2, 3, 'alpha'),
    F('inscricao', 4, 17, 'alpha'),
    F('uso_empresa', 38, 62, 'alpha'),
    F('carteira', 108, 108, 'alpha'),
    F('codigo_ocorrencia', 109, 110, 'alpha'),
    F('data_ocorrencia', 111, 116, 'date6'),
    F('seu_numero', 117, 126, 'alpha'),
    F('data_vencimento', 147, 152, 'date6'),
    F('valor_titulo', 153, 165, 'amount'),
    F('banco_recebedor', 166, 168, 'alpha'),
    F('agencia_recebedora', 169, 173, 'alpha'),
    F('especie_documento', 174, 175, 'alpha'),
    F('valor_tarifa', 176, 188, 'amount'),
    F('iof', 215, 227, 'amount'),
    F('abatimento', 228, 240, 'amount'),
    F('desconto', 241, 253, 'amount'),
    F('valor_pago', 254, 266, 'amount'),
    F('juros_mora', 267, 279, 'amount'),
    F('outros_creditos', 280, 292, 'amount'),
    F('data_credito', 296, 301, 'date6'),
    F('sequencial', 395, 400, 'num'),
    ]


def _detail(*fields, base=COMMON_400, drop=()):
    rows = {f.name: f for f in base if f.name not in drop}
    for f in fields:
        rows[f.name] = f
    return sorted(rows.values(), key=lambda f: (f.start, f.name))


DETAILS_400 = {
    # Itaú "Cobrança CNAB 400 - layout de arquivos" (retorno, registro 1);
    # agrees with brcobranca retorno/cnab400/itau.rb and CNAB400ITAU.RET.
    '341': {'1': _detail(
            F('agencia_com_dv', 18, 21, 'alpha'),
            F('cedente_com_dv', 24, 29, 'alpha'),
            F('nosso_numero', 63, 70, 'alpha'),
            F('carteira_variacao', 83, 85, 'alpha'),
            F('motivo_ocorrencia', 378, 385, 'alpha'),
            F('codigo_liquidacao', 393, 394, 'alpha'))},
    # Bradesco "Layout Cobrança 4008.524.0121" (retorno, registro 1);
    # agrees with brcobranca retorno/cnab400/bradesco.rb.
    '237': {'1': _detail(
            F('carteira', 22, 24, 'alpha'),
            F('codigo_carteira', 108, 108, 'alpha'),
            F('agencia_sem_dv', 25, 29, 'alpha'),
            F('cedente_com_dv', 30, 37, 'alpha'),
            F('nosso_numero', 71, 82, 'alpha'),
            F('outras_despesas', 189, 201, 'amount'),
            F('motivo_ocorrencia', 319, 328, 'alpha'))},
    # Santander "Layout Cobrança CNAB 400" (retorno); brcobranca
    # retorno/cnab400/santander.rb. Type 2 is the PIX record (chave DICT,
    # txid), one per title, as CNAB400SANTANDER.RET shows.
    '033': {
        '1': _detail(
            F('agencia_com_dv', 18, 21, 'alpha'),
            F('cedente_com_dv', 24, 29, 'alpha'),
            F('nosso_numero', 63, 70, 'alpha'),
            F('motivo_ocorrencia', 137, 146, 'alpha')),
        '2': [
            F('tipo_registro', 1, 1, 'alpha'),
            F('tipo_chave_dict', 2, 2, 'alpha'),
            F('codigo_chave_dict', 3, 79, 'alpha'),
            F('txid', 80, 114, 'alpha'),
            F('sequencial', 395, 400, 'num')]},
    # Banrisul "Cobrança CNAB 400" (retorno); brcobranca cnab400/banrisul.rb
    '041': {'1': _detail(
            F('agencia_sem_dv', 18, 21, 'alpha'),
            F('cedente_com_dv', 22, 30, 'alpha'),
            F('nosso_numero', 63, 72, 'alpha'),
            F('iof', 189, 201, 'amount'),
            F('motivo_ocorrencia', 383, 392, 'alpha'))},
    # BRB: 8-digit dates shift everything from 111 on; brcobranca
    # retorno/cnab400/banco_brasilia.rb and CNAB400BANCOBRASILIA.RET.
    '070': {'1': [
            F('tipo_registro', 1, 1, 'alpha'),
            F('cedente_com_dv', 21, 37, 'alpha'),
            F('nosso_numero', 71, 82, 'alpha'),
            F('codigo_ocorrencia', 109, 110, 'alpha'),
            F('data_ocorrencia', 111, 118, 'date8'),
            F('data_vencimento', 149, 156, 'date8'),
            F('valor_titulo', 157, 169, 'amount'),
            F('banco_recebedor', 170, 172, 'alpha'),
            F('especie_documento', 178, 179, 'alpha'),
            F('valor_tarifa', 180, 192, 'amount'),
            F('iof', 219, 231, 'amount'),
            F('abatimento', 232, 244, 'amount'),
            F('desconto', 245, 257, 'amount'),
            F('valor_pago', 258, 270, 'amount'),
            F('outros_creditos', 284, 296, 'amount'),
            F('data_credito', 300, 307, 'date8'),
            F('motivo_ocorrencia', 365, 394, 'alpha'),
            F('sequencial', 395, 400, 'num')]},
    # Banco do Nordeste; brcobranca retorno/cnab400/banco_nordeste.rb,
    # which reads the credit date from 147-152 (the file has no other).
    '004': {'1': _detail(
            F('agencia_sem_dv', 18, 21, 'alpha'),
            F('cedente_com_dv', 24, 31, 'alpha'),
            F('nosso_numero', 63, 70, 'alpha'),
            F('data_credito', 147, 152, 'date6'),
            F('motivo_ocorrencia', 280, 394, 'alpha'),
            drop=('iof', 'outros_creditos', 'agencia_recebedora'))},
    # CrediSIS; brcobranca retorno/cnab400/credisis.rb
    '097': {'1': [
            F('tipo_registro', 1, 1, 'alpha'),
            F('nosso_numero', 63, 73, 'alpha'),
            F('codigo_ocorrencia', 109, 110, 'alpha'),
            F('data_vencimento', 147, 152, 'date6'),
            F('valor_titulo', 153, 165, 'amount'),
            F('data_credito', 176, 181, 'date6'),
            F('valor_pago', 254, 266, 'amount'),
            F('sequencial', 395, 400, 'num')]},
    # Unicred: eduardokum/laravel-boleto Retorno/Cnab400/Banco/Unicred.php
    # (credit date = occurrence date 111-116, tarifa 182-188); the OCA
    # l10n-brazil tests state the same values.
    '136': {'1': _detail(
            F('agencia_sem_dv', 18, 21, 'alpha'),
            F('cedente_com_dv', 23, 31, 'alpha'),
            F('nosso_numero', 46, 62, 'alpha'),
            F('data_credito', 111, 116, 'date6'),
            F('valor_tarifa', 182, 188, 'amount'),
            F('seu_numero', 280, 305, 'alpha'),
            F('motivo_ocorrencia', 319, 326, 'alpha'),
            drop=('uso_empresa', 'iof', 'outros_creditos'))},
    }

# Banco do Brasil "CBR643" (convênio de 7 posições, registro 7) and
# "CBR641" (convênio de 6, registro 1); brcobranca retorno_cbr643.rb.
_BB_COMMON = [
    F('tipo_registro', 1, 1, 'alpha'),
    F('tipo_inscricao', 2, 3, 'alpha'),
    F('inscricao', 4, 17, 'alpha'),
    F('agencia_com_dv', 18, 22, 'alpha'),
    F('cedente_com_dv', 23, 31, 'alpha'),
    F('carteira_variacao', 92, 94, 'alpha'),
    F('carteira', 107, 108, 'alpha'),
    F('codigo_ocorrencia', 109, 110, 'alpha'),
    F('data_ocorrencia', 111, 116, 'date6'),
    F('data_liquidacao', 111, 116, 'date6'),
    F('seu_numero', 117, 126, 'alpha'),
    F('data_vencimento', 147, 152, 'date6'),
    F('valor_titulo', 153, 165, 'amount'),
    F('banco_recebedor', 166, 168, 'alpha'),
    F('agencia_recebedora', 169, 173, 'alpha'),
    F('especie_documento', 174, 175, 'alpha'),
    F('data_credito', 176, 181, 'date6'),
    F('valor_tarifa', 182, 188, 'amount'),
    F('outras_despesas', 189, 201, 'amount'),
    F('juros_desconto', 202, 214, 'amount'),
    F('iof', 215, 227, 'amount'),
    F('abatimento', 228, 240, 'amount'),
    F('desconto', 241, 253, 'amount'),
    F('valor_pago', 254, 266, 'amount'),
    F('juros_mora', 267, 279, 'amount'),
    F('outros_creditos', 280, 292, 'amount'),
    F('sequencial', 395, 400, 'num'),
    ]
DETAILS_400['001'] = {
    '7': _detail(
        F('convenio', 32, 38, 'alpha'),
        F('uso_empresa', 39, 63, 'alpha'),
        F('nosso_numero', 64, 80, 'alpha'),
        base=_BB_COMMON),
    '1': _detail(
        F('convenio', 32, 37, 'alpha'),
        F('uso_empresa', 38, 62, 'alpha'),
        F('nosso_numero', 63, 73, 'alpha'),
        base=_BB_COMMON),
    }

# Banco Inter: eduardokum/laravel-boleto Retorno/Cnab400/Banco/Inter.php
# (its own compact positions; no tariff or discount columns)
DETAILS_400['077'] = {'1': [
    F('tipo_registro', 1, 1, 'alpha'),
    F('carteira', 21, 23, 'alpha'),
    F('agencia_sem_dv', 24, 27, 'alpha'),
    F('cedente_com_dv', 28, 37, 'alpha'),
    F('uso_empresa', 38, 62, 'alpha'),
    F('nosso_numero', 71, 81, 'alpha'),
    F('codigo_ocorrencia', 90, 91, 'alpha'),
    F('data_ocorrencia', 92, 97, 'date6'),
    F('seu_numero', 98, 107, 'alpha'),
    F('data_vencimento', 119, 124, 'date6'),
    F('valor_titulo', 125, 137, 'amount'),
    F('valor_pago', 160, 172, 'amount'),
    F('data_credito', 173, 178, 'date6'),
    F('motivo_ocorrencia', 241, 380, 'alpha'),
    F('sequencial', 395, 400, 'num'),
    ]}

# Trailers whose 395-400 is not checked as the record count: BRB and
# Unicred sample files carry a fixed trailer (000030, 000016) and no
# manual at hand says what the field holds for them.
TRAILERS_400 = {
    '070': [F('tipo_registro', 1, 1, 'num'),
        F('sequencial_trailer', 395, 400, 'alpha')],
    '136': [F('tipo_registro', 1, 1, 'num'),
        F('sequencial_trailer', 395, 400, 'alpha')],
    }

# Record types that complete the title before them instead of being a title
# (Santander type 2: the PIX data of the boleto híbrido).
COMPLEMENT_400 = {'033': ('2',)}

# Count rule of the batch trailer (18-23): FEBRABAN counts every record of
# the batch, header and trailer included; Santander counts the detail
# records only in its retornos (as both Santander sample retornos show),
# every record in remessas.
BATCH_COUNT_240 = {'033': 'details'}

# Banks with files but no bank-specific table here: the common positions
# without the fields they are known to use differently (kept as text).
GENERIC_400 = {'1': _detail(
        F('nosso_numero', 63, 82, 'alpha'),
        F('data_credito', 296, 301, 'alpha'),
        F('outros_creditos', 280, 292, 'alpha'),
        F('iof', 215, 227, 'alpha'))}


def layout_400(bank, kind='retorno'):
    "CNAB 400 layout for a bank, or None when the bank is unknown"
    key = ('400', bank, kind)
    if key in _CACHE:
        return _CACHE[key]
    if bank not in BANK_NAMES:
        return None
    if kind == 'remessa':
        details = rem.DETAILS_400.get(bank, rem.GENERIC_DETAILS_400)
        header = rem.HEADERS_400.get(bank, rem.GENERIC_HEADER_400)
        trailer = rem.TRAILERS_400.get(bank, rem.TRAILER_400)
    else:
        details = DETAILS_400.get(bank, GENERIC_400)
        header = HEADER_400
        trailer = TRAILERS_400.get(bank, TRAILER_400)
    records = {'0': Record('header', 400, header),
        '9': Record('trailer', 400, trailer)}
    for rtype, fields in details.items():
        records[rtype] = Record('detalhe_%s' % rtype, 400, fields)
    if kind == 'remessa':
        # Optional records (multa, PIX, messages...) are read raw
        for rtype, fields in rem.GENERIC_DETAILS_400.items():
            records.setdefault(rtype, Record('detalhe_%s' % rtype, 400,
                    fields))
    name = 'CBR643' if bank == '001' and kind == 'retorno' else 'CNAB400'
    layout = Layout(name, 400, records, bank=bank)
    layout.kinds = _kinds(records)
    _CACHE[key] = layout
    return layout
