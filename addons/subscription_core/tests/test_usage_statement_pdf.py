# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Usage statement PDF: its text (read back with pypdf) against a golden
file, determinism, page breaks and refused input."""
import datetime
import io
import os
import unittest
from decimal import Decimal
from pathlib import Path

import pypdf

from trytond.modules.subscription_core.usage_statement_pdf import (
    LABELS, PricingLine, StatementDay, StatementDocument, StatementSection,
    UsageStatementPdfError, render_usage_statement_pdf)

D = Decimal
GOLDEN = Path(__file__).parent / 'golden' / 'usage_statement.txt'
# As msg_usage_statement_* are translated in locale/pt.po.
LABELS_PT = {
    'title': "Extrato de utilização",
    'company': "Prestador",
    'customer': "Cliente",
    'invoice': "Fatura",
    'invoice_date': "Emitida em",
    'day': "Dia",
    'used': "Utilizado",
    'included': "Incluído",
    'charged': "Cobrado",
    'total': "Total",
    'allowance': "de franquia",
    'pricing': "Tarifação",
    'quantity': "Quantidade",
    'unit_price': "Preço unitário",
    'amount': "Valor",
    'invoice_amount': "Cobrado na fatura",
    'no_usage': "Nenhuma utilização foi cobrada nesta fatura.",
    'page': "página",
    }


def traffic_section(days=None):
    "650.5 GB over 4 days, 100 GB included, graduated tiers: R$ 90.05"
    days = days or [
        (datetime.date(2026, 3, 12), D('120'), D('100'), D('20')),
        (datetime.date(2026, 3, 20), D('180.5'), D('0'), D('180.5')),
        (datetime.date(2026, 3, 31), D('300'), D('0'), D('300')),
        (datetime.date(2026, 4, 9), D('50'), D('0'), D('50')),
        ]
    return StatementSection(
        title="Tráfego excedente – Traffic",
        unit='GB',
        days=tuple(StatementDay(*d) for d in days),
        quantity=sum((d[1] for d in days), D(0)),
        allowance=D('100'),
        included=sum((d[2] for d in days), D(0)),
        charged=sum((d[3] for d in days), D(0)),
        lines=(
            PricingLine("Franquia 100", D('100'), D('0'), D('0')),
            PricingLine("Faixa 0–200", D('200'), D('0.20'), D('40.00')),
            PricingLine("Faixa 200–500", D('300'), D('0.15'), D('45.00')),
            PricingLine("Faixa 500–", D('50.5'), D('0.10'), D('5.05')),
            ),
        amount=D('90.05'))


def document(sections=None):
    return StatementDocument(
        company="Fibra Rápida Telecom Ltda",
        party="Padaria Pão Quente",
        invoice_number='FAT/2026/0042',
        invoice_date=datetime.date(2026, 4, 10),
        currency='R$',
        sections=(traffic_section(),) if sections is None else sections)


def text(pdf):
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return '\n'.join(page.extract_text() for page in reader.pages)


class UsageStatementPdfTestCase(unittest.TestCase):
    "Usage statement PDF"

    @classmethod
    def setUpClass(cls):
        cls.pdf = render_usage_statement_pdf(document(), LABELS_PT)

    def test_labels_complete(self):
        "The test labels cover every label the PDF prints"
        self.assertEqual(set(LABELS_PT), set(LABELS))

    def test_golden_text(self):
        "The statement's text is the golden one"
        got = text(self.pdf)
        if os.environ.get('CICLO_UPDATE_GOLDEN'):
            GOLDEN.parent.mkdir(exist_ok=True)
            GOLDEN.write_text(got, encoding='utf-8')
        self.assertEqual(got, GOLDEN.read_text(encoding='utf-8'),
            'usage statement text differs from %s '
            '(CICLO_UPDATE_GOLDEN=1 to accept)' % GOLDEN.name)

    def test_deterministic(self):
        "The same statement gives the same bytes"
        self.assertEqual(
            render_usage_statement_pdf(document(), LABELS_PT), self.pdf)

    def test_compressed(self):
        "Compression changes the size, not the text"
        pdf = render_usage_statement_pdf(document(), LABELS_PT, compress=True)
        self.assertLess(len(pdf), len(self.pdf))
        self.assertEqual(text(pdf), text(self.pdf))

    def test_long_month_continues_on_next_page(self):
        "A metric with many days continues with its heading repeated"
        days = [(datetime.date(2026, 3, 1) + datetime.timedelta(i),
                D('10'), D('0'), D('10')) for i in range(31)]
        sections = tuple(traffic_section(days) for _ in range(3))
        pdf = render_usage_statement_pdf(document(sections), LABELS_PT)
        pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
        self.assertGreater(len(pages), 1)
        for page in pages[1:]:
            self.assertIn('Dia', page.extract_text())
        # Nothing lost: every day of every section is printed.
        self.assertEqual(text(pdf).count('31/03/2026'), 3)

    def test_no_usage(self):
        "An invoice without usage says so"
        pdf = render_usage_statement_pdf(document(()), LABELS_PT)
        self.assertIn(LABELS_PT['no_usage'], text(pdf))

    def test_missing_label(self):
        "A missing label is refused, naming it"
        labels = dict(LABELS_PT, page='')
        with self.assertRaisesRegex(UsageStatementPdfError, 'page'):
            render_usage_statement_pdf(document(), labels)

    def test_text_outside_fonts(self):
        "A name the PDF fonts cannot show is refused, not printed blank"
        doc = document()
        doc = StatementDocument(
            company=doc.company, party="Café ☕", invoice_number='1',
            invoice_date=doc.invoice_date, currency='R$',
            sections=doc.sections)
        with self.assertRaisesRegex(UsageStatementPdfError, 'party'):
            render_usage_statement_pdf(doc, LABELS_PT)

    def test_day_split_inconsistent(self):
        "A day whose included and charged do not add up is refused"
        section = traffic_section([
                (datetime.date(2026, 3, 12), D('120'), D('100'), D('10'))])
        with self.assertRaisesRegex(
                UsageStatementPdfError, r'sections\[0\]\.days\[0\]'):
            render_usage_statement_pdf(document((section,)), LABELS_PT)
