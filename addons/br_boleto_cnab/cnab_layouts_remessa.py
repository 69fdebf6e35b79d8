# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""CNAB remessa layouts and instruction codes as data rows.

Field(name, start, end, kind, default, source): `source` names the key of
the company or title dict (see cnab_remessa.build_remessa) the value comes
from; `default` is used when the source gives nothing.
"""
from .cnab import Field as F

# --- CNAB 240 (FEBRABAN "Layout Padrão CNAB 240" v10.7, cobrança) ---------
HEADER_240 = [
    F('banco', 1, 3, 'num', source='bank'),
    F('lote', 4, 7, 'num', '0'),
    F('tipo_registro', 8, 8, 'num', '0'),
    F('tipo_inscricao', 18, 18, 'num', source='company.tipo_inscricao'),
    F('inscricao', 19, 32, 'num', source='company.inscricao'),
    F('convenio', 33, 52, 'alpha', source='company.convenio'),
    F('agencia', 53, 57, 'num', source='company.agencia'),
    F('agencia_dv', 58, 58, 'alpha', source='company.agencia_dv'),
    F('conta', 59, 70, 'num', source='company.conta'),
    F('conta_dv', 71, 71, 'alpha', source='company.conta_dv'),
    F('nome_empresa', 73, 102, 'alpha', source='company.nome'),
    F('nome_banco', 103, 132, 'alpha', source='bank_name'),
    F('codigo_remessa_retorno', 143, 143, 'num', '1'),
    F('data_geracao', 144, 151, 'date8', source='date'),
    F('hora_geracao', 152, 157, 'num', '0'),
    F('nsa', 158, 163, 'num', source='sequence'),
    F('versao_layout', 164, 166, 'num', '087'),
    F('densidade', 167, 171, 'num', '0'),
    ]
BATCH_HEADER_240 = [
    F('banco', 1, 3, 'num', source='bank'),
    F('lote', 4, 7, 'num', '1'),
    F('tipo_registro', 8, 8, 'num', '1'),
    F('operacao', 9, 9, 'alpha', 'R'),
    F('servico', 10, 11, 'num', '01'),
    F('versao_layout_lote', 14, 16, 'num', '045'),
    F('tipo_inscricao', 18, 18, 'num', source='company.tipo_inscricao'),
    F('inscricao', 19, 33, 'num', source='company.inscricao'),
    F('convenio', 34, 53, 'alpha', source='company.convenio'),
    F('agencia', 54, 58, 'num', source='company.agencia'),
    F('agencia_dv', 59, 59, 'alpha', source='company.agencia_dv'),
    F('conta', 60, 71, 'num', source='company.conta'),
    F('conta_dv', 72, 72, 'alpha', source='company.conta_dv'),
    F('nome_empresa', 74, 103, 'alpha', source='company.nome'),
    F('mensagem_1', 104, 143, 'alpha', source='company.mensagem_1'),
    F('mensagem_2', 144, 183, 'alpha', source='company.mensagem_2'),
    F('numero_remessa', 184, 191, 'num', source='sequence'),
    F('data_gravacao', 192, 199, 'date8', source='date'),
    F('data_credito', 200, 207, 'num', '0'),
    ]
SEGMENT_P = [
    F('banco', 1, 3, 'num', source='bank'),
    F('lote', 4, 7, 'num', '1'),
    F('tipo_registro', 8, 8, 'num', '3'),
    F('sequencial', 9, 13, 'num', source='record_sequence'),
    F('segmento', 14, 14, 'alpha', 'P'),
    F('codigo_movimento', 16, 17, 'num', source='instruction_code'),
    F('agencia', 18, 22, 'num', source='company.agencia'),
    F('agencia_dv', 23, 23, 'alpha', source='company.agencia_dv'),
    F('conta', 24, 35, 'num', source='company.conta'),
    F('conta_dv', 36, 36, 'alpha', source='company.conta_dv'),
    F('nosso_numero', 38, 57, 'alpha', source='nosso_numero'),
    F('carteira', 58, 58, 'num', '1', source='carteira_codigo'),
    F('cadastramento', 59, 59, 'num', '1'),
    F('tipo_documento', 60, 60, 'alpha', '2'),
    F('emissao_boleto', 61, 61, 'num', '2'),
    F('distribuicao_boleto', 62, 62, 'alpha', '2'),
    F('seu_numero', 63, 77, 'alpha', source='seu_numero'),
    F('data_vencimento', 78, 85, 'date8', source='data_vencimento'),
    F('valor_titulo', 86, 100, 'amount', source='valor'),
    F('agencia_cobradora', 101, 105, 'num', '0'),
    F('especie', 107, 108, 'num', '02', source='especie'),
    F('aceite', 109, 109, 'alpha', 'N', source='aceite'),
    F('data_emissao', 110, 117, 'date8', source='data_emissao'),
    F('codigo_juros', 118, 118, 'num', '3', source='codigo_juros'),
    F('data_juros', 119, 126, 'date8', source='data_juros'),
    F('juros_mora', 127, 141, 'amount', source='juros_dia'),
    F('codigo_desconto', 142, 142, 'num', '0', source='codigo_desconto'),
    F('data_desconto', 143, 150, 'date8', source='data_desconto'),
    F('desconto', 151, 165, 'amount', source='desconto'),
    F('iof', 166, 180, 'amount', source='iof'),
    F('abatimento', 181, 195, 'amount', source='abatimento'),
    F('uso_empresa', 196, 220, 'alpha', source='uso_empresa'),
    F('codigo_protesto', 221, 221, 'num', '3', source='codigo_protesto'),
    F('prazo_protesto', 222, 223, 'num', '0', source='protesto_dias'),
    F('codigo_baixa', 224, 224, 'num', '0', source='codigo_baixa'),
    F('prazo_baixa', 225, 227, 'alpha', source='baixa_dias'),
    F('moeda', 228, 229, 'num', '09'),
    F('contrato', 230, 239, 'num', '0'),
    ]
SEGMENT_Q = [
    F('banco', 1, 3, 'num', source='bank'),
    F('lote', 4, 7, 'num', '1'),
    F('tipo_registro', 8, 8, 'num', '3'),
    F('sequencial', 9, 13, 'num', source='record_sequence'),
    F('segmento', 14, 14, 'alpha', 'Q'),
    F('codigo_movimento', 16, 17, 'num', source='instruction_code'),
    F('sacado_tipo_inscricao', 18, 18, 'num',
        source='sacado.tipo_inscricao'),
    F('sacado_inscricao', 19, 33, 'num', source='sacado.inscricao'),
    F('sacado_nome', 34, 73, 'alpha', source='sacado.nome'),
    F('sacado_endereco', 74, 113, 'alpha', source='sacado.endereco'),
    F('sacado_bairro', 114, 128, 'alpha', source='sacado.bairro'),
    F('sacado_cep', 129, 136, 'num', source='sacado.cep'),
    F('sacado_cidade', 137, 151, 'alpha', source='sacado.cidade'),
    F('sacado_uf', 152, 153, 'alpha', source='sacado.uf'),
    F('avalista_tipo_inscricao', 154, 154, 'num', '0'),
    F('avalista_inscricao', 155, 169, 'num', '0'),
    F('avalista_nome', 170, 209, 'alpha'),
    F('banco_correspondente', 210, 212, 'num', '0'),
    F('nosso_numero_correspondente', 213, 232, 'alpha'),
    ]
SEGMENT_R = [
    F('banco', 1, 3, 'num', source='bank'),
    F('lote', 4, 7, 'num', '1'),
    F('tipo_registro', 8, 8, 'num', '3'),
    F('sequencial', 9, 13, 'num', source='record_sequence'),
    F('segmento', 14, 14, 'alpha', 'R'),
    F('codigo_movimento', 16, 17, 'num', source='instruction_code'),
    F('codigo_desconto_2', 18, 18, 'num', '0'),
    F('data_desconto_2', 19, 26, 'num', '0'),
    F('desconto_2', 27, 41, 'amount'),
    F('codigo_desconto_3', 42, 42, 'num', '0'),
    F('data_desconto_3', 43, 50, 'num', '0'),
    F('desconto_3', 51, 65, 'amount'),
    # 1 = valor fixo, 2 = percentual, 0 = sem multa
    F('codigo_multa', 66, 66, 'alpha', '0', source='codigo_multa'),
    F('data_multa', 67, 74, 'date8', source='data_multa'),
    F('multa', 75, 89, 'amount', source='multa'),
    F('informacao_sacado', 90, 99, 'alpha'),
    F('mensagem_3', 100, 139, 'alpha', source='mensagem_3'),
    F('mensagem_4', 140, 179, 'alpha', source='mensagem_4'),
    F('codigo_ocorrencia_sacado', 200, 207, 'num', '0'),
    F('banco_debito', 208, 210, 'num', '0'),
    F('agencia_debito', 211, 215, 'num', '0'),
    F('conta_debito', 217, 228, 'num', '0'),
    F('aviso_debito', 231, 231, 'num', '0'),
    ]
BATCH_TRAILER_240 = [
    F('banco', 1, 3, 'num', source='bank'),
    F('lote', 4, 7, 'num', '1'),
    F('tipo_registro', 8, 8, 'num', '5'),
    F('quantidade_registros', 18, 23, 'num', source='batch_records'),
    ]
TRAILER_240 = [
    F('banco', 1, 3, 'num', source='bank'),
    F('lote', 4, 7, 'num', '9999'),
    F('tipo_registro', 8, 8, 'num', '9'),
    F('quantidade_lotes', 18, 23, 'num', '1'),
    F('quantidade_registros', 24, 29, 'num', source='file_records'),
    F('quantidade_contas', 30, 35, 'num', '0'),
    ]

# --- CNAB 400 --------------------------------------------------------------
TRAILER_400 = [
    F('tipo_registro', 1, 1, 'num', '9'),
    F('sequencial', 395, 400, 'num', source='record_sequence'),
    ]
GENERIC_HEADER_400 = [
    F('tipo_registro', 1, 1, 'num', '0'),
    F('codigo_remessa_retorno', 2, 2, 'num', '1'),
    F('literal_remessa_retorno', 3, 9, 'alpha', 'REMESSA'),
    F('codigo_servico', 10, 11, 'alpha', '01'),
    F('literal_servico', 12, 26, 'alpha', 'COBRANCA'),
    F('nome_empresa', 47, 76, 'alpha', source='company.nome'),
    F('banco', 77, 79, 'alpha', source='bank'),
    F('nome_banco', 80, 94, 'alpha', source='bank_short_name'),
    F('data_geracao', 95, 100, 'date6', source='date'),
    F('sequencial', 395, 400, 'num', source='record_sequence'),
    ]
# Reading remessas of banks without a table here: sequence only
GENERIC_DETAILS_400 = {t: [F('tipo_registro', 1, 1, 'alpha'),
        F('sequencial', 395, 400, 'num')] for t in '1234567'}


def _header(*fields):
    rows = {f.name: f for f in GENERIC_HEADER_400}
    for f in fields:
        rows[f.name] = f
    return sorted(rows.values(), key=lambda f: f.start)


HEADERS_400 = {
    # Itaú "Cobrança CNAB 400" remessa header
    '341': _header(
        F('agencia', 27, 30, 'num', source='company.agencia'),
        F('zeros', 31, 32, 'num', '0'),
        F('conta', 33, 37, 'num', source='company.conta'),
        F('conta_dv', 38, 38, 'num', source='company.conta_dv')),
    # Bradesco "Layout Cobrança 4008.524.0121": MX + sequence of the file
    '237': _header(
        F('codigo_empresa', 27, 46, 'num', source='company.convenio'),
        F('identificacao_sistema', 109, 110, 'alpha', 'MX'),
        F('nsa', 111, 117, 'num', source='sequence')),
    }

DETAILS_400 = {
    # Itaú "Cobrança CNAB 400 - layout de arquivos", registro 1 (remessa)
    '341': {'1': [
        F('tipo_registro', 1, 1, 'num', '1'),
        F('tipo_inscricao', 2, 3, 'num', source='company.tipo_inscricao'),
        F('inscricao', 4, 17, 'num', source='company.inscricao'),
        F('agencia', 18, 21, 'num', source='company.agencia'),
        F('zeros', 22, 23, 'num', '0'),
        F('conta', 24, 28, 'num', source='company.conta'),
        F('conta_dv', 29, 29, 'num', source='company.conta_dv'),
        F('instrucao_cancelada', 34, 37, 'num', '0'),
        F('uso_empresa', 38, 62, 'alpha', source='uso_empresa'),
        F('nosso_numero', 63, 70, 'num', source='nosso_numero'),
        F('quantidade_moeda', 71, 83, 'num', '0'),
        F('carteira', 84, 86, 'num', source='carteira'),
        F('carteira_codigo', 108, 108, 'alpha', 'I', source='carteira_codigo'),
        F('codigo_ocorrencia', 109, 110, 'num', source='instruction_code'),
        F('seu_numero', 111, 120, 'alpha', source='seu_numero'),
        F('data_vencimento', 121, 126, 'date6', source='data_vencimento'),
        F('valor_titulo', 127, 139, 'amount', source='valor'),
        F('banco', 140, 142, 'num', '341'),
        F('agencia_cobradora', 143, 147, 'num', '0'),
        F('especie', 148, 149, 'alpha', '01', source='especie'),
        F('aceite', 150, 150, 'alpha', 'N', source='aceite'),
        F('data_emissao', 151, 156, 'date6', source='data_emissao'),
        F('instrucao_1', 157, 158, 'alpha', '00', source='instrucao_1'),
        F('instrucao_2', 159, 160, 'alpha', '00', source='instrucao_2'),
        F('juros_mora', 161, 173, 'amount', source='juros_dia'),
        F('data_desconto', 174, 179, 'date6', source='data_desconto'),
        F('desconto', 180, 192, 'amount', source='desconto'),
        F('iof', 193, 205, 'amount', source='iof'),
        F('abatimento', 206, 218, 'amount', source='abatimento'),
        F('sacado_tipo_inscricao', 219, 220, 'num',
            source='sacado.tipo_inscricao'),
        F('sacado_inscricao', 221, 234, 'num', source='sacado.inscricao'),
        F('sacado_nome', 235, 264, 'alpha', source='sacado.nome'),
        F('sacado_endereco', 275, 314, 'alpha', source='sacado.endereco'),
        F('sacado_bairro', 315, 326, 'alpha', source='sacado.bairro'),
        F('sacado_cep', 327, 334, 'num', source='sacado.cep'),
        F('sacado_cidade', 335, 349, 'alpha', source='sacado.cidade'),
        F('sacado_uf', 350, 351, 'alpha', source='sacado.uf'),
        F('sacador_avalista', 352, 381, 'alpha', source='avalista_nome'),
        F('data_mora', 386, 391, 'date6', source='data_juros'),
        F('prazo', 392, 393, 'num', '0', source='protesto_dias'),
        F('sequencial', 395, 400, 'num', source='record_sequence'),
        ]},
    # Bradesco "Layout Cobrança 4008.524.0121", registro 1 (remessa)
    '237': {'1': [
        F('tipo_registro', 1, 1, 'num', '1'),
        F('agencia_debito', 2, 6, 'num', '0'),
        F('agencia_debito_dv', 7, 7, 'alpha', '0'),
        F('razao_conta_debito', 8, 12, 'num', '0'),
        F('conta_debito', 13, 19, 'num', '0'),
        F('conta_debito_dv', 20, 20, 'alpha', '0'),
        F('zero', 21, 21, 'num', '0'),
        F('carteira', 22, 24, 'num', source='carteira'),
        F('agencia', 25, 29, 'num', source='company.agencia'),
        F('conta', 30, 36, 'num', source='company.conta'),
        F('conta_dv', 37, 37, 'alpha', source='company.conta_dv'),
        F('uso_empresa', 38, 62, 'alpha', source='uso_empresa'),
        F('banco_debito', 63, 65, 'num', '0'),
        F('campo_multa', 66, 66, 'num', '0', source='campo_multa'),
        F('percentual_multa', 67, 70, 'num', '0',
            source='percentual_multa_centesimos'),
        F('nosso_numero', 71, 81, 'num', source='nosso_numero'),
        F('nosso_numero_dv', 82, 82, 'alpha', source='nosso_numero_dv'),
        F('desconto_bonificacao', 83, 92, 'num', '0'),
        F('condicao_emissao', 93, 93, 'num', '2'),
        F('debito_automatico', 94, 94, 'alpha', 'N'),
        F('rateio', 105, 105, 'alpha'),
        F('aviso_debito', 106, 106, 'num', '2'),
        F('codigo_ocorrencia', 109, 110, 'num', source='instruction_code'),
        F('seu_numero', 111, 120, 'alpha', source='seu_numero'),
        F('data_vencimento', 121, 126, 'date6', source='data_vencimento'),
        F('valor_titulo', 127, 139, 'amount', source='valor'),
        F('banco_cobranca', 140, 142, 'num', '0'),
        F('agencia_depositaria', 143, 147, 'num', '0'),
        F('especie', 148, 149, 'num', '01', source='especie'),
        F('aceite', 150, 150, 'alpha', 'N', source='aceite'),
        F('data_emissao', 151, 156, 'date6', source='data_emissao'),
        F('instrucao_1', 157, 158, 'num', '0', source='instrucao_1'),
        F('instrucao_2', 159, 160, 'num', '0', source='instrucao_2'),
        F('juros_mora', 161, 173, 'amount', source='juros_dia'),
        F('data_desconto', 174, 179, 'date6', source='data_desconto'),
        F('desconto', 180, 192, 'amount', source='desconto'),
        F('iof', 193, 205, 'amount', source='iof'),
        F('abatimento', 206, 218, 'amount', source='abatimento'),
        F('sacado_tipo_inscricao', 219, 220, 'num',
            source='sacado.tipo_inscricao'),
        F('sacado_inscricao', 221, 234, 'num', source='sacado.inscricao'),
        F('sacado_nome', 235, 274, 'alpha', source='sacado.nome'),
        F('sacado_endereco', 275, 314, 'alpha', source='sacado.endereco'),
        F('mensagem_1', 315, 326, 'alpha', source='mensagem_1'),
        F('sacado_cep', 327, 334, 'num', source='sacado.cep'),
        F('sacador_avalista', 335, 394, 'alpha', source='avalista_nome'),
        F('sequencial', 395, 400, 'num', source='record_sequence'),
        ]},
    }

# Banco do Brasil CBR641 "pos 7" (Doc2627, convênio de 7 posições): the
# detail is record type 7; agrees with brcobranca remessa/cnab400/
# banco_brasil.rb and its remessa-banco-brasil-cnab400.rem fixture.
HEADERS_400['001'] = _header(
    F('agencia', 27, 30, 'num', source='company.agencia'),
    F('agencia_dv', 31, 31, 'alpha', source='company.agencia_dv'),
    F('conta', 32, 39, 'num', source='company.conta'),
    F('conta_dv', 40, 40, 'alpha', source='company.conta_dv'),
    F('zeros', 41, 46, 'num', '0'),
    F('nsa', 101, 107, 'num', source='sequence'),
    F('convenio_lider', 130, 136, 'num', '0',
        source='company.convenio_lider'))
DETAILS_400['001'] = {'7': [
    F('tipo_registro', 1, 1, 'num', '7'),
    F('tipo_inscricao', 2, 3, 'num', source='company.tipo_inscricao'),
    F('inscricao', 4, 17, 'num', source='company.inscricao'),
    F('agencia', 18, 21, 'num', source='company.agencia'),
    F('agencia_dv', 22, 22, 'alpha', source='company.agencia_dv'),
    F('conta', 23, 30, 'num', source='company.conta'),
    F('conta_dv', 31, 31, 'alpha', source='company.conta_dv'),
    F('convenio', 32, 38, 'num', source='company.convenio'),
    F('uso_empresa', 39, 63, 'alpha', source='uso_empresa'),
    # Nosso número: convênio (7) + sequence (10)
    F('nosso_numero', 64, 80, 'num', source='nosso_numero'),
    F('numero_prestacao', 81, 82, 'num', '0'),
    F('grupo_valor', 83, 84, 'num', '0'),
    F('indicativo_sacador', 88, 88, 'alpha'),
    F('variacao_carteira', 92, 94, 'num', source='company.variacao_carteira'),
    F('conta_caucao', 95, 95, 'num', '0'),
    F('bordero', 96, 101, 'num', '0'),
    F('tipo_cobranca', 102, 106, 'alpha', source='company.tipo_cobranca'),
    F('carteira', 107, 108, 'num', source='carteira'),
    F('codigo_ocorrencia', 109, 110, 'num', source='instruction_code'),
    F('seu_numero', 111, 120, 'alpha', source='seu_numero'),
    F('data_vencimento', 121, 126, 'date6', source='data_vencimento'),
    F('valor_titulo', 127, 139, 'amount', source='valor'),
    F('banco', 140, 142, 'num', '001'),
    F('agencia_cobradora', 143, 146, 'num', '0'),
    F('especie', 148, 149, 'num', '01', source='especie'),
    F('aceite', 150, 150, 'alpha', 'N', source='aceite'),
    F('data_emissao', 151, 156, 'date6', source='data_emissao'),
    F('instrucao_1', 157, 158, 'num', '0', source='instrucao_1'),
    F('instrucao_2', 159, 160, 'num', '0', source='instrucao_2'),
    F('juros_mora', 161, 173, 'amount', source='juros_dia'),
    F('data_desconto', 174, 179, 'date6', source='data_desconto'),
    F('desconto', 180, 192, 'amount', source='desconto'),
    F('iof', 193, 205, 'amount', source='iof'),
    F('abatimento', 206, 218, 'amount', source='abatimento'),
    F('sacado_tipo_inscricao', 219, 220, 'num',
        source='sacado.tipo_inscricao'),
    F('sacado_inscricao', 221, 234, 'num', source='sacado.inscricao'),
    F('sacado_nome', 235, 271, 'alpha', source='sacado.nome'),
    F('sacado_endereco', 275, 314, 'alpha', source='sacado.endereco'),
    F('sacado_bairro', 315, 326, 'alpha', source='sacado.bairro'),
    F('sacado_cep', 327, 334, 'num', source='sacado.cep'),
    F('sacado_cidade', 335, 349, 'alpha', source='sacado.cidade'),
    F('sacado_uf', 350, 351, 'alpha', source='sacado.uf'),
    F('sacador_avalista', 352, 391, 'alpha', source='avalista_nome'),
    F('dias_protesto', 392, 393, 'alpha', source='protesto_dias'),
    F('sequencial', 395, 400, 'num', source='record_sequence'),
    ]}

# Santander "Layout de Cobrança CNAB 400" (remessa); agrees with
# brcobranca remessa/cnab400/santander.rb. Its trailer carries the title
# count and total.
HEADERS_400['033'] = _header(
    F('codigo_transmissao', 27, 46, 'num',
        source='company.codigo_transmissao'),
    F('zeros', 101, 116, 'num', '0'),
    F('versao', 392, 394, 'num', '0', source='company.versao_layout'))
DETAILS_400['033'] = {'1': [
    F('tipo_registro', 1, 1, 'num', '1'),
    F('tipo_inscricao', 2, 3, 'num', source='company.tipo_inscricao'),
    F('inscricao', 4, 17, 'num', source='company.inscricao'),
    F('codigo_transmissao', 18, 37, 'num',
        source='company.codigo_transmissao'),
    F('uso_empresa', 38, 62, 'alpha', source='uso_empresa'),
    F('nosso_numero', 63, 70, 'num', source='nosso_numero'),
    F('data_desconto_2', 71, 76, 'date6', source='data_desconto_2'),
    # 4 = com multa, 0 = sem multa
    F('codigo_multa', 78, 78, 'num', '0', source='codigo_multa'),
    F('percentual_multa', 79, 82, 'num', '0',
        source='percentual_multa_centesimos'),
    F('unidade_moeda', 83, 84, 'num', '0'),
    F('valor_outra_unidade', 85, 97, 'num', '0'),
    F('data_multa', 102, 107, 'date6', source='data_multa'),
    F('carteira', 108, 108, 'num', '1', source='carteira_codigo'),
    F('codigo_ocorrencia', 109, 110, 'num', source='instruction_code'),
    F('seu_numero', 111, 120, 'alpha', source='seu_numero'),
    F('data_vencimento', 121, 126, 'date6', source='data_vencimento'),
    F('valor_titulo', 127, 139, 'amount', source='valor'),
    F('banco', 140, 142, 'num', '033'),
    F('agencia_cobradora', 143, 147, 'num', '0'),
    F('especie', 148, 149, 'num', '01', source='especie'),
    F('aceite', 150, 150, 'alpha', 'N', source='aceite'),
    F('data_emissao', 151, 156, 'date6', source='data_emissao'),
    F('instrucao_1', 157, 158, 'num', '0', source='instrucao_1'),
    F('instrucao_2', 159, 160, 'num', '0', source='instrucao_2'),
    F('juros_mora', 161, 173, 'amount', source='juros_dia'),
    F('data_desconto', 174, 179, 'date6', source='data_desconto'),
    F('desconto', 180, 192, 'amount', source='desconto'),
    F('iof', 193, 205, 'amount', source='iof'),
    F('abatimento', 206, 218, 'amount', source='abatimento'),
    F('sacado_tipo_inscricao', 219, 220, 'num',
        source='sacado.tipo_inscricao'),
    F('sacado_inscricao', 221, 234, 'num', source='sacado.inscricao'),
    F('sacado_nome', 235, 274, 'alpha', source='sacado.nome'),
    F('sacado_endereco', 275, 314, 'alpha', source='sacado.endereco'),
    F('sacado_bairro', 315, 326, 'alpha', source='sacado.bairro'),
    F('sacado_cep', 327, 334, 'num', source='sacado.cep'),
    F('sacado_cidade', 335, 349, 'alpha', source='sacado.cidade'),
    F('sacado_uf', 350, 351, 'alpha', source='sacado.uf'),
    F('sacador_avalista', 352, 381, 'alpha', source='avalista_nome'),
    F('dias_protesto', 392, 393, 'num', '0', source='protesto_dias'),
    F('sequencial', 395, 400, 'num', source='record_sequence'),
    ]}

# Sicoob "CNAB 400 - Cobrança Bancária" (remessa); agrees with brcobranca
# remessa/cnab400/sicoob.rb. Nosso número with its check digit (12).
HEADERS_400['756'] = _header(
    F('agencia', 27, 30, 'num', source='company.agencia'),
    F('agencia_dv', 31, 31, 'alpha', source='company.agencia_dv'),
    F('convenio', 32, 40, 'num', source='company.convenio'),
    F('nsa', 101, 107, 'num', source='sequence'))
DETAILS_400['756'] = {'1': [
    F('tipo_registro', 1, 1, 'num', '1'),
    F('tipo_inscricao', 2, 3, 'num', source='company.tipo_inscricao'),
    F('inscricao', 4, 17, 'num', source='company.inscricao'),
    F('agencia', 18, 21, 'num', source='company.agencia'),
    F('agencia_dv', 22, 22, 'alpha', source='company.agencia_dv'),
    F('conta', 23, 30, 'num', source='company.conta'),
    F('conta_dv', 31, 31, 'alpha', source='company.conta_dv'),
    F('convenio_cobranca', 32, 37, 'num', '0'),
    F('uso_empresa', 38, 62, 'alpha', source='uso_empresa'),
    F('nosso_numero', 63, 74, 'num', source='nosso_numero'),
    F('parcela', 75, 76, 'num', '01', source='parcela'),
    F('grupo_valor', 77, 78, 'num', '0'),
    F('indicativo_sacador', 82, 82, 'alpha'),
    F('variacao_carteira', 86, 88, 'num', '0'),
    F('conta_caucao', 89, 89, 'num', '0'),
    F('contrato_garantia', 90, 95, 'num', '0'),
    F('bordero', 96, 101, 'num', '0'),
    # 1 = cooperativa emite, 2 = cliente emite
    F('tipo_emissao', 106, 106, 'num', '2', source='company.tipo_emissao'),
    F('carteira', 107, 108, 'num', '01', source='carteira'),
    F('codigo_ocorrencia', 109, 110, 'num', source='instruction_code'),
    F('seu_numero', 111, 120, 'alpha', source='seu_numero'),
    F('data_vencimento', 121, 126, 'date6', source='data_vencimento'),
    F('valor_titulo', 127, 139, 'amount', source='valor'),
    F('banco', 140, 142, 'num', '756'),
    F('agencia_cobradora', 143, 146, 'num', source='company.agencia'),
    F('agencia_cobradora_dv', 147, 147, 'alpha',
        source='company.agencia_dv'),
    F('especie', 148, 149, 'num', '01', source='especie'),
    # 0 = não aceite, 1 = aceite
    F('aceite', 150, 150, 'num', '0', source='aceite_codigo'),
    F('data_emissao', 151, 156, 'date6', source='data_emissao'),
    F('instrucao_1', 157, 158, 'num', '0', source='instrucao_1'),
    F('instrucao_2', 159, 160, 'num', '0', source='instrucao_2'),
    F('juros_mora', 161, 166, 'amount', source='juros_dia'),
    F('multa', 167, 172, 'amount', source='multa'),
    F('distribuicao', 173, 173, 'num', '2'),
    F('data_desconto', 174, 179, 'date6', source='data_desconto'),
    F('desconto', 180, 192, 'amount', source='desconto'),
    F('iof', 193, 205, 'amount', source='iof'),
    F('abatimento', 206, 218, 'amount', source='abatimento'),
    F('sacado_tipo_inscricao', 219, 220, 'num',
        source='sacado.tipo_inscricao'),
    F('sacado_inscricao', 221, 234, 'num', source='sacado.inscricao'),
    F('sacado_nome', 235, 274, 'alpha', source='sacado.nome'),
    F('sacado_endereco', 275, 311, 'alpha', source='sacado.endereco'),
    F('sacado_bairro', 312, 326, 'alpha', source='sacado.bairro'),
    F('sacado_cep', 327, 334, 'num', source='sacado.cep'),
    F('sacado_cidade', 335, 349, 'alpha', source='sacado.cidade'),
    F('sacado_uf', 350, 351, 'alpha', source='sacado.uf'),
    F('observacao', 352, 391, 'alpha', source='avalista_nome'),
    F('dias_protesto', 392, 393, 'num', '0', source='protesto_dias'),
    F('sequencial', 395, 400, 'num', source='record_sequence'),
    ]}

# Trailers other than '9' + sequence
TRAILERS_400 = {
    '033': [
        F('tipo_registro', 1, 1, 'num', '9'),
        F('quantidade_titulos', 2, 7, 'num', source='title_count'),
        F('valor_total', 8, 20, 'amount', source='total_value'),
        F('zeros', 21, 394, 'num', '0'),
        F('sequencial', 395, 400, 'num', source='record_sequence'),
        ],
    }
# Record type of the title detail when it is not '1'
DETAIL_TYPE_400 = {'001': '7'}

# Remessa instruction (movement) codes per bank and layout: action ->
# code; None means the bank has no such instruction in that layout.
INSTRUCTIONS = {
    # FEBRABAN CNAB 240 v10.7, C004 "código de movimento remessa"
    ('*', '240'): {'new': '01', 'write_off': '02', 'abatement': '04',
        'cancel_abatement': '05', 'due_date_change': '06', 'discount': '07',
        'cancel_discount': '08', 'protest': '09',
        'stop_protest_write_off': '10', 'stop_protest_keep': '11',
        'other_data': '31', 'value_change': '47', 'negativacao': None},
    # Itaú CNAB 400 "códigos de ocorrência de remessa" (no discount
    # instruction; negativação expressa 66, exclusion 68)
    ('341', '400'): {'new': '01', 'write_off': '02', 'abatement': '04',
        'cancel_abatement': '05', 'due_date_change': '06', 'discount': None,
        'protest': '09', 'no_protest': '10', 'stop_protest_keep': '18',
        'other_data': '31', 'negativacao': '66',
        'cancel_negativacao': '68'},
    # Bradesco 4008.524.0121: 45 pedido de negativação, 46 excluir
    ('237', '400'): {'new': '01', 'write_off': '02', 'abatement': '04',
        'cancel_abatement': '05', 'due_date_change': '06', 'discount': None,
        'protest': '09', 'stop_protest_write_off': '18',
        'stop_protest_keep': '19', 'other_data': '31', 'negativacao': '45',
        'cancel_negativacao': '46'},
    # Banco do Brasil CBR641/CBR643 remessa "comandos"
    ('001', '400'): {'new': '01', 'write_off': '02', 'abatement': '04',
        'cancel_abatement': '05', 'due_date_change': '06', 'discount': '32',
        'protest': '09', 'stop_protest_keep': '10', 'negativacao': None},
    # Santander CNAB 400 remessa
    ('033', '400'): {'new': '01', 'write_off': '02', 'abatement': '04',
        'cancel_abatement': '05', 'due_date_change': '06', 'discount': None,
        'protest': '09', 'stop_protest_keep': '18', 'negativacao': None},
    # Sicoob CNAB 400 remessa ("comandos/movimento")
    ('756', '400'): {'new': '01', 'write_off': '02', 'abatement': '04',
        'cancel_abatement': '05', 'due_date_change': '06', 'discount': '07',
        'protest': '09', 'negativacao': None},
    }


def instruction_code(bank, layout, action):
    "Movement code of an action for a bank, or raise ValueError"
    table = INSTRUCTIONS.get((bank, layout)) or INSTRUCTIONS.get(
        ('*', layout))
    if table is None:
        raise ValueError('no instruction table for bank %s CNAB %s'
            % (bank, layout))
    code = table.get(action)
    if code is None:
        raise ValueError('bank %s CNAB %s has no %r instruction'
            % (bank, layout, action))
    return code


# Remessa file names, per bank convention (strftime/format keys: dd, mm,
# yyyy, seq, seq2, code5, month_code).
FILENAMES = {
    # Bradesco: CBDDMMSS.REM (SS = sequence of the day)
    ('237', '400'): 'CB{dd}{mm}{seq2}.REM',
    # Sicredi: CCCCCMDD.CRM (beneficiary code, month 1-9/O/N/D, day)
    ('748', '240'): '{code5}{month_code}{dd}.CRM',
    ('748', '400'): '{code5}{month_code}{dd}.CRM',
    }
DEFAULT_FILENAME = 'CB{bank}{layout}{yyyy}{mm}{dd}{seq4}.REM'
