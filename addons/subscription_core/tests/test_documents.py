# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import io
import unittest
from contextlib import redirect_stdout

from hypothesis import given
from hypothesis import strategies as st

from ciclo import cli
from ciclo.vectors import require_vectors
from trytond.modules.subscription_core import documents


class DocumentsTestCase(unittest.TestCase):
    "CPF and CNPJ checks"

    def test_cpf(self):
        self.assertEqual(
            documents.check('390.533.447-05'),
            ('cpf', '39053344705', '390.533.447-05'))

    def test_alphanumeric_cnpj(self):
        "The alphanumeric CNPJ of IN RFB 2.229/2024 (July 2026)"
        self.assertEqual(
            documents.check('12.ABC.345/01DE-35'),
            ('cnpj', '12ABC34501DE35', '12.ABC.345/01DE-35'))
        with self.assertRaisesRegex(documents.DocumentError, 'check digits'):
            documents.check('12ABC34501DE3A')

    def test_refused(self):
        for value, reason in [
                ('111.111.111-11', 'not issued'),
                ('00000000000000', 'not issued'),
                ('231.002.999-00', 'checksum'),
                ('1', '1 characters'),
                ('', 'empty'),
                ]:
            with self.subTest(value=value):
                with self.assertRaisesRegex(documents.DocumentError, reason):
                    documents.check(value)

    @given(st.text(max_size=30))
    def test_any_text_is_checked_or_refused(self, value):
        try:
            kind, number, formatted = documents.check(value)
        except documents.DocumentError:
            return
        self.assertIn(kind, {'cpf', 'cnpj'})
        self.assertEqual(documents.compact(formatted), number)

    def test_conformance_docs(self):
        "ciclo conformance docs passes every row of the public vectors"
        path = require_vectors('docs', 'vectors.csv')
        out = io.StringIO()
        with redirect_stdout(out):
            code = cli.main(['conformance', 'docs', str(path)])
        last = out.getvalue().strip().splitlines()[-1]
        self.assertRegex(last, r'^\d+ passed, 0 failed$')
        self.assertEqual(code, 0)

    def test_doc_check_command(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(cli.main(['doc', 'check', '11222333000181']), 0)
        self.assertEqual(out.getvalue().strip(), 'CNPJ 11.222.333/0001-81')
