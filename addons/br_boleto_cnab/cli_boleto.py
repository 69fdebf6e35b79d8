# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""`ciclo boleto` commands and the boleto vectors conformance check."""
import datetime as dt
import json
import re
import sys
from dataclasses import MISSING, fields
from decimal import Decimal, InvalidOperation

from ciclo.conformance import check_csv_rows

from .boleto import BoletoError, parse, typed_line
from .boleto_banks import make_boleto

__all__ = ['register', 'conformance_boleto', 'parse_note',
    'document_from_json']

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=([^\s;,()']+)")


def _snake(name):
    return re.sub(r'(?<=[a-z0-9])([A-Z])', r'_\1', name).lower()


def parse_note(note):
    """Return the key=value inputs of a vectors `note` cell.

    Top-level items are split on ';'; the free-text `note=` item is
    scanned for key=value tokens (camelCase keys become snake_case)."""
    extra = {}
    for item in (note or '').split(';'):
        key, sep, value = item.strip().partition('=')
        if not sep:
            continue
        if key == 'note':
            for key_, value_ in _TOKEN.findall(value):
                extra.setdefault(_snake(key_), value_)
        else:
            extra[_snake(key)] = value.strip()
    return extra


def _date(value, name):
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BoletoError('%s: %r is not a YYYY-MM-DD date' % (name, value))


def _amount(value):
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        raise BoletoError('valor: %r is not a number' % (value,))
    if not amount.is_finite():
        raise BoletoError('valor: %r is not a number' % (value,))
    return amount


# The vectors transcribe each source library's own arguments, and the
# libraries name the same bank field differently. Rows: (source repository,
# bank, our input, the source's column, where the source reads it).
SOURCE_FIELDS = [
    ('Trust-Code/python-boleto', '041', 'codigo_beneficiario', 'conta',
        'pyboleto/bank/banrisul.py campo_livre reads conta_cedente; '
        'its convenio is a BoletoData attribute Banrisul never reads'),
    ]


def _source_inputs(row):
    "Return the inputs a row's source library names its own way"
    source = (row.get('source') or '').split('@', 1)[0].strip()
    bank = (row.get('bank') or '').strip().zfill(3)
    return {field: row.get(column) or ''
        for repo, code, field, column, _ in SOURCE_FIELDS
        if repo == source and code == bank}


def _check_row(row):
    "Return a list of failure reasons for one vectors row"
    errors = []
    extra = parse_note(row.get('note'))
    extra.update(_source_inputs(row))
    due = _date(row.get('vencimento'), 'vencimento')
    amount = _amount(row.get('valor'))
    boleto = make_boleto(row.get('bank', ''), due, amount,
        agencia=row.get('agencia'), conta=row.get('conta'),
        carteira=row.get('carteira'), nosso_numero=row.get('nosso_numero'),
        convenio=row.get('convenio'), extra=extra)
    expected_bar = (row.get('barcode') or '').strip()
    expected_line = re.sub(r'[\s.]', '', row.get('linha_digitavel') or '')
    if not expected_bar and not expected_line:
        errors.append('row gives neither barcode nor linha_digitavel')
    if expected_bar and boleto.barcode != expected_bar:
        errors.append('barcode: computed %s, expected %s'
            % (boleto.barcode, expected_bar))
    if expected_line and boleto.typed_line != expected_line:
        errors.append('linha: computed %s, expected %s'
            % (boleto.typed_line, expected_line))
    # decode what the row gives, centred on its own due date
    for given in filter(None, (expected_line, expected_bar)):
        try:
            decoded = parse(given, due)
        except BoletoError as exc:
            errors.append('decode %s: %s' % (given, exc))
            continue
        if decoded.due_date != due:
            errors.append('decode: due date %s, expected %s'
                % (decoded.due_date, due))
        if decoded.amount != amount:
            errors.append('decode: amount %s, expected %s'
                % (decoded.amount, amount))
        factor = extra.get('fator_vencimento')
        if factor and decoded.factor != factor.zfill(4):
            errors.append('decode: fator %s, expected %s'
                % (decoded.factor, factor))
        if decoded.bank != boleto.bank:
            errors.append('decode: bank %s, expected %s'
                % (decoded.bank, boleto.bank))
    if expected_bar and expected_line:
        try:
            if typed_line(expected_bar) != expected_line:
                errors.append('row barcode and linha disagree')
        except BoletoError as exc:
            errors.append('row barcode: %s' % exc)
    return errors


def conformance_boleto(path, root=None):
    """Check every row of a boleto vectors CSV; return (passed, failed)."""
    return check_csv_rows(path, _check_row, label=lambda row: 'bank %s' % row.get('bank'), root=root)


def _extra(items):
    extra = {}
    for item in items or ():
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise BoletoError('--extra: %r is not key=value' % item)
        extra[key.strip()] = value.strip()
    return extra


def _make(args):
    try:
        boleto = make_boleto(args.bank, _date(args.vencimento, 'vencimento'),
            _amount(args.valor), agencia=args.agencia, conta=args.conta,
            carteira=args.carteira, nosso_numero=args.nosso_numero,
            convenio=args.convenio, extra=_extra(args.extra))
    except BoletoError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(boleto.as_dict(), indent=2, ensure_ascii=False))
    else:
        print('barcode: %s' % boleto.barcode)
        print('linha:   %s' % boleto.typed_line_formatted)
        if boleto.nosso_numero:
            print('nosso número: %s' % boleto.nosso_numero)
    return 0


def _decode(args):
    try:
        reference = (_date(args.reference, '--reference')
            if args.reference else dt.date.today())
        boleto = parse(args.code, reference)
    except BoletoError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    result = boleto.as_dict()
    del result['nosso_numero']
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        for key in ('bank', 'due_date', 'factor', 'amount', 'free_field',
                'barcode', 'typed_line_formatted'):
            print('%s: %s' % (key, result[key]))
    return 0


_PARTY_KEYS = {'name', 'tax_id', 'address'}
_MAKE_KEYS = {'agencia', 'conta', 'convenio', 'extra'}
_DATE_KEYS = ('document_date', 'processing_date', 'due_date')
_DECIMAL_KEYS = ('amount', 'fine_percent', 'interest_monthly_percent')


def _party(value, name):
    if not isinstance(value, dict) or set(value) - _PARTY_KEYS:
        raise BoletoError('%s: must be an object with name, tax_id and '
            'address (a list of lines)' % name)
    from .boleto_pdf import Party
    return Party(name=value.get('name', ''), tax_id=value.get('tax_id', ''),
        address=tuple(value.get('address') or ()))


def document_from_json(data, where='document'):
    """Return the BoletoDocument of one JSON object.

    Keys are BoletoDocument's fields (dates YYYY-MM-DD, amounts as
    strings); without `barcode`, the barcode and printed nosso número are
    computed from bank, agencia, conta, carteira, nosso_numero, convenio
    and extra, as `ciclo boleto make` does."""
    from .boleto_pdf import BoletoDocument  # see _pdf
    if not isinstance(data, dict):
        raise BoletoError('%s: must be a JSON object' % where)
    known = {f.name for f in fields(BoletoDocument)} | _MAKE_KEYS
    unknown = sorted(set(data) - known)
    if unknown:
        raise BoletoError('%s: unknown keys %s' % (where, ', '.join(unknown)))
    computed = set() if data.get('barcode') else {'barcode'}
    missing = sorted(f.name for f in fields(BoletoDocument)
        if f.default is MISSING and f.default_factory is MISSING
        and f.name not in data and f.name not in computed)
    if missing:
        raise BoletoError('%s: missing keys %s' % (where, ', '.join(missing)))
    values = {k: v for k, v in data.items() if k not in _MAKE_KEYS}
    for key in _DATE_KEYS:
        values[key] = _date(values.get(key), '%s.%s' % (where, key))
    for key in _DECIMAL_KEYS:
        if values.get(key) is not None:
            values[key] = _amount(str(values[key]))
    for key in ('beneficiary', 'payer', 'guarantor'):
        if values.get(key) is not None:
            values[key] = _party(values[key], '%s.%s' % (where, key))
    for key in ('instructions', 'description'):
        values[key] = tuple(values.get(key) or ())
    if not values.get('barcode'):
        boleto = make_boleto(data.get('bank', ''), values['due_date'],
            values['amount'], agencia=data.get('agencia'),
            conta=data.get('conta'), carteira=data.get('carteira'),
            nosso_numero=data.get('nosso_numero'),
            convenio=data.get('convenio'), extra=data.get('extra'))
        values['barcode'] = boleto.barcode
        values['nosso_numero'] = boleto.nosso_numero
    return BoletoDocument(**values)


def _pdf(args):
    # imported here: the other boleto commands must not need ReportLab
    from .boleto_pdf import render_boleto_pdf
    try:
        with open(args.fields, encoding='utf-8') as file:
            data = json.load(file)
        items = data if isinstance(data, list) else [data]
        documents = [document_from_json(item, 'document %d' % i)
            for i, item in enumerate(items, 1)]
        pdf = render_boleto_pdf(documents)
    except (OSError, ValueError) as exc:
        # BoletoError and json's errors are ValueErrors
        print('error: %s' % exc, file=sys.stderr)
        return 1
    with open(args.output, 'wb') as file:
        file.write(pdf)
    print('%s: %d page(s)' % (args.output, len(documents)))
    return 0


def register(subparsers):
    "Add the `boleto` command group to an argparse subparsers object"
    parser = subparsers.add_parser('boleto', help='boleto barcode tools')
    commands = parser.add_subparsers(dest='boleto_command', metavar='command')
    commands.required = True

    make = commands.add_parser('make',
        help='compute barcode and linha digitável')
    make.add_argument('--bank', required=True, help='bank code, e.g. 341')
    make.add_argument('--agencia', default='')
    make.add_argument('--conta', default='')
    make.add_argument('--carteira', default='')
    make.add_argument('--nosso-numero', dest='nosso_numero', required=True)
    make.add_argument('--convenio', default='')
    make.add_argument('--vencimento', required=True, help='YYYY-MM-DD')
    make.add_argument('--valor', required=True, help='e.g. 135.00')
    make.add_argument('--extra', action='append', metavar='KEY=VALUE',
        help='bank-specific input (posto, byte_idt, seu_numero, ...)')
    make.add_argument('--json', action='store_true')
    make.set_defaults(func=_make)

    decode = commands.add_parser('decode',
        help='decode a linha digitável or barcode')
    decode.add_argument('code', help='47-digit linha or 44-digit barcode')
    decode.add_argument('--reference', help='YYYY-MM-DD centre of the '
        'due-date window (default: today)')
    decode.add_argument('--json', action='store_true')
    decode.set_defaults(func=_decode)

    pdf = commands.add_parser('pdf',
        help='render boleto PDF pages from a JSON file of fields')
    pdf.add_argument('fields', help='JSON object (or list of objects) '
        'with BoletoDocument fields; see document_from_json')
    pdf.add_argument('-o', '--output', required=True, help='PDF to write')
    pdf.set_defaults(func=_pdf)
    return parser
