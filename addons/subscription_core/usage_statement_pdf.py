# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Usage statement PDF (extrato de utilização), like a phone bill.

Plain Python (no ORM) on ReportLab's platypus: usage_statement.py reads
the invoice's usage and passes plain values and the translated labels.

    render_usage_statement_pdf(StatementDocument(...), labels) -> bytes

Per metric: a table of the usage per day with the allowance (franquia)
used up in day order and the quantity charged, its totals, then how the
total was priced and the amount on the invoice. Long tables continue on
the next page with their heading repeated; long names wrap: nothing is
cut. Output is deterministic (ReportLab invariant mode, no page
compression by default, standard fonts), so its text can be kept as a
golden file.
"""
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle)

__all__ = ['UsageStatementPdfError', 'StatementDay', 'PricingLine',
    'StatementSection', 'StatementDocument', 'render_usage_statement_pdf',
    'LABELS', 'format_number', 'format_date']

FONT = 'Helvetica'
FONT_BOLD = 'Helvetica-Bold'
MARGIN = 15 * mm

# The texts the statement prints, by key; usage_statement.py passes them
# translated (ir.message) in the customer's language.
LABELS = (
    'title', 'customer', 'invoice', 'invoice_date', 'company', 'day',
    'used', 'included', 'charged', 'total', 'allowance', 'pricing',
    'quantity', 'unit_price', 'amount', 'invoice_amount', 'no_usage',
    'page')


class UsageStatementPdfError(ValueError):
    "A statement that cannot be printed; the message names what and why"


def format_number(value, digits):
    "Brazilian format: 1.234,500"
    text = '{:,.{}f}'.format(value, digits)
    return text.replace(',', '_').replace('.', ',').replace('_', '.')


def format_date(date):
    return date.strftime('%d/%m/%Y')


@dataclass(frozen=True)
class StatementDay:
    date: datetime.date
    quantity: Decimal
    included: Decimal
    charged: Decimal


@dataclass(frozen=True)
class PricingLine:
    label: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class StatementSection:
    "The usage of one metric billed by one invoice line"
    title: str
    unit: str
    days: tuple
    quantity: Decimal
    allowance: Decimal
    included: Decimal
    charged: Decimal
    lines: tuple
    amount: Decimal


@dataclass(frozen=True)
class StatementDocument:
    company: str
    party: str
    invoice_number: str
    invoice_date: datetime.date
    currency: str
    sections: tuple = field(default_factory=tuple)
    # How to show values: the customer's language's, Brazilian by default.
    format_quantity: object = lambda v: format_number(v, 3)
    format_price: object = lambda v: format_number(v, 4)
    format_amount: object = lambda v: format_number(v, 2)
    format_date: object = format_date

    def check(self):
        "Raise UsageStatementPdfError naming the first value that is wrong"
        texts = [('company', self.company), ('party', self.party),
            ('invoice_number', self.invoice_number),
            ('currency', self.currency)]
        for i, section in enumerate(self.sections):
            texts.append(('sections[%d].title' % i, section.title))
            texts.append(('sections[%d].unit' % i, section.unit))
            texts.extend(('sections[%d].lines[%d].label' % (i, j), l.label)
                for j, l in enumerate(section.lines))
            for j, day in enumerate(section.days):
                if day.included + day.charged != day.quantity:
                    raise UsageStatementPdfError(
                        'sections[%d].days[%d]: included %s + charged %s '
                        '!= used %s' % (i, j, day.included, day.charged,
                            day.quantity))
        for name, text in texts:
            _check_text(name, text)


def _check_text(name, text):
    # The standard fonts cover WinAnsi (cp1252): every Portuguese letter;
    # anything else would print as a blank box.
    try:
        str(text).encode('cp1252')
    except UnicodeEncodeError as exc:
        raise UsageStatementPdfError('%s: %r has %r, which the PDF fonts '
            'cannot show' % (name, text, exc.object[exc.start:exc.end]))


class _Styles:
    normal = ParagraphStyle('normal', fontName=FONT, fontSize=9, leading=11)
    bold = ParagraphStyle('bold', parent=normal, fontName=FONT_BOLD)
    title = ParagraphStyle(
        'title', fontName=FONT_BOLD, fontSize=14, leading=18,
        spaceAfter=4 * mm)
    heading = ParagraphStyle(
        'heading', fontName=FONT_BOLD, fontSize=11, leading=14,
        spaceBefore=4 * mm, spaceAfter=2 * mm)
    right = ParagraphStyle('right', parent=normal, alignment=2)
    right_bold = ParagraphStyle('right_bold', parent=bold, alignment=2)


def _p(text, style=_Styles.normal):
    return Paragraph(escape(str(text)), style)


TABLE_STYLE = TableStyle([
        ('FONT', (0, 0), (-1, -1), FONT, 9),
        ('LINEBELOW', (0, 0), (-1, 0), 0.8, colors.black),
        ('LINEABOVE', (0, -1), (-1, -1), 0.8, colors.black),
        ('LINEBELOW', (0, 1), (-1, -2), 0.25, colors.grey),
        ('VALIGN', (0, 0), (-1, -1), 'TOP'),
        ('TOPPADDING', (0, 0), (-1, -1), 1.5),
        ('BOTTOMPADDING', (0, 0), (-1, -1), 1.5),
        ])


def _table(header, rows, footer, widths):
    "A table whose heading repeats on each page it continues on"
    data = [[_p(h, _Styles.bold if i == 0 else _Styles.right_bold)
            for i, h in enumerate(header)]]
    for row in rows:
        data.append([_p(v, _Styles.normal if i == 0 else _Styles.right)
                for i, v in enumerate(row)])
    data.append([_p(v, _Styles.bold if i == 0 else _Styles.right_bold)
            for i, v in enumerate(footer)])
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TABLE_STYLE)
    return table


def _section(doc, section, labels, width):
    qty, price, amount = (
        doc.format_quantity, doc.format_price, doc.format_amount)
    unit = section.unit
    heading = _p(section.title, _Styles.heading)
    days = _table(
        [labels['day'], '%s (%s)' % (labels['used'], unit),
            labels['included'], labels['charged']],
        [[doc.format_date(d.date), qty(d.quantity), qty(d.included),
                qty(d.charged)] for d in section.days],
        ['%s (%s)' % (labels['total'], unit), qty(section.quantity),
            '%s / %s %s' % (qty(section.included), qty(section.allowance),
                labels['allowance']),
            qty(section.charged)],
        [width * 0.22, width * 0.22, width * 0.34, width * 0.22])
    pricing = _table(
        [labels['pricing'], labels['quantity'], labels['unit_price'],
            labels['amount']],
        [[l.label, qty(l.quantity), price(l.unit_price), amount(l.amount)]
            for l in section.lines],
        [labels['invoice_amount'], '', '',
            '%s %s' % (doc.currency, amount(section.amount))],
        [width * 0.46, width * 0.18, width * 0.18, width * 0.18])
    return [KeepTogether([heading, days]), Spacer(0, 2 * mm), pricing]


def _story(doc, labels, width):
    story = [
        _p(labels['title'], _Styles.title),
        _p('%s: %s' % (labels['company'], doc.company)),
        _p('%s: %s' % (labels['customer'], doc.party)),
        _p('%s: %s – %s: %s' % (
                labels['invoice'], doc.invoice_number,
                labels['invoice_date'], doc.format_date(doc.invoice_date))),
        ]
    if not doc.sections:
        story.append(Spacer(0, 4 * mm))
        story.append(_p(labels['no_usage']))
    for section in doc.sections:
        story.extend(_section(doc, section, labels, width))
    return story


def render_usage_statement_pdf(document, labels, compress=False):
    """Return the PDF bytes of the usage statement of one invoice.

    labels maps each key of LABELS to its text. The document is checked
    before anything is drawn. compress=True deflates the pages."""
    missing = [k for k in LABELS if not labels.get(k)]
    if missing:
        raise UsageStatementPdfError(
            'labels: missing %s' % ', '.join(missing))
    for key in LABELS:
        _check_text('labels[%s]' % key, labels[key])
    document.check()
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
        topMargin=MARGIN, bottomMargin=MARGIN + 5 * mm,
        title=labels['title'], author=document.company, creator='Ciclo',
        invariant=1, pageCompression=1 if compress else 0)

    def footer(canvas, doc_template):
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.drawRightString(
            A4[0] - MARGIN, MARGIN,
            '%s – %s %d' % (document.invoice_number, labels['page'],
                doc_template.page))
        canvas.restoreState()
    pdf.build(_story(document, labels, pdf.width),
        onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
