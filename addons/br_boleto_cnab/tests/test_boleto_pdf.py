# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Boleto PDF: read back what was drawn, independently of the renderer.

The ITF bars and QR modules are recovered from the page's content stream
(rectangles), then decoded twice: by a decoder written here from the ITF
definition, and by zxing-cpp (a separate implementation)."""
import contextlib
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pypdf
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from reportlab.pdfbase.pdfmetrics import stringWidth

from ciclo.cli import main as ciclo_main
from trytond.modules.br_boleto_cnab.boleto import format_typed_line
from trytond.modules.br_boleto_cnab.boleto_banks import BANKS, make_boleto
from trytond.modules.br_boleto_cnab.boleto_pdf import (
    BoletoDocument, BoletoPdfError, Party, amount_in_words, bank_code_dv,
    format_amount, format_percent, format_tax_id, itf_elements,
    render_boleto_pdf, wrap)
from trytond.modules.br_boleto_cnab.pix import encode as pix_encode

GOLDEN = Path(__file__).parent / 'golden' / 'boleto_341.pdf'
MM = 72 / 25.4
DUE = dt.date(2026, 12, 10)
PIX = pix_encode('CICLO TELECOM LTDA', 'SAO PAULO',
    url='pix.example.com/qr/v2/cobv/9d36b84fc70b478fb95c12729b90ca25')

# ITF digit patterns written from the symbology (bars/spaces: 1 = wide);
# kept apart from boleto_pdf's table so a wrong row there is caught
ITF_DECODE = {
    '00110': '0', '10001': '1', '01001': '2', '11000': '3', '00101': '4',
    '10100': '5', '01100': '6', '00011': '7', '10010': '8', '01010': '9',
    }


def fields():
    "Itaú carteira 109 boleto, as the ERP would pass it (hybrid)"
    boleto = make_boleto('341', DUE, Decimal('123.45'), agencia='0607',
        conta='15255', carteira='109', nosso_numero='12345678')
    return dict(bank='341', barcode=boleto.barcode,
        nosso_numero=boleto.nosso_numero, document_number='NF 2026/000123',
        document_date=dt.date(2026, 11, 20),
        processing_date=dt.date(2026, 11, 20), due_date=DUE,
        amount=Decimal('123.45'),
        beneficiary=Party('Ciclo Telecom Ltda', '11222333000181',
            ('Rua Augusta, 1500 - Consolação', '01304-001 São Paulo/SP')),
        beneficiary_code='0607/15255-0',
        payer=Party('Maria José da Silva Conceição', '111.444.777-35',
            ('Rua das Flores, 42, apto 31 - Centro',
                '80020-010 Curitiba/PR')),
        carteira='109', fine_percent=Decimal('2'),
        interest_monthly_percent=Decimal('1'),
        instructions=('Não receber após 60 dias do vencimento.',),
        description=('Plano Fibra 500 Mb - dezembro/2026',
            'Fatura NF 2026/000123'),
        pix_payload=PIX)


def document(**changes):
    return BoletoDocument(**{**fields(), **changes})


def page_text(pdf, page=0):
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[page].extract_text()
    return ' '.join(text.split())


def filled_rects(pdf, page=0):
    "Every filled rectangle (x, y, w, h) of a page, in points"
    data = pypdf.PdfReader(io.BytesIO(pdf)).pages[page].get_contents()
    ops = pypdf.generic.ContentStream(data, None).operations
    rects, pending = [], []
    for operands, operator in ops:
        if operator == b're':
            pending.append(tuple(float(v) for v in operands))
        elif operator in (b'f', b'f*', b'F', b'B', b'B*'):
            rects.extend(pending)
            pending = []
        elif operator in (b'S', b'n', b's'):
            pending = []
    return rects


def itf_bars(pdf):
    "The 13 mm high bars, left to right"
    return sorted(r for r in filled_rects(pdf)
        if abs(r[3] - 13 * MM) < 0.01)


def bars_to_elements(bars):
    "[(is_bar, width in points), ...] from bar rectangles"
    elements = []
    for i, (x, _, w, _) in enumerate(bars):
        if i:
            prev = bars[i - 1]
            elements.append((False, x - prev[0] - prev[2]))
        elements.append((True, w))
    return elements


def decode_itf(elements):
    "Decode ITF from element widths; narrow is the smallest one"
    narrow = min(w for _, w in elements)
    wide = [round(w / narrow) > 1 for _, w in elements]
    if wide[:4] != [False] * 4 or wide[-3:] != [True, False, False]:
        raise ValueError('no ITF start/stop pattern')
    body = wide[4:-3]
    if len(body) % 10:
        raise ValueError('ITF body of %d elements' % len(body))
    digits = ''
    for i in range(0, len(body), 10):
        chunk = body[i:i + 10]
        for part in (chunk[0::2], chunk[1::2]):
            digits += ITF_DECODE[''.join('1' if w else '0' for w in part)]
    return digits


def itf_image(elements, px=3, quiet=10):
    "A 1-D raster of the bars (px pixels per narrow unit) for zxing"
    narrow = min(w for _, w in elements)
    row = [255] * (quiet * px)
    for is_bar, w in elements:
        row += [0 if is_bar else 255] * (round(w / narrow) * px)
    row += [255] * (quiet * px)
    image = Image.new('L', (len(row), 40))
    image.putdata(row * 40)
    return image


def qr_matrix(pdf):
    "Dark-module matrix rebuilt from the QR's run rectangles"
    rects = [r for r in filled_rects(pdf) if r[3] < 2 * MM]
    module = rects[0][3]
    x0 = min(r[0] for r in rects)
    y_top = max(r[1] for r in rects)
    size = round((max(r[0] + r[2] for r in rects) - x0) / module)
    matrix = [[False] * size for _ in range(size)]
    for x, y, w, h in rects:
        assert abs(h - module) < 1e-3
        row = round((y_top - y) / module)
        start = round((x - x0) / module)
        for col in range(start, start + round(w / module)):
            matrix[row][col] = True
    return matrix


def qr_decode(matrix, px=6, quiet=4):
    size = len(matrix) + 2 * quiet
    image = Image.new('L', (size * px, size * px), 255)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                image.paste(0, ((c + quiet) * px, (r + quiet) * px,
                        (c + quiet + 1) * px, (r + quiet + 1) * px))
    results = zxingcpp.read_barcodes(image,
        formats=zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in results]


class FormatTestCase(unittest.TestCase):

    def test_bank_code_dv(self):
        # the mod 11 remainder (weights 9, 8, 7 from the right) wherever it
        # is a single digit; the banks' own choice where it is 10
        for bank in BANKS:
            with self.subTest(bank=bank):
                rest = sum(int(d) * w for d, w in zip(reversed(bank),
                        (9, 8, 7))) % 11
                expected = {'104': '0', '748': 'X', '085': '1'}.get(bank,
                    str(rest))
                self.assertEqual(rest == 10, bank in ('104', '748', '085'))
                self.assertEqual(bank_code_dv(bank), expected)

    def test_amount_in_words(self):
        for amount, words in [
                ('123.45', 'cento e vinte e três reais e quarenta e cinco '
                    'centavos'),
                ('1.00', 'um real'),
                ('0.50', 'cinquenta centavos'),
                ('2.01', 'dois reais e um centavo'),
                ('1000000.00', 'um milhão de reais')]:
            with self.subTest(amount=amount):
                self.assertEqual(amount_in_words(Decimal(amount)), words)

    def test_format(self):
        self.assertEqual(format_amount(Decimal('1234567.8')), '1.234.567,80')
        self.assertEqual(format_amount(Decimal('0.05')), '0,05')
        with self.assertRaisesRegex(BoletoPdfError, '1.005 has more than 2'):
            format_amount(Decimal('1.005'))
        self.assertEqual(format_percent(Decimal('2')), '2,00%')
        self.assertEqual(format_percent(Decimal('0.0333')), '0,0333%')
        self.assertEqual(format_tax_id('11222333000181', 'x'),
            '11.222.333/0001-81')
        self.assertEqual(format_tax_id('11144477735', 'x'), '111.444.777-35')
        # alphanumeric CNPJ (IN RFB 2.229/2024)
        self.assertEqual(format_tax_id('12ABC34501DE35', 'x'),
            '12.ABC.345/01DE-35')
        with self.assertRaisesRegex(BoletoPdfError, 'payer.*not a valid'):
            format_tax_id('11144477736', 'payer')

    @given(st.lists(st.integers(0, 9), min_size=1, max_size=30))
    def test_itf_round_trip(self, numbers):
        code = ''.join(map(str, numbers))
        if len(code) % 2:
            code = '0' + code
        self.assertEqual(decode_itf(itf_elements(code)), code)

    @given(st.text(st.sampled_from('abc ÁÇç\n'), max_size=80),
        st.integers(5, 60))
    def test_wrap_never_cuts(self, text, width_mm):
        "Every word comes out, in order, on lines that fit; or it raises"
        try:
            lines = wrap(text, 'Helvetica', 7.5, width_mm * MM, 'x')
        except BoletoPdfError:
            self.assertTrue(any(stringWidth(w, 'Helvetica', 7.5)
                    > width_mm * MM for w in text.split()))
            return
        self.assertEqual(' '.join(' '.join(lines).split()),
            ' '.join(text.split()))
        for line in lines:
            self.assertLessEqual(stringWidth(line, 'Helvetica', 7.5),
                width_mm * MM)

    def test_itf_odd_length(self):
        with self.assertRaisesRegex(BoletoPdfError, 'even number'):
            itf_elements('123')


class RenderTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.pdf = render_boleto_pdf([document()])

    def test_text(self):
        text = page_text(self.pdf)
        boleto_line = format_typed_line(document().typed_line)
        self.assertEqual(text.count(boleto_line), 2)  # recibo and ficha
        for expected in ['341-7', 'Itaú',
                'cento e vinte e três reais e quarenta e cinco centavos',
                'Ciclo Telecom Ltda - CNPJ 11.222.333/0001-81',
                'Maria José da Silva Conceição - CPF 111.444.777-35',
                '109/12345678-3', '0607/15255-0', '10/12/2026', '123,45',
                '20/11/2026', 'NF 2026/000123', 'multa de 2,00%',
                'juros de mora de 1,00% ao mês',
                'Não receber após 60 dias do vencimento.',
                'Recibo do Pagador', 'Ficha de Compensação',
                'Pague com Pix', '80020-010 Curitiba/PR']:
            with self.subTest(expected=expected):
                self.assertIn(expected, text)

    def test_itf_decodes_to_barcode(self):
        bars = itf_bars(self.pdf)
        elements = bars_to_elements(bars)
        self.assertEqual(decode_itf(elements), document().barcode)
        results = zxingcpp.read_barcodes(itf_image(elements),
            formats=zxingcpp.BarcodeFormat.ITF)
        self.assertEqual([r.text for r in results], [document().barcode])

    def test_itf_dimensions(self):
        bars = itf_bars(self.pdf)
        widths = sorted({round(w / MM, 3) for _, w in
                bars_to_elements(bars)})
        self.assertEqual(widths, [0.33, 0.99])  # X 0.33 mm, 3:1
        start, end = bars[0][0], bars[-1][0] + bars[-1][2]
        # 44 digits x 9 X + start 4 X + stop 5 X
        self.assertAlmostEqual((end - start) / MM, 405 * 0.33, places=2)
        # quiet zones: no other ink beside the bars' band, 5 mm each side
        band = (bars[0][1], bars[0][1] + bars[0][3])
        for x, y, w, h in filled_rects(self.pdf):
            if (x, y, w, h) in bars or y + h <= band[0] or y >= band[1]:
                continue
            self.assertFalse(x < end + 5 * MM and x + w > start - 5 * MM)
        self.assertGreaterEqual(start, 5 * MM)

    def test_qr_is_the_br_code(self):
        self.assertEqual(qr_decode(qr_matrix(self.pdf)), [PIX])

    @unittest.skipUnless(shutil.which('pdftoppm'), 'needs pdftoppm')
    def test_printed_page_scans(self):
        "The page as a 150 dpi raster, as a phone or scanner sees it"
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, 'b.pdf').write_bytes(self.pdf)
            subprocess.run(['pdftoppm', '-r', '150', '-png',
                    str(Path(tmp, 'b.pdf')), str(Path(tmp, 'page'))],
                check=True)
            image = Image.open(next(Path(tmp).glob('page*.png')))
            found = {(r.format, r.text)
                for r in zxingcpp.read_barcodes(image)}
        self.assertEqual(found, {
                (zxingcpp.BarcodeFormat.QRCode, PIX),
                (zxingcpp.BarcodeFormat.ITF, document().barcode)})

    def test_no_qr_without_pix(self):
        pdf = render_boleto_pdf([document(pix_payload='')])
        self.assertFalse([r for r in filled_rects(pdf) if r[3] < 2 * MM])
        self.assertNotIn('Pague com Pix', page_text(pdf))

    def test_golden(self):
        if os.environ.get('CICLO_UPDATE_GOLDEN'):
            GOLDEN.write_bytes(self.pdf)
        self.assertEqual(self.pdf, GOLDEN.read_bytes(),
            'boleto PDF differs from %s (CICLO_UPDATE_GOLDEN=1 to accept)'
            % GOLDEN.name)

    def test_deterministic(self):
        self.assertEqual(render_boleto_pdf([document()]), self.pdf)

    def test_compressed(self):
        pdf = render_boleto_pdf([document()], compress=True)
        self.assertLess(len(pdf), len(self.pdf) / 2)
        self.assertEqual(page_text(pdf), page_text(self.pdf))
        self.assertEqual(filled_rects(pdf), filled_rects(self.pdf))

    def test_several_pages(self):
        other = make_boleto('001', DUE, Decimal('99.90'), agencia='1234',
            conta='99999', carteira='18', nosso_numero='0000000001',
            convenio='1234567')
        pdf = render_boleto_pdf([document(), document(bank='001',
                    barcode=other.barcode, nosso_numero=other.nosso_numero,
                    amount=Decimal('99.90'), pix_payload='')])
        self.assertEqual(len(pypdf.PdfReader(io.BytesIO(pdf)).pages), 2)
        text = page_text(pdf, 1)
        self.assertIn('001-9', text)
        self.assertIn(format_typed_line(other.typed_line), text)
        self.assertIn('noventa e nove reais e noventa centavos', text)


class FitTestCase(unittest.TestCase):
    "Values that do not fit wrap when the box has room, else raise"

    def test_long_instruction_wraps(self):
        words = ' '.join('palavra%02d' % i for i in range(40))
        pdf = render_boleto_pdf([document(instructions=(words,))])
        self.assertIn(words, page_text(pdf))

    def test_too_many_instruction_lines(self):
        with self.assertRaisesRegex(BoletoPdfError,
                'instructions: needs 12 lines, the box holds 9'):
            render_boleto_pdf([document(
                        instructions=('linha',) * 10)])

    def test_long_name_wraps_into_free_line(self):
        name = 'Associação dos Moradores ' * 6 + 'Final'
        pdf = render_boleto_pdf([document(payer=Party(name,
                        '11144477735', ()))])
        self.assertIn(name.strip(), page_text(pdf))

    def test_long_name_raises_when_box_is_full(self):
        name = 'Associação dos Moradores ' * 9 + 'Final'
        with self.assertRaisesRegex(BoletoPdfError,
                'payer: needs 4 lines, the box holds 3'):
            render_boleto_pdf([document(payer=replace(fields()['payer'],
                            name=name))])

    def test_guarantor(self):
        pdf = render_boleto_pdf([document(guarantor=Party(
                        'Fundo Exemplo', '11222333000181'))])
        self.assertIn('Sacador/Avalista: Fundo Exemplo - CNPJ '
            '11.222.333/0001-81', page_text(pdf))
        with self.assertRaisesRegex(BoletoPdfError,
                'guarantor: needs 3 lines, the box holds 1'):
            render_boleto_pdf([document(guarantor=Party(
                            'Fundo Exemplo ' * 30, '11222333000181'))])

    def test_character_without_glyph_raises(self):
        with self.assertRaisesRegex(BoletoPdfError,
                "payer: .* has 'ł', which the PDF fonts cannot show"):
            render_boleto_pdf([document(payer=Party('Paweł Nowak',
                            '11144477735'))])

    def test_unbreakable_word_raises(self):
        with self.assertRaisesRegex(BoletoPdfError,
                "Nº do Documento: 'X+' is wider than its 38 mm box"):
            render_boleto_pdf([document(document_number='X' * 40)])


class CheckTestCase(unittest.TestCase):
    "Inconsistent input raises before anything is drawn"

    def test_amount_disagrees_with_barcode(self):
        with self.assertRaisesRegex(BoletoPdfError,
                'barcode: amount 123.45, document says 123.46'):
            render_boleto_pdf([document(amount=Decimal('123.46'))])

    def test_due_date_disagrees_with_barcode(self):
        with self.assertRaisesRegex(BoletoPdfError, 'barcode: due date'):
            render_boleto_pdf([document(due_date=dt.date(2026, 12, 11))])

    def test_float_amount(self):
        with self.assertRaisesRegex(BoletoPdfError, 'amount.*not a Decimal'):
            render_boleto_pdf([document(amount=123.45)])

    def test_bad_payer_cpf(self):
        with self.assertRaisesRegex(BoletoPdfError,
                'payer CPF/CNPJ.*not a valid'):
            render_boleto_pdf([document(payer=Party('Maria', '11144477736'))])

    def test_bad_pix(self):
        with self.assertRaisesRegex(BoletoPdfError, 'pix_payload'):
            render_boleto_pdf([document(pix_payload=PIX[:-1] + '0')])

    def test_nothing_to_print(self):
        with self.assertRaisesRegex(BoletoPdfError, 'nothing to print'):
            render_boleto_pdf([])


class CliTestCase(unittest.TestCase):

    def run_cli(self, data):
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp, 'boleto.json')
            output = Path(tmp, 'boleto.pdf')
            source.write_text(json.dumps(data), encoding='utf-8')
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), \
                    contextlib.redirect_stderr(err):
                code = ciclo_main(['boleto', 'pdf', str(source),
                        '-o', str(output)])
            pdf = output.read_bytes() if output.exists() else None
        return code, pdf, err.getvalue()

    def json_fields(self):
        data = fields()
        for key in ('barcode', 'nosso_numero'):
            del data[key]  # computed from the bank inputs
        data.update(agencia='0607', conta='15255', nosso_numero='12345678',
            amount='123.45', fine_percent='2', interest_monthly_percent='1',
            instructions=list(data['instructions']),
            description=list(data['description']))
        for key in ('document_date', 'processing_date', 'due_date'):
            data[key] = data[key].isoformat()
        for key in ('beneficiary', 'payer'):
            party = data[key]
            data[key] = {'name': party.name, 'tax_id': party.tax_id,
                'address': list(party.address)}
        return data

    def test_pdf_equals_api_output(self):
        code, pdf, err = self.run_cli(self.json_fields())
        self.assertEqual((code, err), (0, ''))
        self.assertEqual(pdf, render_boleto_pdf([document()]))

    def test_unknown_key(self):
        data = self.json_fields()
        data['vencimento'] = '2026-12-10'
        code, pdf, err = self.run_cli(data)
        self.assertEqual(code, 1)
        self.assertIsNone(pdf)
        self.assertIn('document 1: unknown keys vencimento', err)

    def test_missing_key(self):
        data = self.json_fields()
        del data['payer']
        code, _, err = self.run_cli(data)
        self.assertEqual(code, 1)
        self.assertIn('document 1: missing keys payer', err)
