# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Build CNAB remessa files from plain dicts (no ORM).

company: tipo_inscricao (1 CPF, 2 CNPJ), inscricao, convenio, agencia,
    agencia_dv, conta, conta_dv, nome, mensagem_1, mensagem_2.
title: instruction ('new', 'write_off', 'abatement', 'due_date_change',
    'discount', 'protest', 'negativacao', ...), nosso_numero,
    nosso_numero_dv, seu_numero, carteira, data_vencimento, valor (Decimal),
    data_emissao, especie, aceite, juros_dia, data_juros, desconto,
    data_desconto, abatimento, iof, protesto_dias, multa, data_multa,
    codigo_multa, mensagem_3, mensagem_4, sacado (dict: tipo_inscricao,
    inscricao, nome, endereco, bairro, cep, cidade, uf).
"""
import datetime
import re

from . import cnab_layouts_remessa as rem
from .cnab import CnabError, Record, format_record

# Bank names as the remessa headers carry them (240: 103-132, 400: 80-94)
BANK_SHORT_NAMES = {
    '001': 'BANCO DO BRASIL',
    '033': 'SANTANDER',
    '041': 'BANRISUL',
    '085': 'AILOS',
    '104': 'CAIXA',
    '136': 'UNICRED',
    '237': 'BRADESCO',
    '341': 'BANCO ITAU SA',
    '748': 'SICREDI',
    '756': 'SICOOB',
    }
# Keys whose punctuation is formatting, not data (CNPJ 12.345.678/0001-90)
_DIGITS_ONLY = frozenset(('inscricao', 'cep'))
_NOT_DIGIT = re.compile(r'[.\-/ ]')


def _family(layout):
    layout = str(layout).upper().replace('CNAB', '')
    if layout not in ('240', '400'):
        raise CnabError('unknown CNAB layout %r' % layout)
    return layout


def _make(name, length, fields):
    return Record(name, length, fields)


def _resolve(source, context):
    value = context
    for part in source.split('.'):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
        if value is None:
            return None
    if source.split('.')[-1] in _DIGITS_ONLY and isinstance(value, str):
        value = _NOT_DIGIT.sub('', value)
    return value


def _line(record, context):
    values = {}
    for field in record.fields:
        if field.source:
            value = _resolve(field.source, context)
            if value is not None and value != '':
                values[field.name] = value
    try:
        return format_record(record, values)
    except CnabError as exc:
        raise CnabError('%s %s: %s' % (record.name,
                context.get('title_label', ''), exc)) from None


def build_remessa(bank, layout, company, titles, sequence, date):
    """Return the remessa file as bytes (ASCII, CRLF line ends).

    Trailer counts and sequence numbers are computed here."""
    family = _family(layout)
    if isinstance(date, datetime.datetime):
        date = date.date()
    base = {
        'bank': bank,
        'bank_name': BANK_SHORT_NAMES.get(bank),
        'bank_short_name': BANK_SHORT_NAMES.get(bank),
        'company': company,
        'sequence': sequence,
        'date': date,
        }
    if family == '240':
        lines = _build_240(bank, base, titles)
    else:
        lines = _build_400(bank, base, titles)
    return ''.join(line + '\r\n' for line in lines).encode('ascii')


def _title_context(base, bank, layout, title, number):
    context = dict(base)
    context.update(title)
    context['company'] = base['company']
    context['title_label'] = 'title %s (%s)' % (number,
        title.get('nosso_numero') or title.get('seu_numero') or '?')
    try:
        context['instruction_code'] = rem.instruction_code(bank, layout,
            title.get('instruction', 'new'))
    except ValueError as exc:
        raise CnabError(str(exc)) from None
    return context


def _build_240(bank, base, titles):
    header = _make('header_arquivo', 240, rem.HEADER_240)
    batch_header = _make('header_lote', 240, rem.BATCH_HEADER_240)
    seg_p = _make('segmento_p', 240, rem.SEGMENT_P)
    seg_q = _make('segmento_q', 240, rem.SEGMENT_Q)
    seg_r = _make('segmento_r', 240, rem.SEGMENT_R)
    batch_trailer = _make('trailer_lote', 240, rem.BATCH_TRAILER_240)
    trailer = _make('trailer_arquivo', 240, rem.TRAILER_240)
    lines = [_line(header, base), _line(batch_header, base)]
    record_sequence = 0
    for number, title in enumerate(titles, 1):
        context = _title_context(base, bank, '240', title, number)
        segments = [seg_p, seg_q]
        if (title.get('multa') or title.get('mensagem_3')
                or title.get('mensagem_4')):
            segments.append(seg_r)
        for segment in segments:
            record_sequence += 1
            context['record_sequence'] = record_sequence
            lines.append(_line(segment, context))
    context = dict(base, batch_records=record_sequence + 2)
    lines.append(_line(batch_trailer, context))
    context = dict(base, file_records=len(lines) + 1)
    lines.append(_line(trailer, context))
    return lines


def _build_400(bank, base, titles):
    details = rem.DETAILS_400.get(bank)
    if not details:
        raise CnabError('no CNAB 400 remessa layout for bank %s' % bank)
    header = _make('header', 400, rem.HEADERS_400.get(bank,
            rem.GENERIC_HEADER_400))
    detail = _make('detalhe', 400,
        details[rem.DETAIL_TYPE_400.get(bank, '1')])
    trailer = _make('trailer', 400, rem.TRAILERS_400.get(bank,
            rem.TRAILER_400))
    lines = [_line(header, dict(base, record_sequence=1))]
    total = 0
    for number, title in enumerate(titles, 1):
        context = _title_context(base, bank, '400', title, number)
        context['record_sequence'] = len(lines) + 1
        lines.append(_line(detail, context))
        total += title.get('valor') or 0
    lines.append(_line(trailer, dict(base, record_sequence=len(lines) + 1,
                title_count=len(titles), total_value=total)))
    return lines


_MONTH_CODES = '123456789OND'


def remessa_filename(bank, layout, date, sequence, company_code=None):
    "File name of a remessa, following the bank's convention when it has one"
    family = _family(layout)
    pattern = rem.FILENAMES.get((bank, family), rem.DEFAULT_FILENAME)
    if '{code5}' in pattern and not company_code:
        raise CnabError('bank %s names remessas after the beneficiary code: '
            'company_code is required' % bank)
    code5 = str(company_code or '').rjust(5, '0')
    if len(code5) > 5:
        raise CnabError('company_code %r is longer than 5' % company_code)
    seq2 = '%02d' % sequence
    if len(seq2) > 2 and '{seq2}' in pattern:
        raise CnabError('sequence %d does not fit the 2-digit file name '
            'sequence of bank %s' % (sequence, bank))
    return pattern.format(bank=bank, layout=family,
        dd=date.strftime('%d'), mm=date.strftime('%m'),
        yyyy=date.strftime('%Y'), seq2=seq2, seq4='%04d' % sequence,
        code5=code5, month_code=_MONTH_CODES[date.month - 1])
