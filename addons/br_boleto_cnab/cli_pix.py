# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""`ciclo pix` commands and the BR Code vectors conformance check."""
import json
import re
import sys
from decimal import Decimal, InvalidOperation

from ciclo.conformance import check_csv_rows

from .pix import PixError, decode, encode

__all__ = ['register', 'conformance_pix']

# vectors column -> PixPayload attribute
COLUMNS = {
    'chave': 'key',
    'url': 'url',
    'valor': 'amount',
    'txid': 'txid',
    'merchant_name': 'merchant_name',
    'merchant_city': 'merchant_city',
    'info_adicional': 'info',
    'point_of_initiation': 'point_of_initiation',
    'crc': 'crc',
    }
# facts stated in the notes column, e.g. "fss (tag 26-03)=99999008"
NOTES = {'fss': 'fss', 'urlrec': 'rec_url', 'postal_code': 'postal_code'}
_NOTE = re.compile(r'(\w+)(?: \(tag [\d-]+\))?=([^\s;,()]+)')


def _check_row(row):
    payload = row.get('payload') or ''
    expected = (row.get('expected_result') or '').strip()
    if expected.startswith('error'):
        try:
            decode(payload)
        except PixError:
            return []
        return ['accepted, but expected %s' % expected]
    if expected != 'valid':
        return ['unknown expected_result %r' % expected]
    try:
        decoded = decode(payload)
    except PixError as exc:
        return ['rejected: %s' % exc]
    errors = []
    for column, attr in COLUMNS.items():
        want = (row.get(column) or '').strip() or None
        got = getattr(decoded, attr)
        if want != got:
            errors.append('%s: decoded %r, expected %r' % (column, got, want))
    for key, value in _NOTE.findall(row.get('notes') or ''):
        attr = NOTES.get(key.lower())
        if attr and getattr(decoded, attr) != value:
            errors.append('%s: decoded %r, notes say %r'
                % (key, getattr(decoded, attr), value))
    again = decoded.encode()
    if again != payload:
        errors.append('re-encoded %s differs' % again)
    return errors


def conformance_pix(path, root=None):
    """Check every row of a Pix vectors CSV; return (passed, failed)."""
    return check_csv_rows(path, _check_row, root=root)


def _encode(args):
    try:
        amount = None
        if args.amount is not None:
            try:
                amount = Decimal(args.amount)
            except InvalidOperation:
                raise PixError('amount: %r is not a number' % args.amount)
        if bool(args.key) == bool(args.url):
            raise PixError('give either --key (static) or --url (dynamic)')
        payload = encode(args.name, args.city, key=args.key, url=args.url,
            amount=amount, txid=args.txid, info=args.info,
            unique=args.unique, rec_url=args.rec_url)
    except PixError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    print(payload)
    return 0


def _decode(args):
    try:
        payload = decode(args.payload)
    except PixError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    print(json.dumps(payload.as_dict(), indent=2, ensure_ascii=False))
    return 0


def register(subparsers):
    "Add the `pix` command group to an argparse subparsers object"
    parser = subparsers.add_parser('pix', help='Pix BR Code tools')
    commands = parser.add_subparsers(dest='pix_command', metavar='command')
    commands.required = True

    enc = commands.add_parser('encode', help='build a BR Code payload')
    enc.add_argument('--key', help='Pix key (static payload)')
    enc.add_argument('--url', help='payload URL without scheme (dynamic)')
    enc.add_argument('--name', required=True, help='merchant name, <= 25')
    enc.add_argument('--city', required=True, help='merchant city, <= 15')
    enc.add_argument('--amount', help='e.g. 10.50')
    enc.add_argument('--txid', help='up to 25 letters and digits')
    enc.add_argument('--info', help='additional information (26-02)')
    enc.add_argument('--unique', action='store_true',
        help='single use (point of initiation 12)')
    enc.add_argument('--rec-url', dest='rec_url',
        help='Pix Automático recurrence URL (field 80)')
    enc.set_defaults(func=_encode)

    dec = commands.add_parser('decode', help='decode and validate a payload')
    dec.add_argument('payload')
    dec.set_defaults(func=_decode)
    return parser
