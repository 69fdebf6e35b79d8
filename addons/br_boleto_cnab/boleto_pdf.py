# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Boleto PDF: recibo do pagador + ficha de compensação (FEBRABAN).

Plain Python (no ORM) on ReportLab's canvas. The barcode, typed line and
BR Code come from boleto.py / pix.py; this module only lays them out.

    render_boleto_pdf([BoletoDocument(...), ...]) -> bytes (one A4 page
    per boleto)

Output is byte-for-byte deterministic (ReportLab invariant mode, no page
compression, the 14 standard fonts, which are never embedded), so it can
be kept as a golden file. Text that does not fit its box is wrapped when
the box has room for more lines and raises BoletoPdfError otherwise:
nothing is cut.
"""
import io
from dataclasses import dataclass
from decimal import Decimal

from num2words import num2words
from reportlab.graphics.barcode.qrencoder import QRCode, QRErrorCorrectLevel
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from stdnum.br import cnpj as stdnum_cnpj
from stdnum.br import cpf as stdnum_cpf
from stdnum.exceptions import ValidationError

from .boleto import BoletoError, format_typed_line, parse
from .boleto_banks import BANKS
from .pix import PixError
from .pix import decode as pix_decode

__all__ = ['BoletoPdfError', 'Party', 'BoletoDocument', 'render_boleto_pdf',
    'BANK_CODE_DV', 'bank_code_dv', 'format_tax_id', 'format_amount',
    'format_percent', 'amount_in_words', 'itf_elements', 'wrap', 'fit',
    'ITF_PATTERNS', 'ITF']


class BoletoPdfError(BoletoError):
    "A boleto that cannot be printed; the message names the field and why"


# Interleaved 2 of 5: each digit is 5 elements, 2 of them wide (n narrow,
# w wide). Digits in odd positions are drawn as bars, even ones as the
# spaces between them. FEBRABAN "Layout padrão de arrecadação/recebimento
# com utilização do código de barras" §3.
ITF_PATTERNS = {
    '0': 'nnwwn', '1': 'wnnnw', '2': 'nwnnw', '3': 'wwnnn', '4': 'nnwnw',
    '5': 'wnwnn', '6': 'nwwnn', '7': 'nnnww', '8': 'wnnwn', '9': 'nwnwn',
    }
ITF_START = 'nnnn'  # bar, space, bar, space
ITF_STOP = 'wnn'  # bar, space, bar


class ITF:
    "ITF print dimensions (FEBRABAN: X 0.33 mm, ratio 3:1, 13 mm, 5 mm)"
    narrow = 0.33 * mm
    ratio = 3
    height = 13 * mm
    quiet_zone = 5 * mm


def itf_elements(code):
    """Return [(is_bar, width_in_narrow_units), ...] of code's ITF symbol.

    Start and stop patterns included; the quiet zones are not."""
    if not code or len(code) % 2 or not (code.isdigit() and code.isascii()):
        raise BoletoPdfError('código de barras: %r is not an even number of '
            'digits' % (code,))
    units = {'n': 1, 'w': ITF.ratio}
    pattern = ITF_START
    for i in range(0, len(code), 2):
        bars, spaces = ITF_PATTERNS[code[i]], ITF_PATTERNS[code[i + 1]]
        pattern += ''.join(b + s for b, s in zip(bars, spaces))
    pattern += ITF_STOP
    return [(i % 2 == 0, units[e]) for i, e in enumerate(pattern)]


# Bank code check digit printed beside the COMPE code ("341-7"). It is
# the remainder of the modulo 11 sum (weights 9, 8, 7 from the right),
# except where that remainder is 10, which each bank prints its own way:
# Caixa 0, Sicredi X, Ailos 1. Values as brcobranca prints them
# (lib/brcobranca/boleto/<bank>.rb, banco_dv).
BANK_CODE_DV = {
    '001': '9', '004': '3', '021': '3', '033': '7', '041': '8', '070': '1',
    '077': '9', '084': '1', '085': '1', '097': '3', '104': '0', '136': '8',
    '237': '2', '341': '7', '399': '9', '422': '7', '745': '5', '748': 'X',
    '756': '0',
    }


def bank_code_dv(bank):
    "Check digit printed after the bank code ('341-7', '748-X')"
    try:
        return BANK_CODE_DV[bank]
    except KeyError:
        raise BoletoPdfError('banco: no printed check digit known for %r'
            % (bank,))


def format_tax_id(value, name):
    "Return a CPF (11) or CNPJ (14, alphanumeric allowed) with its mask"
    compact = stdnum_cnpj.compact(value or '')
    try:
        if len(compact) == 11:
            return stdnum_cpf.format(stdnum_cpf.validate(compact))
        return stdnum_cnpj.format(stdnum_cnpj.validate(compact))
    except ValidationError as exc:
        raise BoletoPdfError('%s: %r is not a valid CPF or CNPJ (%s)'
            % (name, value, exc))


def format_amount(amount, places=2):
    "Brazilian format: 1.234,56; raises rather than round"
    if amount != round(amount, places):
        raise BoletoPdfError('%s has more than %d decimal places'
            % (amount, places))
    text = '{:,.{}f}'.format(amount, places)
    return text.replace(',', '_').replace('.', ',').replace('_', '.')


def format_percent(value):
    "2,00%; every decimal of 0,0333% is kept"
    exponent = value.normalize().as_tuple().exponent
    return format_amount(value, max(2, -exponent)) + '%'


def format_date(date):
    return date.strftime('%d/%m/%Y')


def amount_in_words(amount):
    """Portuguese amount in words ('cento e vinte e três reais e quarenta e
    cinco centavos'), by num2words pt_BR; an amount below one real is
    written in centavos only, as people write it."""
    text = num2words(amount, lang='pt_BR', to='currency')
    return text.removeprefix('zero reais e ')


def _check_decimal(value, name, optional=False):
    if value is None and optional:
        return
    if not isinstance(value, Decimal) or not value.is_finite():
        raise BoletoPdfError('%s: %r is not a Decimal' % (name, value))
    if value < 0:
        raise BoletoPdfError('%s: %s is negative' % (name, value))


@dataclass
class Party:
    """Beneficiary (beneficiário), payer (pagador) or guarantor.

    tax_id: CPF or CNPJ, digits or masked (printed masked);
    address: the printed address lines, e.g. ('Rua X, 10 - Centro',
    '01001-000 São Paulo/SP')."""
    name: str
    tax_id: str
    address: tuple = ()

    def lines(self, label):
        if not (self.name or '').strip():
            raise BoletoPdfError('%s: name is required' % label)
        head = '%s - %s %s' % (self.name.strip(),
            'CPF' if len(stdnum_cnpj.compact(self.tax_id or '')) == 11
            else 'CNPJ', format_tax_id(self.tax_id, '%s CPF/CNPJ' % label))
        address = ' - '.join(a.strip() for a in self.address if a.strip())
        return [head, address] if address else [head]


@dataclass
class BoletoDocument:
    """One boleto to print.

    barcode: the 44 digits from boleto_banks.make_boleto(...).barcode;
        its bank, due date and amount must agree with the fields below.
    nosso_numero: as printed, from Boleto.nosso_numero (e.g.
        '109/00000123-5').
    beneficiary_code: agência/código do beneficiário as the bank prints
        it (Itaú: '0607/15255-0').
    amount: Decimal; dates: datetime.date.
    fine_percent: multa after the due date (Decimal percent) or None;
    interest_monthly_percent: juros de mora (Decimal % a.m., pro rata
        die) or None. Both become instruction lines before `instructions`.
    instructions: further instruction lines (beneficiary's text).
    description: demonstrativo lines on the recibo (what is being paid).
    pix_payload: the BR Code of a boleto híbrido; printed as a QR code.
    """
    bank: str
    barcode: str
    nosso_numero: str
    document_number: str
    document_date: object
    processing_date: object
    due_date: object
    amount: Decimal
    beneficiary: Party
    beneficiary_code: str
    payer: Party
    carteira: str = ''
    document_kind: str = 'DS'
    acceptance: str = 'N'
    payment_place: str = 'Pagável em qualquer banco até o vencimento'
    fine_percent: object = None
    interest_monthly_percent: object = None
    instructions: tuple = ()
    description: tuple = ()
    pix_payload: str = ''
    guarantor: object = None

    @property
    def typed_line(self):
        return format_typed_line(parse(self.barcode, self.due_date)
            .typed_line)

    def check(self):
        "Raise BoletoPdfError when the fields are inconsistent"
        bank = str(self.bank or '').zfill(3)
        if bank not in BANKS:
            raise BoletoPdfError('banco: %r is not supported' % (self.bank,))
        for name in ('document_date', 'processing_date', 'due_date'):
            if not hasattr(getattr(self, name), 'strftime'):
                raise BoletoPdfError('%s: %r is not a date'
                    % (name, getattr(self, name)))
        for label in ('beneficiary', 'payer', 'guarantor'):
            party = getattr(self, label)
            if party is not None or label != 'guarantor':
                if not isinstance(party, Party):
                    raise BoletoPdfError('%s: %r is not a Party'
                        % (label, party))
                party.lines(label)
        _check_decimal(self.amount, 'amount')
        _check_decimal(self.fine_percent, 'fine_percent', optional=True)
        _check_decimal(self.interest_monthly_percent,
            'interest_monthly_percent', optional=True)
        decoded = parse(self.barcode, self.due_date)
        if decoded.bank != bank:
            raise BoletoPdfError('barcode: bank %s, document says %s'
                % (decoded.bank, bank))
        if decoded.due_date != self.due_date:
            raise BoletoPdfError('barcode: due date %s, document says %s'
                % (decoded.due_date, self.due_date))
        if decoded.amount != self.amount:
            raise BoletoPdfError('barcode: amount %s, document says %s'
                % (decoded.amount, self.amount))
        if self.pix_payload:
            try:
                pix_decode(self.pix_payload)
            except PixError as exc:
                raise BoletoPdfError('pix_payload: %s' % exc)


# Fonts and sizes. FEBRABAN: bank code bold at ~5 mm, typed line 3.5-4 mm.
FONT, BOLD = 'Helvetica', 'Helvetica-Bold'
LABEL_SIZE, VALUE_SIZE, LINE_GAP = 5.5, 7.5, 2.9 * mm
PAGE_W, PAGE_H = 210 * mm, 297 * mm
LEFT, WIDTH, RIGHT_COL = 10 * mm, 190 * mm, 45 * mm
MAIN_W = WIDTH - RIGHT_COL
QR_SIZE = 30 * mm
QR_QUIET = 4  # modules (ISO/IEC 18004)
# header 9 + rows 7.5 + 12 + 7 + 7 + instructions 32 + payer 14 + gap 2 +
# bars 13: within the 95-108 mm FEBRABAN allows
FICHA_HEIGHT = 103.5 * mm


def wrap(text, font, size, width, name):
    """Split text into lines of at most width points, on spaces.

    A word wider than the line raises: it cannot be wrapped. So does a
    character the standard fonts cannot show (they cover WinAnsi, cp1252,
    which has every Portuguese letter)."""
    try:
        str(text).encode('cp1252')
    except UnicodeEncodeError as exc:
        raise BoletoPdfError('%s: %r has %r, which the PDF fonts cannot '
            'show' % (name, text, exc.object[exc.start:exc.end]))
    lines = []
    for paragraph in str(text).split('\n'):
        line = ''
        for word in paragraph.split():
            candidate = (line + ' ' + word) if line else word
            if stringWidth(candidate, font, size) <= width:
                line = candidate
                continue
            if stringWidth(word, font, size) > width:
                raise BoletoPdfError('%s: %r is wider than its %.0f mm box'
                    % (name, word, width / mm))
            lines.append(line)
            line = word
        lines.append(line)
    return lines


def fit(texts, font, size, width, max_lines, name):
    "Wrap each text and raise when they need more than max_lines"
    lines = []
    for text in texts:
        lines.extend(wrap(text, font, size, width, name))
    if len(lines) > max_lines:
        raise BoletoPdfError('%s: needs %d lines, the box holds %d: %r'
            % (name, len(lines), max_lines, ' / '.join(texts)))
    return lines


class _Page:
    "Draws one boleto; y coordinates are given in points from the top"

    def __init__(self, canvas, doc):
        self.c = canvas
        self.doc = doc
        self.bank = str(doc.bank).zfill(3)

    def y(self, top):
        return PAGE_H - top

    def box(self, x, top, w, h, label, lines=(), size=VALUE_SIZE,
            font=FONT, align='left', name=None, max_lines=None):
        """A field: ruled box, label at the top, value lines under it.

        Values are wrapped to the box width and must fit its height."""
        c = self.c
        c.setLineWidth(0.5)
        c.rect(x, self.y(top + h), w, h, stroke=1, fill=0)
        c.setFont(FONT, LABEL_SIZE)
        c.drawString(x + 1 * mm, self.y(top + 2.2 * mm), label)
        room = max_lines or max(1, int((h - 3 * mm) // LINE_GAP))
        lines = fit([str(v) for v in lines], font, size, w - 2 * mm, room,
            name or label)
        c.setFont(font, size)
        for i, line in enumerate(lines):
            base = self.y(top + 2.4 * mm + (i + 1) * LINE_GAP)
            if align == 'right':
                c.drawRightString(x + w - 1 * mm, base, line)
            else:
                c.drawString(x + 1 * mm, base, line)

    def header(self, top):
        "Bank name | code-DV | typed line, over a thick rule"
        c, h = self.c, 9 * mm
        name = BANKS[self.bank].name
        size = 16
        while stringWidth(name, BOLD, size) > 43 * mm:
            size -= 1
            if size < 8:
                raise BoletoPdfError('banco: name %r does not fit the logo '
                    'area' % name)
        c.setFont(BOLD, size)
        c.drawString(LEFT + 1 * mm, self.y(top + h - 2.2 * mm), name)
        c.setLineWidth(1.2)
        for x in (LEFT + 45 * mm, LEFT + 65 * mm):
            c.line(x, self.y(top + 2 * mm), x, self.y(top + h))
        c.setFont(BOLD, 14)
        c.drawCentredString(LEFT + 55 * mm, self.y(top + h - 2 * mm),
            '%s-%s' % (self.bank, bank_code_dv(self.bank)))
        c.setFont(BOLD, 10.5)
        c.drawRightString(LEFT + WIDTH, self.y(top + h - 2 * mm),
            self.doc.typed_line)
        c.setLineWidth(1.2)
        c.line(LEFT, self.y(top + h), LEFT + WIDTH, self.y(top + h))
        return top + h

    def instruction_lines(self):
        doc, lines = self.doc, []
        if doc.fine_percent:
            lines.append('Após o vencimento cobrar multa de %s.'
                % format_percent(doc.fine_percent))
        if doc.interest_monthly_percent:
            lines.append('Após o vencimento cobrar juros de mora de %s ao '
                'mês, pro rata die.'
                % format_percent(doc.interest_monthly_percent))
        lines.extend(doc.instructions)
        return lines

    def receipt(self, top):
        "Recibo do pagador"
        doc, x, r = self.doc, LEFT, LEFT + MAIN_W
        top = self.header(top)
        self.box(x, top, MAIN_W, 12 * mm, 'Beneficiário',
            doc.beneficiary.lines('beneficiary'), name='beneficiary')
        self.box(r, top, RIGHT_COL, 12 * mm,
            'Agência/Código do Beneficiário', [doc.beneficiary_code],
            align='right')
        top += 12 * mm
        self.box(x, top, MAIN_W, 12 * mm, 'Pagador',
            doc.payer.lines('payer'), name='payer')
        self.box(r, top, RIGHT_COL, 12 * mm, 'Nosso Número',
            [doc.nosso_numero], align='right')
        top += 12 * mm
        cells = [
            (40, 'Nº do Documento', doc.document_number),
            (30, 'Data do Documento', format_date(doc.document_date)),
            (30, 'Data do Processamento', format_date(doc.processing_date)),
            (15, 'Espécie', 'R$'),
            (30, 'Carteira', doc.carteira),
            ]
        self.row(top, 7 * mm, cells)
        self.box(r, top, RIGHT_COL, 7 * mm, 'Vencimento',
            [format_date(doc.due_date)], font=BOLD, align='right')
        top += 7 * mm
        self.box(x, top, MAIN_W, 9.5 * mm, 'Valor por Extenso',
            [amount_in_words(doc.amount)], name='amount in words')
        self.box(r, top, RIGHT_COL, 9.5 * mm, '(=) Valor do Documento',
            [format_amount(doc.amount)], font=BOLD, align='right')
        top += 9.5 * mm
        h = QR_SIZE + 6 * mm
        if doc.pix_payload:
            self.box(x, top, MAIN_W, h, 'Demonstrativo',
                doc.description, name='description')
            self.box(r, top, RIGHT_COL, h, 'Pague com Pix')
            self.qr(r + (RIGHT_COL - QR_SIZE) / 2, top + 4 * mm,
                doc.pix_payload)
        else:
            self.box(x, top, WIDTH, h, 'Demonstrativo', doc.description,
                name='description')
        top += h
        self.c.setFont(FONT, LABEL_SIZE)
        self.c.drawRightString(LEFT + WIDTH, self.y(top + 2.5 * mm),
            'Autenticação mecânica')
        self.c.setFont(BOLD, 8)
        self.c.drawString(LEFT, self.y(top + 3 * mm), 'Recibo do Pagador')
        return top + 4 * mm

    def row(self, top, h, cells, x=LEFT):
        "Side-by-side boxes; widths in mm"
        for width, label, value in cells:
            self.box(x, top, width * mm, h, label, [value] if value else [],
                name=label)
            x += width * mm

    def cut_line(self, top):
        c = self.c
        c.setFont(FONT, LABEL_SIZE)
        c.drawRightString(LEFT + WIDTH, self.y(top - 1 * mm),
            'Corte na linha pontilhada')
        c.setLineWidth(0.5)
        c.setDash(2, 2)
        c.line(LEFT, self.y(top), LEFT + WIDTH, self.y(top))
        c.setDash()

    def compensation(self, top):
        "Ficha de compensação (95-108 mm high, FEBRABAN)"
        doc, x, r = self.doc, LEFT, LEFT + MAIN_W
        top = self.header(top)
        self.box(x, top, MAIN_W, 7.5 * mm, 'Local de Pagamento',
            [doc.payment_place])
        self.box(r, top, RIGHT_COL, 7.5 * mm, 'Vencimento',
            [format_date(doc.due_date)], font=BOLD, align='right')
        top += 7.5 * mm
        self.box(x, top, MAIN_W, 12 * mm, 'Beneficiário',
            doc.beneficiary.lines('beneficiary'), name='beneficiary')
        self.box(r, top, RIGHT_COL, 12 * mm,
            'Agência/Código do Beneficiário', [doc.beneficiary_code],
            align='right')
        top += 12 * mm
        self.row(top, 7 * mm, [
            (28, 'Data do Documento', format_date(doc.document_date)),
            (37, 'Nº do Documento', doc.document_number),
            (20, 'Espécie Doc.', doc.document_kind),
            (15, 'Aceite', doc.acceptance),
            (45, 'Data do Processamento', format_date(doc.processing_date)),
            ])
        self.box(r, top, RIGHT_COL, 7 * mm, 'Nosso Número',
            [doc.nosso_numero], align='right')
        top += 7 * mm
        self.row(top, 7 * mm, [
            (28, 'Uso do Banco', ''),
            (22, 'Carteira', doc.carteira),
            (15, 'Espécie', 'R$'),
            (35, 'Quantidade', ''),
            (45, 'Valor', ''),
            ])
        self.box(r, top, RIGHT_COL, 7 * mm, '(=) Valor do Documento',
            [format_amount(doc.amount)], font=BOLD, align='right')
        top += 7 * mm
        h = 32 * mm
        self.box(x, top, MAIN_W, h, 'Instruções (texto de responsabilidade '
            'do beneficiário)', self.instruction_lines(), name='instructions')
        for i, label in enumerate(['(-) Desconto/Abatimento',
                '(-) Outras Deduções', '(+) Mora/Multa',
                '(+) Outros Acréscimos', '(=) Valor Cobrado']):
            self.box(r, top + i * h / 5, RIGHT_COL, h / 5, label)
        top += h
        payer = doc.payer.lines('payer')
        guarantor = (doc.guarantor.lines('guarantor')[0]
            if doc.guarantor else '')
        self.box(x, top, WIDTH, 14 * mm, 'Pagador', payer, name='payer',
            max_lines=3)
        room = WIDTH - 15 * mm  # 'Cód. Baixa' stays on the right
        guarantor, = fit(['Sacador/Avalista: ' + guarantor], FONT,
            LABEL_SIZE, room, 1, 'guarantor')
        self.c.setFont(FONT, LABEL_SIZE)
        self.c.drawString(x + 1 * mm, self.y(top + 13.2 * mm), guarantor)
        self.c.drawRightString(x + WIDTH - 1 * mm, self.y(top + 13.2 * mm),
            'Cód. Baixa')
        top += 14 * mm
        self.c.setFont(FONT, LABEL_SIZE)
        self.c.drawRightString(LEFT + WIDTH, self.y(top + 2.5 * mm),
            'Autenticação Mecânica')
        self.c.setFont(BOLD, 8)
        self.c.drawRightString(LEFT + WIDTH, self.y(top + 5.8 * mm),
            'Ficha de Compensação')
        self.itf(LEFT + ITF.quiet_zone, top + 2 * mm, doc.barcode)
        return top + 2 * mm + ITF.height

    def itf(self, x, top, code):
        "ITF bars; x is the first bar, the quiet zone lies before it"
        c = self.c
        c.setFillColorRGB(0, 0, 0)
        bottom = self.y(top + ITF.height)
        for is_bar, units in itf_elements(code):
            width = units * ITF.narrow
            if is_bar:
                c.rect(x, bottom, width, ITF.height, stroke=0, fill=1)
            x += width

    def qr(self, x, top, payload):
        """QR code (error correction M), quiet zone inside QR_SIZE.

        Dark modules of a row are merged into one rectangle per run, and
        all runs are filled as one path: separate fills leave hairline
        seams between rows in screen renderers."""
        qr = QRCode(None, QRErrorCorrectLevel.M)
        qr.addData(payload)
        qr.make()
        count = qr.getModuleCount()
        module = QR_SIZE / (count + 2 * QR_QUIET)
        x0 = x + QR_QUIET * module
        path = self.c.beginPath()
        for row in range(count):
            y = self.y(top + (QR_QUIET + row + 1) * module)
            col = 0
            while col < count:
                if not qr.isDark(row, col):
                    col += 1
                    continue
                start = col
                while col < count and qr.isDark(row, col):
                    col += 1
                path.rect(x0 + start * module, y, (col - start) * module,
                    module)
        self.c.drawPath(path, stroke=0, fill=1)

    def draw(self):
        self.receipt(8 * mm)
        # FEBRABAN/bank specs: on A4 the ficha goes at the bottom of the page
        top = PAGE_H - 10 * mm - FICHA_HEIGHT
        self.cut_line(top - 5 * mm)
        self.compensation(top)


def render_boleto_pdf(documents, compress=False):
    """Return the PDF bytes of documents (BoletoDocument), one page each.

    Every document is checked before anything is drawn. compress=True
    deflates the pages (about a quarter of the size, for e-mail); the
    default keeps them plain, so the bytes do not depend on the zlib
    build and can be compared with a golden file."""
    documents = list(documents)
    if not documents:
        raise BoletoPdfError('documents: nothing to print')
    for doc in documents:
        doc.check()
    buffer = io.BytesIO()
    # invariant: fixed dates and document id, so equal input gives equal
    # bytes
    canvas = Canvas(buffer, pagesize=(PAGE_W, PAGE_H), invariant=1,
        pageCompression=1 if compress else 0)
    canvas.setTitle('Boleto')
    canvas.setCreator('Ciclo')
    canvas.setAuthor('Ciclo')
    for doc in documents:
        _Page(canvas, doc).draw()
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
