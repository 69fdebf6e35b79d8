# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Write CNAB 400 retorno files with the parser's own layouts (no ORM).

Banks write retornos, we only read them; this writer exists so tests and
the benchmark build retornos from the very layout rows the parser reads
(cnab_layouts.layout_400), never from hand-typed lines.
"""
import datetime

from . import cnab_layouts
from .cnab import CnabError, format_record

__all__ = ['build_retorno_400']


def build_retorno_400(bank, date, details, company_name=''):
    """Return the retorno as bytes (ASCII, CRLF line ends).

    details: dicts keyed by the bank's retorno field names (nosso_numero,
    codigo_ocorrencia, data_ocorrencia, valor_titulo, valor_pago,
    juros_mora, valor_tarifa, desconto, abatimento, data_credito, ...)."""
    layout = cnab_layouts.layout_400(bank, 'retorno')
    if layout is None:
        raise CnabError('no CNAB 400 retorno layout for bank %s' % bank)
    if isinstance(date, datetime.datetime):
        date = date.date()
    records = layout.records
    header = {
        'tipo_registro': 0, 'codigo_remessa_retorno': 2,
        'literal_remessa_retorno': 'RETORNO', 'codigo_servico': '01',
        'literal_servico': 'COBRANCA', 'nome_empresa': company_name,
        'banco': bank, 'nome_banco': cnab_layouts.BANK_NAMES.get(bank, '')[
            :15], 'data_geracao': date, 'sequencial': '000001',
        }
    lines = [format_record(records['0'], header)]
    detail_rec = records['1']
    for number, values in enumerate(details, 2):
        values = dict(values, tipo_registro='1', sequencial=number)
        lines.append(format_record(detail_rec, values))
    lines.append(format_record(records['9'], {
                'tipo_registro': 9, 'sequencial': len(lines) + 1}))
    return ''.join(line + '\r\n' for line in lines).encode('ascii')
