# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Make pytest run the host's tests: ModuleTestCase classes (collected as
unittest classes) and the proteus scenario_*.rst doctests, the way
trytond's load_doc_tests runs them (same option flags, set-up, checker
and .json variants)."""
import doctest
import json
import unittest

import pytest


def pytest_collect_file(parent, file_path):
    if file_path.suffix == '.rst' and file_path.name.startswith('scenario_'):
        return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):

    def collect(self):
        config = self.path.with_suffix('.json')
        variants = json.loads(config.read_text()) if config.exists() else [{}]
        for i, globs in enumerate(variants):
            name = self.path.stem if len(variants) == 1 else (
                '%s[%s]' % (self.path.stem, i))
            yield ScenarioItem.from_parent(self, name=name, globs=globs)


class ScenarioFailure(Exception):
    pass


class ScenarioItem(pytest.Item):

    def __init__(self, *, globs, **kwargs):
        super().__init__(**kwargs)
        self.globs = globs

    def runtest(self):
        from trytond import backend
        from trytond.tests.test_tryton import (
            STRIP_DECIMAL, doctest_checker, doctest_setup, doctest_teardown)
        optionflags = (doctest.REPORT_ONLY_FIRST_FAILURE
            | doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL)
        if backend.name == 'sqlite':
            optionflags |= STRIP_DECIMAL
        suite = doctest.DocFileSuite(
            str(self.path), module_relative=False, globs=dict(self.globs),
            setUp=doctest_setup, tearDown=doctest_teardown,
            encoding='utf-8', checker=doctest_checker,
            optionflags=optionflags)
        result = unittest.TestResult()
        suite.run(result)
        problems = result.failures + result.errors
        if problems:
            raise ScenarioFailure('\n'.join(text for _, text in problems))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, 'scenario: %s' % self.name
