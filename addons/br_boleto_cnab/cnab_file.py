# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""CNAB file parser: line splitting, layout and bank detection, structure
and trailer checks (the record engine is cnab.py).

What parse_file accepts, because banks and sample files do send it: a UTF-8
byte-order mark; CRLF, LF or CR line ends (mixed too); text that is not
UTF-8 (read as Latin-1); right-trimmed lines (padded back with blanks);
blank characters past the record length (cut); 400 lines with up to 20
extra characters (see MAX_SURPLUS_400); blank lines at the end of the file.

What it rejects, with CnabError listing every problem with its line: an
unknown first line (neither a 240 nor a 400 header), an unknown bank in a
400 file, record types or segments out of sequence or unknown, a missing
header or trailer, a non-numeric value or an impossible date in a numeric
field, a bank code that changes within a 240 file, and trailer counts or
400 sequence numbers that do not match (warnings instead when strict=False).
"""
import re
from itertools import count, repeat
from operator import itemgetter, methodcaller

from . import cnab_layouts
from .cnab import (
    CnabError, Detail, _date, _make_detail, bulk_valid, check_line)
from .cnab_occurrences import occurrence

# Lines longer than the record length are accepted when the surplus is
# blank (it is cut). A 400 line may also carry up to MAX_SURPLUS_400 extra
# non-blank characters, as some committed sample files do (401, 402 and
# 417 characters): fields are read by position from the start and the
# sequence number (395-400) from the last six characters. Longer lines, and
# any non-blank surplus on a 240 line, are rejected.
MAX_SURPLUS_400 = 20


class RetornoFile:
    "A parsed CNAB file"

    def __init__(self):
        self.layout = None          # CNAB240, CNAB400 or CBR643
        self.kind = None            # retorno or remessa
        self.bank_code = None       # bank whose layout was used
        self.header_bank_code = None
        self.bank_name = None
        self.header = {}
        self.trailer = {}
        self.batches = []
        self.records = []
        self.warnings = []
        self.line_count = 0
        self.complement_types = ()

    @property
    def titles(self):
        "Detail records without the complementary ones (e.g. PIX type 2)"
        return [r for r in self.records
            if r.get('tipo_registro') not in self.complement_types]

    @property
    def file_date(self):
        "Generation date from the header, or None when unreadable"
        raw = self.header.get('data_geracao', '').strip() if self.header \
            else ''
        kind = {6: 'date6', 8: 'date8'}.get(len(raw))
        if not kind or not (raw.isdigit() and raw.isascii()):
            return None
        try:
            return _date(raw, kind)
        except ValueError:
            return None

    @property
    def liquidados(self):
        "Number of records whose occurrence settles the title"
        count = 0
        for rec in self.records:
            occ = occurrence(self.bank_code, self.layout,
                rec.get('codigo_ocorrencia', '').strip())
            if occ and occ.settles:
                count += 1
        return count

    @property
    def avisos(self):
        "Number of records whose occurrence code is not in the tables"
        return sum(1 for rec in self.records
            if rec.get('codigo_ocorrencia', '').strip()
            and not occurrence(self.bank_code, self.layout,
                rec['codigo_ocorrencia'].strip()))


def split_lines(data):
    "Decode bytes and split into lines (BOM, CRLF/LF/CR handled)"
    if isinstance(data, str):
        text = data
    else:
        if data.startswith(b'\xef\xbb\xbf'):
            data = data[3:]
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError:
            text = data.decode('latin-1')
    if text.startswith('\ufeff'):
        text = text[1:]
    crlf = text.count('\r\n')
    if crlf and crlf == text.count('\n') == text.count('\r'):
        lines = text.split('\r\n')
    else:
        if '\r' in text:
            text = text.replace('\r\n', '\n').replace('\r', '\n')
        lines = text.split('\n')
    # Trailing blank lines and a DOS end-of-file mark are not records
    while lines and not lines[-1].strip(' \x1a\t'):
        lines.pop()
    return lines


def detect(first):
    "Return (length, kind) from the first line, or raise CnabError"
    if (first[:1] == '0' and first[1:2] in ('1', '2')
            and first[2:9].upper() in ('RETORNO', 'REMESSA')):
        return 400, 'retorno' if first[1] == '2' else 'remessa'
    if (len(first) >= 8 and first[:3].isdigit() and first[3:7] == '0000'
            and first[7] == '0'):
        return 240, None
    raise CnabError([(1, 'not a CNAB 240 or 400 header: %r' % first[:20])])


def _normalize(line, length, number, errors):
    "Pad right-trimmed lines; cut blank surplus; see MAX_SURPLUS_400"
    size = len(line)
    if size == length:
        return line
    if size < length:
        return line.ljust(length)
    surplus = line[length:]
    if not surplus.strip():
        return line[:length]
    if length == 400 and size - length <= MAX_SURPLUS_400:
        return line[:394] + line[-6:]
    errors.append((number, 'line is %d characters, expected %d'
            % (size, length)))
    return None


def parse_file(data, bank=None, strict=True, expect=None):
    """Parse a CNAB retorno or remessa file.

    bank: the account's bank code when known; it selects the layout when the
    header names another bank (e.g. Unicred files with a BB header).
    strict: trailer counts that do not match are errors (else warnings).
    expect: 'retorno' or 'remessa' to reject the other kind at once.
    """
    lines = split_lines(data)
    if not lines or not lines[0].strip():
        raise CnabError([(1, 'empty file')])
    length, kind = detect(lines[0])
    if expect and kind and kind != expect:
        raise CnabError([(1, 'this is a %s file, not a %s' % (kind, expect))])
    header_bank = lines[0][76:79] if length == 400 else lines[0][:3]
    code = bank or header_bank
    errors = []
    result = RetornoFile()
    result.header_bank_code = header_bank
    result.bank_code = code
    result.bank_name = cnab_layouts.BANK_NAMES.get(code)
    result.line_count = len(lines)
    sizes = set(map(len, lines))
    if sizes == {length}:
        norm = lines
    elif max(sizes) <= length:
        # Only right-trimmed lines: pad them all back at once
        norm = list(map(methodcaller('ljust', length), lines))
    else:
        norm = [_normalize(line, length, number, errors)
            for number, line in enumerate(lines, 1)]
    if length == 400:
        _parse_400(norm, code, kind, result, errors, strict)
    else:
        _parse_240(norm, code, result, errors, strict)
    if errors:
        errors.sort(key=lambda e: (e[0] or 0))
        raise CnabError(errors)
    return result


def parse_retorno(data, bank=None, strict=True):
    "Parse a retorno file; a remessa is rejected"
    result = parse_file(data, bank=bank, strict=strict, expect='retorno')
    if result.kind != 'retorno':
        raise CnabError([(1, 'this is a %s file, not a retorno'
                    % result.kind)])
    return result


def _check_count(errors, warnings, strict, number, what, stated, actual):
    if stated is None or stated == actual:
        return
    item = (number, '%s: trailer says %s, file has %s'
        % (what, stated, actual))
    (errors if strict else warnings).append(item)


def _misplaced_400(rtype, code):
    if rtype == '0':
        return 'header (type 0) out of place'
    if rtype == '9':
        return 'trailer (type 9) before the end'
    return 'unknown record type %r for bank %s' % (rtype, code)


_SEQUENCES = []


def _sequences(count):
    "'000002', '000003'...: the 400 sequence numbers of detail lines"
    while len(_SEQUENCES) < count:
        _SEQUENCES.append('%06d' % (len(_SEQUENCES) + 2))
    return _SEQUENCES[:count]


def _bulk_400(lines, records, kinds, result):
    """Read all detail lines at once when they are all valid: known
    detail types, numeric fields, dates and sequence numbers (the common
    case, and the one that must be fast). Return False to go line by line
    and report every problem."""
    middle = lines[1:-1]
    if len(middle) < 2 or None in middle:
        return False
    by_type = {}
    for rtype in set(map(itemgetter(0), middle)):
        rec = records.get(rtype)
        if rec is None or rtype in ('0', '9'):
            return False
        if not rec.has_sequence:
            return False
        by_type[rtype] = rec
    if len(by_type) == 1:
        groups = {rtype: middle for rtype in by_type}
    else:
        groups = {rtype: [line for line in middle if line[0] == rtype]
            for rtype in by_type}
    for rtype, group in groups.items():
        if not bulk_valid(by_type[rtype], group):
            return False
    if list(map(itemgetter(slice(394, 400)), middle)) != _sequences(
            len(middle)):
        return False
    # Built with C-level calls only: ((line,), index, number) per detail
    if len(by_type) == 1:
        (rec,) = by_type.values()
        indexes = repeat(rec.index(kinds))
    else:
        index_of = {t: r.index(kinds) for t, r in by_type.items()}
        indexes = map(index_of.__getitem__, map(itemgetter(0), middle))
    result.records = list(map(_make_detail,
            zip(zip(middle), indexes, count(2))))
    return True


def _parse_400(lines, code, kind, result, errors, strict):
    layout = cnab_layouts.layout_400(code, kind)
    if layout is None:
        errors.append((1, 'unknown bank %r for CNAB 400 %s'
                % (code, kind)))
        return
    result.kind = kind
    result.layout = layout.name
    result.complement_types = cnab_layouts.COMPLEMENT_400.get(code, ())
    records = layout.records
    header_rec = records['0']
    trailer_rec = records['9']
    last = len(lines)
    kinds = layout.kinds
    get = records.get
    append = result.records.append
    seq_errors = errors if strict else result.warnings
    if _bulk_400(lines, records, kinds, result):
        # Details done at once; only the header and trailer go through
        # the loop below.
        lines = lines[:1] + [None] * (last - 2) + lines[-1:]
    for number, line in enumerate(lines, 1):
        if line is None:
            continue
        rtype = line[0]
        if 1 < number < last:
            rec = get(rtype)
            if rec is None or rec is header_rec or rec is trailer_rec:
                errors.append((number, _misplaced_400(rtype, code)))
                continue
        elif number == 1:
            rec = header_rec
        elif rtype != '9':
            errors.append((number, 'missing trailer (record type 9), '
                    'found type %r' % rtype))
            rec = get(rtype)
            if rec is None or rec is header_rec:
                continue
        else:
            rec = trailer_rec
        problems = check_line(rec, line)
        if problems:
            errors.extend((number, p) for p in problems)
            continue
        if rec.has_sequence:
            seq = line[394:400]
            if seq.isdigit() and int(seq) != number:
                seq_errors.append((number, 'sequence number %s, expected '
                        '%06d' % (seq, number)))
        if 1 < number < last:
            append(Detail(line, rec, kinds, number))
        elif rec is header_rec:
            result.header = Detail(line, rec, kinds, number)
            if code != result.header_bank_code:
                result.warnings.append((number, 'header bank %s read with '
                        'the layout of bank %s' % (line[76:79], code)))
        elif rec is trailer_rec:
            result.trailer = Detail(line, rec, kinds, number)
    if last < 2:
        errors.append((1, 'missing trailer (record type 9)'))


_LEAD_SEGMENTS = ('T', 'P')
_FOLLOW_SEGMENTS = {'U': 'T', 'Q': 'P'}


_STRUCTURE_240 = re.compile(r'0(?:13*5)+9')


def _bulk_240(lines, layout, result):
    """Read a regular retorno at once: header, batches of T+U pairs,
    trailers, all valid and all counts right (the common case, and the one
    that must be fast). Return False to go line by line and report every
    problem (or count warning)."""
    if None in lines:
        return False
    records = layout.records
    kinds = layout.kinds
    types = ''.join(map(itemgetter(7), lines))
    if not _STRUCTURE_240.fullmatch(types):
        return False
    if set(map(itemgetter(slice(0, 3)), lines)) != {result.header_bank_code}:
        return False
    segments = ''.join(map(itemgetter(13), lines))
    spans, position = [], 0
    while True:
        start = types.find('1', position)
        if start < 0:
            break
        end = types.index('5', start)
        pairs, odd = divmod(end - start - 1, 2)
        if odd or segments[start + 1:end] != 'TU' * pairs:
            return False
        spans.append((start, end))
        position = end
    t_lines, u_lines, numbers = [], [], []
    for start, end in spans:
        t_lines += lines[start + 1:end:2]
        u_lines += lines[start + 2:end:2]
        numbers += range(start + 2, end + 1, 2)
    t_rec, u_rec = records['3T'], records['3U']
    if not (bulk_valid(t_rec, t_lines) and bulk_valid(u_rec, u_lines)):
        return False
    structure = [(0, records['0']), (len(lines) - 1, records['9'])]
    structure += [(i, records[k]) for span in spans
        for i, k in zip(span, ('1', '5'))]
    for i, rec in structure:
        if check_line(rec, lines[i]):
            return False
    details_rule = layout.batch_count == 'details'
    batches = []
    for start, end in spans:
        details = end - start - 1
        stated = int(lines[end][17:23].strip() or 0)
        if stated != (details if details_rule else details + 2):
            return False
        batches.append({'line': start + 1, 'details': details,
                'count': details + 2})
    trailer = lines[-1]
    if (int(trailer[17:23].strip() or 0) != len(spans)
            or int(trailer[23:29].strip() or 0) != len(lines)):
        return False
    result.header = Detail(lines[0], records['0'], kinds, 1)
    result.trailer = Detail(trailer, records['9'], kinds, len(lines))
    result.batches = batches
    index = t_rec.index(kinds).plus(u_rec)
    result.records = list(map(_make_detail,
            zip(zip(t_lines, u_lines), repeat(index), numbers)))
    result.kind = 'retorno'
    return True


def _parse_240(lines, code, result, errors, strict):
    layout = cnab_layouts.layout_240(code)
    records = layout.records
    result.layout = layout.name
    kinds = layout.kinds
    if _bulk_240(lines, layout, result):
        return
    segment_records = {k[1]: v for k, v in records.items() if len(k) == 2}
    seg_get = segment_records.get
    records_list = result.records
    append = records_list.append
    bank = result.header_bank_code
    last = len(lines)
    state = 'start'
    batch = None
    batches = 0
    pending = None
    paired = True
    segments = set()
    details = 0
    # Validate each segment's lines at once; check_line runs line by line
    # only for segments where something is wrong, to name every problem.
    checked = {}
    detail_lines = [line for line in lines
        if line is not None and line[7] == '3']
    for seg in set(map(itemgetter(13), detail_lines)):
        rec = seg_get(seg)
        if rec is not None:
            group = [line for line in detail_lines if line[13] == seg]
            checked[seg] = bulk_valid(rec, group)
    for number, line in enumerate(lines, 1):
        if line is None:
            continue
        rtype = line[7]
        if rtype == '3' and batch is not None:
            # Fast path: a detail inside a batch
            seg = line[13]
            rec = seg_get(seg)
            if rec is None:
                errors.append((number, 'unknown segment %r' % seg))
                continue
            if seg not in segments:
                segments.add(seg)
            details += 1
            if not line.startswith(bank):
                errors.append((number, 'bank code %r differs from the '
                        'header' % line[:3]))
            problems = () if checked[seg] else check_line(rec, line)
            if problems:
                errors.extend((number, p) for p in problems)
                if seg in _FOLLOW_SEGMENTS:
                    paired = True   # reported once, as its own errors
                continue
            if seg in _LEAD_SEGMENTS:
                if not paired:
                    errors.append((pending.line, 'segment %s without its '
                            'segment %s' % (pending['segmento'],
                                'U' if pending['segmento'] == 'T' else 'Q')))
                pending = Detail(line, rec, kinds, number)
                paired = False
                append(pending)
            elif pending is None:
                if seg in _FOLLOW_SEGMENTS:
                    errors.append((number, 'segment %s without its segment '
                            '%s' % (seg, _FOLLOW_SEGMENTS[seg])))
            else:
                if seg in _FOLLOW_SEGMENTS:
                    paired = True
                pending = pending.merged(line, rec)
                records_list[-1] = pending
            continue
        if number == 1:
            rec = records['0']
        elif rtype == '1':
            if state not in ('file', 'batch_end'):
                errors.append((number, 'batch header (type 1) out of place'))
            rec = records['1']
        elif rtype == '3':
            errors.append((number, 'detail (type 3) outside a batch'))
            continue
        elif rtype == '5':
            if batch is None:
                errors.append((number, 'batch trailer (type 5) without '
                        'batch header'))
            rec = records['5']
        elif rtype == '9':
            if number != last:
                errors.append((number, 'file trailer (type 9) before the '
                        'end'))
            rec = records['9']
        else:
            errors.append((number, 'unknown record type %r' % rtype))
            continue
        problems = check_line(rec, line)
        if problems:
            errors.extend((number, p) for p in problems)
        if line[:3] != bank and line[:3].strip():
            errors.append((number, 'bank code %r differs from the header'
                    % line[:3]))
        values = Detail(line, rec, kinds, number) if not problems else None
        if number == 1:
            state = 'file'
            if rtype != '0':
                errors.append((1, 'missing file header (record type 0)'))
            elif values:
                result.header = values
        elif rtype == '1':
            state = 'batch'
            batch = {'line': number}
            details = 0
            batches += 1
            pending, paired = None, True
        elif rtype == '5':
            state = 'batch_end'
            if not paired:
                errors.append((pending.line, 'segment %s without its '
                        'segment %s' % (pending['segmento'],
                            'U' if pending['segmento'] == 'T' else 'Q')))
            pending, paired = None, True
            if batch is not None:
                batch['details'] = details
                batch['count'] = details + 2
            if batch is not None and values:
                stated = int(values['quantidade_registros'].strip() or 0)
                retorno = bool(segments & {'T', 'U'})
                actual = (batch['details']
                    if retorno and layout.batch_count == 'details'
                    else batch['count'])
                _check_count(errors, result.warnings, strict, number,
                    'records in batch', stated, actual)
            if batch is not None:
                result.batches.append(batch)
            batch = None
        elif rtype == '9':
            state = 'end'
            if batch is not None:
                errors.append((batch['line'], 'batch without trailer '
                        '(record type 5)'))
                batch = None
            if values:
                result.trailer = values
                _check_count(errors, result.warnings, strict, number,
                    'batches in file',
                    int(values['quantidade_lotes'].strip() or 0), batches)
                _check_count(errors, result.warnings, strict, number,
                    'records in file',
                    int(values['quantidade_registros'].strip() or 0), last)
    if state != 'end':
        errors.append((last, 'missing file trailer (record type 9)'))
    if segments & {'T', 'U'}:
        result.kind = 'retorno'
    elif segments & {'P', 'Q', 'R'}:
        result.kind = 'remessa'
    else:
        result.kind = 'retorno' if result.header and result.header.get(
            'codigo_remessa_retorno', '') == '2' else 'remessa'
