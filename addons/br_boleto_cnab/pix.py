# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Pix BR Code (EMV QRCPS-MPM): TLV encode/decode, CRC16, validation.

BCB "Manual de Padrões para Iniciação do Pix" and research domain-rules
C.5/C.6. Policy taken from the vectors' expected results:
- every value must be printable ASCII (EMV "ans"); a non-ASCII city
  is rejected, so creators must strip accents first (normalize_text);
- the amount (tag 54) is digits with an optional '.' and at most two
  decimals ('10', '10.', '0.9' and '0.01' are accepted as written).
"""
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

__all__ = ['PixError', 'PixPayload', 'crc16', 'tlv_encode', 'tlv_decode',
    'encode', 'decode', 'normalize_text', 'GUI']

GUI = 'br.gov.bcb.pix'
# top-level and template tags in the order BCB writes them
TOP_ORDER = ['00', '01', '26', '52', '53', '54', '58', '59', '60', '61',
    '62', '80']
MAI_ORDER = ['00', '01', '02', '03', '25']
ADD_ORDER = ['05']
REC_ORDER = ['00', '25']
TEMPLATES = {'26', '62', '80'}
_AMOUNT = re.compile(r'^[0-9]+(\.[0-9]{0,2})?$')
_TXID = re.compile(r'^[A-Za-z0-9]{1,25}$')


class PixError(ValueError):
    "Invalid BR Code or input; the message names the field and why"


def crc16(data):
    "CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) as 4 uppercase hex"
    if isinstance(data, str):
        data = data.encode('utf-8')
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return '%04X' % crc


def normalize_text(text):
    "Strip accents and keep printable ASCII, for names and cities"
    text = unicodedata.normalize('NFKD', text or '')
    text = ''.join(c for c in text if not unicodedata.combining(c))
    return ''.join(c for c in text if ' ' <= c <= '~')


def _printable(value, name):
    if not all(' ' <= c <= '~' for c in value):
        raise PixError('%s: %r must be printable ASCII (EMV "ans")'
            % (name, value))


def tlv_encode(items):
    "Encode [(tag, value), ...]; a value may itself be a list of items"
    out = []
    for tag, value in items:
        if isinstance(value, list):
            value = tlv_encode(value)
        if not (len(tag) == 2 and tag.isdigit()):
            raise PixError('tag %r: must be 2 digits' % tag)
        if not 0 < len(value) <= 99:
            raise PixError('tag %s: length %d is not 1..99'
                % (tag, len(value)))
        out.append('%s%02d%s' % (tag, len(value), value))
    return ''.join(out)


def tlv_decode(text, where='payload'):
    "Decode TLV text into [(tag, value), ...] (flat), rejecting bad input"
    items, pos = [], 0
    while pos < len(text):
        head = text[pos:pos + 4]
        if len(head) < 4:
            raise PixError('%s: truncated TLV at position %d (%r)'
                % (where, pos, head))
        tag, size = head[:2], head[2:]
        if not (tag.isascii() and tag.isdigit()):
            raise PixError('%s: tag %r at position %d is not 2 digits'
                % (where, tag, pos))
        if not (size.isascii() and size.isdigit()):
            raise PixError('%s: tag %s length %r is not 2 digits'
                % (where, tag, size))
        size = int(size)
        value = text[pos + 4:pos + 4 + size]
        if size == 0 or len(value) < size:
            raise PixError('%s: tag %s declares length %d, %d available'
                % (where, tag, size, len(value)))
        items.append((tag, value))
        pos += 4 + size
    return items


@dataclass
class PixPayload:
    "Decoded BR Code fields; encode() rebuilds the payload"
    merchant_name: str = ''
    merchant_city: str = ''
    key: str = None
    url: str = None
    amount: str = None  # as written in tag 54 (see amount_decimal)
    txid: str = '***'
    info: str = None
    fss: str = None
    postal_code: str = None
    point_of_initiation: str = None
    gui: str = GUI
    mcc: str = '0000'
    currency: str = '986'
    country: str = 'BR'
    rec_gui: str = None
    rec_url: str = None
    crc: str = None
    # tag order as decoded, so a decoded payload re-encodes exactly
    order: dict = field(default_factory=dict, repr=False)
    # other (unreserved/unknown) tags, kept as raw values
    extra: dict = field(default_factory=dict)

    @property
    def amount_decimal(self):
        return Decimal(self.amount) if self.amount else None

    @property
    def dynamic(self):
        return bool(self.url)

    def as_dict(self):
        result = {k: getattr(self, k) for k in ('merchant_name',
                'merchant_city', 'key', 'url', 'amount', 'txid', 'info',
                'fss', 'postal_code', 'point_of_initiation', 'gui', 'mcc',
                'currency', 'country', 'rec_gui', 'rec_url', 'crc')}
        if self.extra:
            result['extra'] = dict(self.extra)
        return result

    def _values(self):
        mai = {'00': self.gui, '01': self.key, '02': self.info,
            '03': self.fss, '25': self.url}
        add = {'05': self.txid}
        rec = {'00': self.rec_gui, '25': self.rec_url}
        for tag, value in self.extra.items():
            if '-' in tag:
                parent, sub = tag.split('-', 1)
                {'26': mai, '62': add, '80': rec}[parent][sub] = value
        top = {'00': '01', '01': self.point_of_initiation, '52': self.mcc,
            '53': self.currency, '54': self.amount, '58': self.country,
            '59': self.merchant_name, '60': self.merchant_city,
            '61': self.postal_code}
        top.update({t: v for t, v in self.extra.items() if '-' not in t})
        return top, {'26': mai, '62': add, '80': rec}

    def _ordered(self, tag, values, default):
        order = list(self.order.get(tag, default))
        order += [t for t in default if t not in order]
        order += sorted(t for t in values if t not in order)
        return [(t, values[t]) for t in order if values.get(t)]

    def encode(self):
        "Return the payload string with a fresh CRC"
        top, templates = self._values()
        defaults = {'26': MAI_ORDER, '62': ADD_ORDER, '80': REC_ORDER}
        for tag, values in templates.items():
            items = self._ordered(tag, values, defaults[tag])
            if tag == '80' and not (self.rec_url or self.rec_gui):
                continue
            top[tag] = items
        items = self._ordered('', top, TOP_ORDER)
        if items[0][0] != '00':
            raise PixError('tag 00: must come first')
        body = tlv_encode(items) + '6304'
        return body + crc16(body)


def _check_amount(amount):
    if amount is None:
        return
    if len(amount) > 13 or not _AMOUNT.match(amount):
        raise PixError('amount (54): %r is not a number with at most 2 '
            'decimals and 13 characters' % amount)
    if Decimal(amount) <= 0:
        raise PixError('amount (54): %r must be positive' % amount)


def _check_url(url, name):
    if re.match(r'^[A-Za-z][A-Za-z0-9+.-]*://', url) or '://' in url:
        raise PixError('%s: %r must not include the protocol (https://)'
            % (name, url))
    if len(url) > 77:
        raise PixError('%s: %d characters, at most 77' % (name, len(url)))


def validate(payload):
    "Raise PixError when a PixPayload breaks the BR Code rules"
    if payload.gui.lower() != GUI:
        raise PixError('GUI (26-00): %r is not %s' % (payload.gui, GUI))
    if not (payload.key or payload.url or payload.rec_url):
        raise PixError('merchant account (26): needs a key (01) or a URL '
            '(25), or a Pix Automático URL (80-25)')
    if payload.key and payload.url:
        raise PixError('merchant account (26): key (01) and URL (25) '
            'cannot both be present')
    if payload.key is not None and not 0 < len(payload.key) <= 77:
        raise PixError('key (26-01): %d characters, 1..77 allowed'
            % len(payload.key))
    for name, value in (('URL (26-25)', payload.url),
            ('Pix Automático URL (80-25)', payload.rec_url)):
        if value is not None:
            _check_url(value, name)
    if payload.rec_url is not None or payload.rec_gui is not None:
        if (payload.rec_gui or '').lower() != GUI:
            raise PixError('Pix Automático GUI (80-00): %r is not %s'
                % (payload.rec_gui, GUI))
        if not payload.rec_url:
            raise PixError('Pix Automático (80): URL (25) is missing')
    if payload.point_of_initiation not in (None, '11', '12'):
        raise PixError('point of initiation (01): %r is not 11 or 12'
            % payload.point_of_initiation)
    if not (len(payload.mcc) == 4 and payload.mcc.isdigit()):
        raise PixError('MCC (52): %r is not 4 digits' % payload.mcc)
    if payload.currency != '986':
        raise PixError('currency (53): %r is not 986 (BRL)'
            % payload.currency)
    if payload.country != 'BR':
        raise PixError('country (58): %r is not BR' % payload.country)
    _check_amount(payload.amount)
    if not 0 < len(payload.merchant_name or '') <= 25:
        raise PixError('merchant name (59): %d characters, 1..25 allowed'
            % len(payload.merchant_name or ''))
    if not 0 < len(payload.merchant_city or '') <= 15:
        raise PixError('merchant city (60): %d characters, 1..15 allowed'
            % len(payload.merchant_city or ''))
    if payload.postal_code is not None and not (
            len(payload.postal_code) <= 99):
        raise PixError('postal code (61): too long')
    if payload.txid != '***' and not _TXID.match(payload.txid or ''):
        raise PixError('txid (62-05): %r must be "***" or 1..25 letters '
            'and digits' % payload.txid)
    for name, value in payload.as_dict().items():
        if isinstance(value, str):
            _printable(value, name)
    for tag, value in payload.extra.items():
        _printable(value, 'tag %s' % tag)


_MAI = {'00': 'gui', '01': 'key', '02': 'info', '03': 'fss', '25': 'url'}
_ADD = {'05': 'txid'}
_REC = {'00': 'rec_gui', '25': 'rec_url'}
_TOP = {'01': 'point_of_initiation', '52': 'mcc', '53': 'currency',
    '54': 'amount', '58': 'country', '59': 'merchant_name',
    '60': 'merchant_city', '61': 'postal_code'}
_MANDATORY = {'00': 'payload format indicator', '26': 'merchant account '
    'information (Pix)', '52': 'merchant category code', '53': 'currency',
    '58': 'country code', '59': 'merchant name', '60': 'merchant city',
    '62': 'additional data (txid)'}


def decode(text):
    "Decode and validate a BR Code; return a PixPayload"
    if not isinstance(text, str):
        raise PixError('payload: must be text')
    text = text.strip()
    if len(text) < 8 or text[-8:-4] != '6304':
        raise PixError('CRC (63): payload must end with 6304 and 4 hex '
            'digits')
    got = text[-4:]
    expected = crc16(text[:-4])
    if got.upper() != expected:
        raise PixError('CRC (63): expected %s, got %s' % (expected, got))
    items = tlv_decode(text)
    tags = [t for t, _ in items]
    if tags[-1] != '63':
        raise PixError('CRC (63): must be the last field')
    if tags[0] != '00' or items[0][1] != '01':
        raise PixError('payload format indicator (00): must be first and '
            'equal 01')
    if len(set(tags)) != len(tags):
        raise PixError('payload: duplicated tag(s) %s' % sorted(
                {t for t in tags if tags.count(t) > 1}))
    missing = [t for t in _MANDATORY if t not in tags]
    if missing:
        raise PixError('payload: missing mandatory tag(s) %s' % ', '.join(
                '%s (%s)' % (t, _MANDATORY[t]) for t in missing))
    payload = PixPayload(crc=got, txid=None, gui=None, mcc=None,
        currency=None, country=None)
    payload.order[''] = tags[:-1]
    subs = {'26': _MAI, '62': _ADD, '80': _REC}
    for tag, value in items[:-1]:
        if tag in subs:
            sub_items = tlv_decode(value, 'tag %s' % tag)
            sub_tags = [t for t, _ in sub_items]
            if len(set(sub_tags)) != len(sub_tags):
                raise PixError('tag %s: duplicated sub-tag' % tag)
            payload.order[tag] = sub_tags
            for sub, sub_value in sub_items:
                name = subs[tag].get(sub)
                if name:
                    setattr(payload, name, sub_value)
                else:
                    payload.extra['%s-%s' % (tag, sub)] = sub_value
        elif tag in _TOP:
            setattr(payload, _TOP[tag], value)
        elif tag != '00':
            payload.extra[tag] = value
    if payload.gui is None:
        raise PixError('GUI (26-00): missing')
    if payload.txid is None:
        raise PixError('txid (62-05): missing')
    validate(payload)
    return payload


def encode(name, city, key=None, url=None, amount=None, txid=None,
        info=None, fss=None, postal_code=None, unique=False, rec_url=None,
        mcc='0000'):
    """Build a BR Code; static with key, dynamic with url (no scheme).

    amount is a Decimal (or None for a payer-chosen amount)."""
    if amount is not None:
        if isinstance(amount, float):
            raise PixError('amount: %r is a float, use Decimal' % amount)
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            raise PixError('amount: %r is not a number' % (amount,))
        if not value.is_finite() or value != value.quantize(Decimal('0.01')):
            raise PixError('amount: %r must have at most 2 decimals'
                % (amount,))
        amount = '%.2f' % value
    payload = PixPayload(merchant_name=name, merchant_city=city, key=key,
        url=url, amount=amount, txid=txid or '***', info=info, fss=fss,
        postal_code=postal_code, point_of_initiation='12' if unique else None,
        rec_gui=GUI if rec_url else None, rec_url=rec_url, mcc=mcc)
    validate(payload)
    text = payload.encode()
    decode(text)  # a payload we cannot read back is a bug, not output
    return text
