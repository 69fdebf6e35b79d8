# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""CNAB 240/400 fixed-width engine (plain Python, no ORM).

Layouts are data (cnab_layouts*.py): rows of Field(name, start, end, kind,
default, source) with 1-based inclusive positions as in the bank manuals.

The file parser (parse_file, parse_retorno) is in cnab_file.py.
"""
import datetime
import unicodedata
from collections import namedtuple
from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from operator import itemgetter

__all__ = ['CnabError', 'Field', 'Record', 'Layout', 'format_record',
    'read_record', 'parse_file', 'parse_retorno', 'RetornoFile', 'Detail',
    'to_ascii', 'convert', 'check_line', 'bulk_valid']

KINDS = ('num', 'alpha', 'date6', 'date8', 'amount')
NUMERIC_KINDS = frozenset(('num', 'date6', 'date8', 'amount'))



class CnabError(ValueError):
    "A CNAB file or value is invalid; `errors` lists (line, reason)"

    def __init__(self, errors):
        if isinstance(errors, str):
            errors = [(None, errors)]
        self.errors = list(errors)
        super().__init__('\n'.join(
                ('line %s: %s' % (n, m)) if n else m for n, m in self.errors))


class Field(namedtuple('Field', 'name start end kind default source')):
    "One field of a record: 1-based inclusive positions"
    __slots__ = ()

    def __new__(cls, name, start, end, kind='alpha', default=None,
            source=None):
        if kind not in KINDS:
            raise ValueError('unknown kind %r for %s' % (kind, name))
        if end < start:
            raise ValueError('field %s ends before it starts' % name)
        return super().__new__(cls, name, start, end, kind, default, source)

    @property
    def size(self):
        return self.end - self.start + 1


def _getter(slices):
    "A callable returning the tuple of slices of a line"
    if not slices:
        return lambda line: ()
    if len(slices) == 1:
        only = slices[0]
        return lambda line: (line[only],)
    return itemgetter(*slices)


class Record:
    "A record type: its fields and precomputed slices"

    def __init__(self, name, length, fields):
        self.name = name
        self.length = length
        self.fields = list(fields)
        self.by_name = {f.name: f for f in self.fields}
        if len(self.by_name) != len(self.fields):
            raise ValueError('duplicate field name in %s' % name)
        for f in self.fields:
            if f.end > length:
                raise ValueError('field %s of %s beyond %d'
                    % (f.name, name, length))
        # Precomputed for speed: one C-level itemgetter call slices a line
        self.slices = tuple((f.name, f.start - 1, f.end) for f in self.fields)
        self.names = tuple(f.name for f in self.fields)
        self.getter = _getter([slice(f.start - 1, f.end)
                for f in self.fields])
        self.checks = tuple((f.name, f.start - 1, f.end, f.kind)
            for f in self.fields if f.kind in NUMERIC_KINDS)
        # Adjacent numeric fields are checked as one block (fewer slices)
        blocks = []
        for _, start, end, _ in sorted(self.checks, key=lambda c: c[1]):
            if blocks and blocks[-1][1] == start:
                blocks[-1][1] = end
            elif not blocks or blocks[-1][1] < start:
                blocks.append([start, end])
            else:
                blocks[-1][1] = max(blocks[-1][1], end)
        self.num_getter = _getter([slice(s, e) for s, e in blocks])
        self.date_slices = tuple(slice(s, e) for _, s, e, k in self.checks
            if k in ('date6', 'date8'))
        self.date_kinds = tuple(k for _, _, _, k in self.checks
            if k in ('date6', 'date8'))
        self.date_getter = _getter(list(self.date_slices))
        self.has_sequence = 'sequencial' in self.by_name
        self._index = None

    def index(self, kinds):
        "The FieldIndex of this record alone (cached per kinds table)"
        if self._index is None or self._index.kinds is not kinds:
            self._index = FieldIndex((self,), kinds)
        return self._index

    def replace(self, *fields, name=None):
        "Return a copy with fields replaced (by name) or added"
        new = {f.name: f for f in self.fields}
        for f in fields:
            new[f.name] = f
        return Record(name or self.name, self.length,
            sorted(new.values(), key=lambda f: (f.start, f.name)))


class Layout:
    "A file layout: record types by key, and its record length"

    def __init__(self, name, length, records, bank=None, source=None):
        self.name = name
        self.length = length
        self.records = dict(records)
        self.bank = bank
        self.source = source
        self.kinds = {}
        self.batch_count = 'all'


def to_ascii(value):
    "Uppercase ASCII without accents, as banks require for alpha fields"
    value = unicodedata.normalize('NFKD', str(value))
    value = value.encode('ascii', 'ignore').decode('ascii')
    return value.upper()


def _format(field, value):
    size = field.size
    if value is None:
        value = field.default
    kind = field.kind
    if kind == 'alpha':
        text = to_ascii('' if value is None else value)
        if len(text) > size:
            raise CnabError('field %s (%d-%d) is %d characters, max %d: %r'
                % (field.name, field.start, field.end, len(text), size, text))
        return text.ljust(size)
    if value is None or value == '':
        return '0' * size
    if kind == 'amount':
        if isinstance(value, float):
            raise CnabError('field %s: money must be Decimal, not float'
                % field.name)
        try:
            value = Decimal(value)
        except (ArithmeticError, TypeError, ValueError):
            raise CnabError('field %s: not an amount: %r'
                % (field.name, value)) from None
        if not value.is_finite():
            raise CnabError('field %s: not an amount: %r'
                % (field.name, value))
        cents = value.scaleb(2)
        if cents != cents.to_integral_value():
            raise CnabError('field %s: %s has more than 2 decimals'
                % (field.name, value))
        if cents < 0:
            raise CnabError('field %s: negative amount %s' % (field.name,
                    value))
        text = str(int(cents))
    elif kind in ('date6', 'date8'):
        if isinstance(value, (datetime.date, datetime.datetime)):
            if kind == 'date8':
                text = '%02d%02d%04d' % (value.day, value.month, value.year)
            elif 1980 <= value.year <= 2079:
                # The window _date() reads two-digit years back into
                text = '%02d%02d%02d' % (value.day, value.month,
                    value.year % 100)
            else:
                raise CnabError('field %s: %s cannot be written with a '
                    'two-digit year' % (field.name, value))
        else:
            text = str(value)
    else:
        text = str(value)
        if isinstance(value, int) and value < 0:
            raise CnabError('field %s: negative number %s'
                % (field.name, value))
    if not (text.isdigit() and text.isascii()):
        raise CnabError('field %s (%d-%d) is not numeric: %r'
            % (field.name, field.start, field.end, text))
    if len(text) > size:
        raise CnabError('field %s (%d-%d) is %d digits, max %d: %r'
            % (field.name, field.start, field.end, len(text), size, text))
    return text.rjust(size, '0')


def format_record(record, values):
    """Format a dict into one fixed-width line of record.length characters.

    Numbers are right-aligned zero-padded, text left-aligned space-padded in
    uppercase ASCII; a value that does not fit raises CnabError."""
    line = [' '] * record.length
    for field in record.fields:
        text = _format(field, values.get(field.name))
        line[field.start - 1:field.end] = text
    return ''.join(line)


def _date(raw, kind):
    raw = raw.strip()
    if not raw or not raw.strip('0'):
        return None
    if kind == 'date6':
        day, month, year = int(raw[:2]), int(raw[2:4]), int(raw[4:6])
        # Two-digit years: CNAB 400 started in the 1980s
        year += 1900 if year >= 80 else 2000
    else:
        day, month, year = int(raw[:2]), int(raw[2:4]), int(raw[4:8])
    return datetime.date(year, month, day)


def convert(kind, raw):
    "Typed value of a raw field: Decimal, int, date, str or None"
    if kind == 'alpha':
        return raw.strip()
    if kind == 'amount':
        raw = raw.strip()
        return Decimal(int(raw)).scaleb(-2) if raw else None
    if kind == 'num':
        raw = raw.strip()
        return int(raw) if raw else None
    return _date(raw, kind)


# Dates already seen valid (they repeat a lot within a file); blank is
# a valid (absent) date.
_VALID_DATES = {' ' * 6: True, ' ' * 8: True}
_DIGITS_SPACE = '0123456789 '


def check_line(record, line):
    "Return the reasons a line's numeric fields are invalid"
    # Fast path: every numeric field is all ASCII digits or all blank, and
    # the dates are known good.
    values = record.num_getter(line)
    joined = ''.join(values)
    fast = joined.isdigit() and joined.isascii()
    if not fast and joined.isascii() and not joined.strip(_DIGITS_SPACE):
        for value in values:
            if not value.isdigit() and value.strip():
                break
        else:
            fast = True
    if fast:
        for sl in record.date_slices:
            if line[sl] not in _VALID_DATES:
                break
        else:
            return ()
    problems = []
    for name, s, e, kind in record.checks:
        raw = line[s:e]
        if raw.isdigit() and raw.isascii():
            if kind in ('date6', 'date8') and raw not in _VALID_DATES:
                try:
                    _date(raw, kind)
                except ValueError:
                    problems.append('field %s (%d-%d): invalid date %r'
                        % (name, s + 1, e, raw))
                else:
                    if len(_VALID_DATES) < 100000:
                        _VALID_DATES[raw] = True
        elif raw.strip():
            problems.append('field %s (%d-%d): not numeric %r'
                % (name, s + 1, e, raw))
    return problems


def bulk_valid(record, lines):
    """True when every line passes check_line, checked for all lines at
    once (C-level joins); False means: check line by line for the errors."""
    if not record.checks or not lines:
        return True
    joined = ''.join(map(''.join, map(record.num_getter, lines)))
    if not (joined.isdigit() and joined.isascii()):
        return False
    if record.date_slices:
        for raws in set(map(record.date_getter, lines)):
            for raw, kind in zip(raws, record.date_kinds):
                if raw in _VALID_DATES:
                    continue
                try:
                    _date(raw, kind)
                except ValueError:
                    return False
                if len(_VALID_DATES) < 100000:
                    _VALID_DATES[raw] = True
    return True


def read_record(record, line):
    "Slice a line into a dict of raw strings, exactly as in the file"
    return dict(zip(record.names, record.getter(line)))


class FieldIndex:
    "Where each field of a record combination is: name -> (line, slice)"
    __slots__ = ('map', 'records', 'kinds', 'merged')

    def __init__(self, records, kinds):
        self.records = records
        self.kinds = kinds
        self.merged = {}
        self.map = {}
        for i, rec in enumerate(records):
            for f in rec.fields:
                # The first record wins a shared name (T before U)
                self.map.setdefault(f.name, (i, slice(f.start - 1, f.end)))

    def plus(self, record):
        "The index of these records followed by record (cached)"
        index = self.merged.get(id(record))
        if index is None:
            index = self.merged[id(record)] = FieldIndex(
                self.records + (record,), self.kinds)
        return index


_tget = tuple.__getitem__


class Detail(tuple, Mapping):
    """A record: normalized keys to raw strings exactly as in the file.

    Values are sliced from the line(s) on access, so parsing a large file
    costs no per-field work; typed(), value(), decimal() and date()
    convert by the field's kind. Internally a tuple (lines, FieldIndex,
    line number), so that a whole file's details are built at C speed."""
    __slots__ = ()

    def __new__(cls, line, record, kinds, number):
        return tuple.__new__(cls, ((line,), record.index(kinds), number))

    @property
    def line(self):
        "Line number in the file (of the first line for CNAB 240 pairs)"
        return _tget(self, 2)

    @property
    def kinds(self):
        return _tget(self, 1).kinds

    def merged(self, line, record):
        "A copy with the fields of a following line (segment U, Q, R...)"
        return tuple.__new__(Detail, (_tget(self, 0) + (line,),
                _tget(self, 1).plus(record), _tget(self, 2)))

    def __getitem__(self, key):
        i, sl = _tget(self, 1).map[key]
        return _tget(self, 0)[i][sl]

    def __iter__(self):
        return iter(_tget(self, 1).map)

    def __len__(self):
        return len(_tget(self, 1).map)

    def __contains__(self, key):
        return key in _tget(self, 1).map

    def __eq__(self, other):
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return 'Detail(line=%s, %r)' % (self.line, dict(self))

    def __reduce__(self):
        return (dict, (dict(self),))


    def text(self, key):
        value = self.get(key)
        return value.strip() if value is not None else None

    def value(self, key):
        if key not in _tget(self, 1).map:
            return None
        return convert(self.kinds.get(key, 'alpha'), self[key])

    def decimal(self, key):
        value = self.value(key)
        return Decimal(value) if value is not None else None

    def date(self, key):
        value = self.value(key)
        return value if isinstance(value, datetime.date) else None

    def typed(self):
        return {k: self.value(k) for k in self}


_make_detail = partial(tuple.__new__, Detail)


def __getattr__(name):
    "The file parser lives in cnab_file.py; import it on first use"
    if name in ('parse_file', 'parse_retorno', 'RetornoFile', 'split_lines',
            'detect'):
        from . import cnab_file
        return getattr(cnab_file, name)
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
