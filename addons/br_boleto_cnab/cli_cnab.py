# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""`ciclo cnab ...` commands and the CNAB conformance checks."""
import csv
import datetime
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

from .cnab import CnabError, parse_file, parse_retorno
from .cnab_layouts import BANK_NAMES

AMOUNT_COLUMNS = frozenset(('valor_titulo', 'valor_pago', 'valor_tarifa',
        'juros_mora', 'desconto', 'abatimento', 'iof', 'outras_despesas',
        'outros_creditos'))
RECORD_COLUMNS = ('nosso_numero', 'valor_titulo', 'valor_pago',
    'data_ocorrencia', 'data_credito', 'data_vencimento', 'codigo_ocorrencia',
    'valor_tarifa', 'juros_mora', 'desconto', 'abatimento', 'banco_recebedor',
    'agencia_recebedora', 'motivo_ocorrencia')
# Names the sources use for the same fields
ALIASES = {
    'outros_recebimento': 'outros_creditos',
    'iof_desconto': 'iof',
    'codigo_registro': 'tipo_registro',
    'valor_recebido': 'valor_pago',
    }


def register(subparsers):
    "Add the `cnab` command group to an argparse subparsers object"
    cnab = subparsers.add_parser('cnab', help='CNAB 240/400 files')
    sub = cnab.add_subparsers(dest='cnab_command')
    sub.required = True
    parse = sub.add_parser('parse', help='parse a retorno (or remessa) '
        'file and print it as JSON')
    parse.add_argument('file')
    parse.add_argument('--bank', help='bank code of the account, when the '
        'header names another bank')
    parse.add_argument('--lenient', action='store_true',
        help='report trailer count mismatches as warnings')
    parse.set_defaults(func=cmd_parse)
    return cnab


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def _typed(record):
    try:
        return {k: _json_value(v) for k, v in record.typed().items()}
    except ValueError:
        return None


def cmd_parse(args):
    "Print a CNAB file as JSON; errors go to stderr with their lines"
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print('%s: %s' % (args.file, exc), file=sys.stderr)
        return 1
    try:
        result = parse_file(data, bank=args.bank, strict=not args.lenient)
    except CnabError as exc:
        for line, reason in exc.errors:
            print('%s:%s: %s' % (args.file, line or '-', reason),
                file=sys.stderr)
        return 1
    out = {
        'layout': result.layout,
        'kind': result.kind,
        'bank_code': result.bank_code,
        'header_bank_code': result.header_bank_code,
        'bank_name': result.bank_name,
        'file_date': _json_value(result.file_date),
        'header': {'raw': dict(result.header), 'typed': _typed(result.header)}
        if result.header else None,
        'trailer': {'raw': dict(result.trailer),
            'typed': _typed(result.trailer)} if result.trailer else None,
        'records': [{'line': r.line, 'raw': dict(r), 'typed': _typed(r)}
            for r in result.records],
        'warnings': [{'line': n, 'reason': m} for n, m in result.warnings],
        }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write('\n')
    return 0


def _motivos(value):
    "Reason codes as pairs, without blanks and '00' (as the sources do)"
    value = value.strip()
    pairs = [value[i:i + 2] for i in range(0, len(value), 2)]
    return ','.join(p for p in pairs if p.strip() and p != '00')


def _same(column, expected, got):
    if got is None:
        return False
    got = got.strip()
    expected = expected.strip()
    if column in AMOUNT_COLUMNS and expected.isdigit() and got.isdigit():
        return int(expected) == int(got)
    if column == 'motivo_ocorrencia':
        return _motivos(expected) == _motivos(got)
    return expected == got


def _other_stated(text):
    items = []
    for part in text.split(';'):
        if '=' not in part:
            continue
        key, value = part.split('=', 1)
        # "2 (PIX record)": the note in brackets is not the value
        value = value.split(' (')[0]
        items.append((key.strip(), value.strip()))
    return items


def _leading_int(text):
    match = re.match(r'\s*(\d+)', text or '')
    return int(match.group(1)) if match else None


def _pick(result, index_text):
    """The record a source's index names.

    brcobranca lists every line after the header (1-based here, as the CSV
    states), and CNAB 240 T+U pairs as one record; "N (except header)"
    counts file lines with the header as line 1."""
    index = _leading_int(index_text)
    if index is None:
        return None
    if 'except header' in index_text:
        for record in result.records:
            if record.line == index:
                return record
        return None
    if 1 <= index <= len(result.records):
        return result.records[index - 1]
    return None


def _records_parsed(result):
    # brcobranca counts the 400 trailer as a record, not the header
    if result.layout == 'CNAB240':
        return len(result.records)
    return len(result.records) + (1 if result.trailer else 0)


def _layout_ok(expected, got):
    token = expected.split()[0] if expected.strip() else ''
    if not token:
        return True
    return token == got or (token == 'CNAB400' and got == 'CBR643')


def _fail(number, file, field, expected, got):
    print('row %s: %s: %s: expected %r, got %r'
        % (number, file, field, expected, got))


def _conformance_rows(path, root, check_row):
    """Run check_row(number, row, root) → bool over every CSV row.

    check_row prints its own failures; a row that raises counts as
    failed: a broken row must not stop the run."""
    path = Path(path)
    root = Path(root) if root else path.parent
    passed = failed = 0
    with path.open(newline='', encoding='utf-8') as fh:
        rows = list(csv.DictReader(fh))
    for number, row in enumerate(rows, 1):
        try:
            ok = check_row(number, row, root)
        except Exception as exc:
            _fail(number, row.get('file', ''), 'exception', '', '%s: %s'
                % (type(exc).__name__, exc))
            ok = False
        if ok:
            passed += 1
        else:
            failed += 1
    return passed, failed


def conformance_cnab(path, root=None):
    "Check expected.csv record values; return (passed, failed)"
    return _conformance_rows(path, root, _check_row)


def _check_row(number, row, root):
    file = row['file']
    bank = (row.get('bank') or '').strip() or None
    try:
        result = parse_retorno((root / file).read_bytes(), bank=bank)
    except CnabError as exc:
        _fail(number, file, 'parse', 'parses', str(exc).replace('\n', '; '))
        return False
    ok = True

    def check(field, expected, got, same=None):
        nonlocal ok
        good = same(expected, got) if same else expected == got
        if not good:
            _fail(number, file, field, expected, got)
            ok = False

    check('layout', row.get('layout', ''), result.layout,
        lambda e, g: _layout_ok(e, g))
    if bank:
        check('bank', bank, result.bank_code)
    count = row.get('records_parsed', '').strip()
    if count.isdigit():
        check('records_parsed', int(count), _records_parsed(result))
    elif _leading_int(count) is not None and 'details' in count:
        check('records_parsed', _leading_int(count), len(result.titles))
    record = _pick(result, row.get('record_index', ''))
    if record is None:
        _fail(number, file, 'record_index', row.get('record_index'),
            'no such record (%d parsed)' % len(result.records))
        return False
    for column in RECORD_COLUMNS:
        expected = (row.get(column) or '').strip()
        if not expected:
            continue
        got = record.get(column)
        check(column, expected, got,
            lambda e, g, c=column: _same(c, e, g))
    for key, expected in _other_stated(row.get('other_stated', '')):
        name = ALIASES.get(key, key)
        if name not in record:
            continue  # not a field of this bank's layout: not mapped
        got = record.get(name)
        check(key, expected, got,
            lambda e, g, c=name: _same(c if c in AMOUNT_COLUMNS
                or c == 'motivo_ocorrencia' else '', e, g))
    return ok


def conformance_cnab_files(path, root=None):
    "Check expected_file_level.csv; return (passed, failed)"
    return _conformance_rows(path, root, _check_file_row)


def _check_file_row(number, row, root):
    file = row['file']
    outcome = (row.get('expected_outcome') or '').strip().lower()
    data = (root / file).read_bytes()
    if outcome.startswith('rejected'):
        try:
            result = parse_retorno(data)
        except CnabError:
            return True
        _fail(number, file, 'outcome', 'rejected', 'parsed (%s %s)'
            % (result.layout, result.bank_code))
        return False
    if not outcome.startswith('parses'):
        # No assertion in the source: it must parse or be rejected
        # cleanly (CnabError), never crash.
        try:
            parse_retorno(data)
        except CnabError:
            pass
        return True
    try:
        result = parse_retorno(data)
    except CnabError as exc:
        _fail(number, file, 'outcome', 'parses',
            str(exc).replace('\n', '; '))
        return False
    ok = True

    def check(field, expected, got):
        nonlocal ok
        if expected != got:
            _fail(number, file, field, expected, got)
            ok = False

    layout = (row.get('layout') or '').strip()
    if layout and not _layout_ok(layout, result.layout):
        check('layout', layout, result.layout)
    code = (row.get('expected_bank_code') or '').strip()
    if code:
        check('bank_code', code, result.bank_code)
    name = (row.get('expected_bank_name') or '').strip()
    if name:
        check('bank_name', name, BANK_NAMES.get(result.bank_code))
    for column, got in (('trailer_avisos', result.avisos),
            ('trailer_quantidade_liquidados', result.liquidados),
            ('detalhes_count', len(result.titles))):
        expected = (row.get(column) or '').strip()
        if expected.isdigit():
            check(column, int(expected), got)
    ok = _check_notes(number, file, row.get('other_stated') or '',
        result) and ok
    return ok


def _check_notes(number, file, text, result):
    "The free-text assertions the sources state, where they can be read"
    ok = True
    titles = result.titles
    match = re.search(r"first detalhe hasOcorrencia\('(\w+)'\)=true", text)
    if match:
        got = titles[0].get('codigo_ocorrencia', '').strip() if titles \
            else None
        if got != match.group(1):
            _fail(number, file, 'first codigo_ocorrencia', match.group(1),
                got)
            ok = False
    pix = [r for r in result.records if r.get('txid', '').strip()
        or r.get('codigo_chave_dict', '').strip()]
    if 'no PIX data' in text and pix:
        _fail(number, file, 'pix', 'none', len(pix))
        ok = False
    if 'non-null id and pixLocation' in text and not pix:
        _fail(number, file, 'pix', 'PIX record', 'none')
        ok = False
    return ok
