# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Where the independent test vectors (../shared/vectors) are.

Tests read them in place; they are never copied into the repository.
Without them, tests skip with a clear message, unless
CICLO_REQUIRE_VECTORS=1 (as CI sets it), in which case they fail.
"""
import os
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def vectors_dir():
    "Return the vectors folder, or None when it is not there"
    path = Path(os.environ.get('CICLO_VECTORS', REPO.parent / 'shared' / 'vectors'))
    return path if path.is_dir() else None


def require_vectors(*parts):
    """Return the path of a vectors file or folder for a test.

    Skips the test when the vectors are absent, fails it instead when
    CICLO_REQUIRE_VECTORS=1."""
    base = vectors_dir()
    path = base.joinpath(*parts) if base else None
    if path is None or not path.exists():
        msg = ('test vectors not found: %s (expected ../shared/vectors beside '
            'the repository, or CICLO_VECTORS)' % '/'.join(parts))
        if os.environ.get('CICLO_REQUIRE_VECTORS') == '1':
            raise AssertionError(msg)
        raise unittest.SkipTest(msg)
    return path
