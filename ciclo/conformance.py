# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The loop every row-per-case conformance check shares."""
import csv
from pathlib import Path


def check_csv_rows(path, check_row, label=None, root=None):
    """Run check_row(row) → list of errors over every row of a CSV file.

    Prints one line per failing row (its CSV line number, label(row) when
    given, and the errors) and returns (passed, failed). A row that raises
    counts as failed: a bad row must not stop the run."""
    path = Path(path)
    if root is not None and not path.is_absolute():
        path = Path(root) / path
    try:
        with open(path, newline='', encoding='utf-8-sig') as file:
            rows = list(csv.DictReader(file))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        print('%s: cannot read: %s' % (path, exc))
        return 0, 1
    passed = failed = 0
    for number, row in enumerate(rows, 2):
        try:
            errors = check_row(row)
        except Exception as exc:
            errors = ['%s: %s' % (type(exc).__name__, exc)]
        if errors:
            failed += 1
            where = 'row %d' % number
            if label:
                where += ' (%s)' % label(row)
            print('%s: %s' % (where, '; '.join(errors)))
        else:
            passed += 1
    return passed, failed
