# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The `ciclo` command: format tools for operators and conformance runs."""
import argparse
import importlib
import sys

from ciclo.conformance import check_csv_rows

# Command groups contributed by the modules' plain-Python format code:
# (module path, description). Each module has register(subparsers).
GROUPS = [
    'trytond.modules.br_boleto_cnab.cli_boleto',
    'trytond.modules.br_boleto_cnab.cli_pix',
    'trytond.modules.br_boleto_cnab.cli_cnab',
    ]

# Conformance kinds: name → (module path, function name).
CONFORMANCE = {
    'docs': ('ciclo.cli', 'conformance_docs'),
    'boleto': ('trytond.modules.br_boleto_cnab.cli_boleto',
        'conformance_boleto'),
    'pix': ('trytond.modules.br_boleto_cnab.cli_pix', 'conformance_pix'),
    'cnab': ('trytond.modules.br_boleto_cnab.cli_cnab', 'conformance_cnab'),
    'cnab-files': ('trytond.modules.br_boleto_cnab.cli_cnab',
        'conformance_cnab_files'),
    }


def doc_check(args):
    from trytond.modules.subscription_core import documents
    try:
        kind, _, formatted = documents.check(args.value)
    except documents.DocumentError as exception:
        print("invalid: %s" % exception, file=sys.stderr)
        return 1
    print("%s %s" % (kind.upper(), formatted))
    return 0


def conformance_docs(path, root=None):
    """Check every row of a docs vectors file (value,valid,source)."""
    from trytond.modules.subscription_core import documents

    def check_row(row):
        # The file writes a newline inside a value as the two characters
        # backslash-n.
        value = row['value'].replace('\\n', '\n')
        expected = row['valid'].strip().lower() == 'true'
        try:
            documents.check(value)
            got, reason = True, 'valid'
        except documents.DocumentError as exception:
            got, reason = False, str(exception)
        if got != expected:
            return ['%r expected %s, got %s (%s)' % (
                    row['value'], row['valid'], got, reason)]
        return []
    return check_csv_rows(path, check_row, root=root)


def conformance(args):
    module, name = CONFORMANCE[args.kind]
    function = getattr(importlib.import_module(module), name)
    passed, failed = function(args.file, root=args.root)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog='ciclo',
        description="Ciclo format tools: CPF/CNPJ, boleto, PIX, CNAB "
        "and conformance runs against test vectors.")
    subparsers = parser.add_subparsers(dest='command', required=True)

    doc = subparsers.add_parser('doc', help="CPF and CNPJ")
    doc_sub = doc.add_subparsers(dest='doc_command', required=True)
    check = doc_sub.add_parser(
        'check', help="check a CPF or CNPJ (alphanumeric CNPJ included)")
    check.add_argument('value')
    check.set_defaults(func=doc_check)

    for path in GROUPS:
        try:
            module = importlib.import_module(path)
        except ImportError:
            continue
        module.register(subparsers)

    conf = subparsers.add_parser(
        'conformance',
        help="check a vectors file; ends with 'N passed, M failed'")
    conf.add_argument('kind', choices=sorted(CONFORMANCE))
    conf.add_argument('file')
    conf.add_argument(
        '--root', help="folder the files named in FILE are relative to")
    conf.set_defaults(func=conformance)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
