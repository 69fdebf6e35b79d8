# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Make pytest run the host's tests: ModuleTestCase classes (collected as
unittest classes) and the proteus scenario_*.rst doctests, the way
trytond's load_doc_tests runs them (same option flags, set-up, checker
and .json variants)."""
import contextlib
import doctest
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import pytest

ADDONS = Path(__file__).resolve().parent / 'addons'


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


# --- Activated databases: per-worker names, layered and shared caches -------
# trytond's DB_CACHE keeps one activated database per module list, so each
# list pays a full activation (~100 s, nearly all of it the host modules)
# once per run. Below, on a cache miss, a Ciclo module list is activated on
# top of the cached database of the modules it depends on (the Ciclo ones,
# else its host ones, else the bare one: ir and res), and a scenario's
# database (modules + create_company + create_chart) on top of the cached
# module database: the host modules are activated once per run instead of
# once per list. The modules activated stay exactly each list's own.
# Under pytest-xdist each worker gets its own database, and a cache entry is
# built by one worker at a time (the other waits, then restores it) and
# appears only once complete. Restores copy a per-run template database.

# The run's database name, without the worker suffix (names the templates).
_RUN_DB_NAME = None
# The host's functions replaced below.
_HOST = {}


def _xdist_db_name():
    "Give each pytest-xdist worker its own test database."
    global _RUN_DB_NAME
    worker = os.environ.get('PYTEST_XDIST_WORKER')
    if not worker:
        # The host's import sets DB_NAME in os.environ (when unset, to
        # test_<unix time> or :memory:); the xdist workers inherit it.
        from trytond.tests import test_tryton
        _RUN_DB_NAME = test_tryton.DB_NAME
        return
    _RUN_DB_NAME = name = os.environ['DB_NAME']
    if name != ':memory:':
        os.environ['DB_NAME'] = '%s_%s' % (name, worker)


def _module_depends(name):
    from trytond.modules import get_module_info
    info = get_module_info(name) or {}
    return [d for d in info.get('depends', []) if d not in {'ir', 'res'}]


def _is_ciclo(name):
    from trytond.modules import get_module_info
    info = get_module_info(name) or {}
    return Path(info.get('directory', '/')).parent == ADDONS


def _parent_modules(modules):
    """The module list whose activated database `modules` is built on: the
    Ciclo modules they depend on, else their host dependencies, else [] (the
    bare database: ir and res); None for the bare database itself."""
    if not modules:
        return None
    if not all(_is_ciclo(m) for m in modules):
        return []
    ciclo, todo = set(), [d for m in modules for d in _module_depends(m)]
    while todo:
        name = todo.pop()
        if name not in ciclo and _is_ciclo(name):
            ciclo.add(name)
            todo.extend(_module_depends(name))
    if ciclo - set(modules):
        return sorted(ciclo - set(modules))
    return sorted({d for m in modules for d in _module_depends(m)})


@contextlib.contextmanager
def _cache_lock(name):
    "Hold the lock of cache entry `name` (fcntl: released if we die)."
    from trytond.tests import test_tryton
    folder = test_tryton.DB_CACHE
    if folder.startswith('postgresql://'):
        folder = tempfile.gettempdir()
    os.makedirs(folder, exist_ok=True)
    key = hashlib.sha1(('%s\0%s' % (test_tryton.DB_CACHE, name)).encode())
    with open(os.path.join(folder, '.lock-%s' % key.hexdigest()), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _cached(name):
    from trytond.tests import test_tryton
    cache_file = test_tryton._db_cache_file(test_tryton.DB_CACHE, name)
    if cache_file.startswith('postgresql://'):
        return test_tryton.db_exist(cache_file[len(test_tryton.DB_CACHE) + 1:])
    return os.path.exists(cache_file)


def _template_name(cache_file):
    digest = hashlib.sha1(os.path.abspath(cache_file).encode()).hexdigest()
    return '%s_tpl_%s' % (_RUN_DB_NAME, digest[:12])


def _pg_sql(*queries):
    "Run SQL (str or psycopg.sql) on the test server, outside transactions."
    from trytond.transaction import Transaction
    with Transaction().start(
            None, 0, close=True, autocommit=True) as transaction:
        with transaction.connection.cursor() as cursor:
            for query in queries:
                if isinstance(query, tuple):
                    cursor.execute(*query)
                else:
                    cursor.execute(query)
            return cursor.fetchall() if cursor.description else None


def _pg_database_exists(name):
    return bool(_pg_sql(
            ('SELECT 1 FROM pg_database WHERE datname = %s', (name,))))


def _pg_drop(name):
    from psycopg.sql import SQL, Identifier
    if _pg_database_exists(name):
        _pg_sql(
            SQL('ALTER DATABASE {} IS_TEMPLATE false').format(
                Identifier(name)),
            SQL('DROP DATABASE IF EXISTS {}').format(Identifier(name)))


def _pg_make_template(cache_file, template):
    from psycopg.sql import SQL, Identifier
    from trytond.tests import test_tryton
    part = '%s_p%s' % (template, os.getpid())
    _pg_drop(part)
    # A template from the start: the host's database listing (any test
    # run's) never connects to it, which would make the rename fail.
    _pg_sql(
        SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'unicode'")
        .format(Identifier(part)),
        SQL('ALTER DATABASE {} IS_TEMPLATE true').format(Identifier(part)))
    options, env = test_tryton._pg_options()
    result = subprocess.run(
        ['pg_restore', '-d', part, '-j', test_tryton.DB_CACHE_JOBS, *options,
            cache_file], env=env)
    if result.returncode:
        _pg_drop(part)
        return False
    # Renamed once complete: a copy never starts from a partial restore.
    _pg_sql(SQL('ALTER DATABASE {} RENAME TO {}').format(
            Identifier(part), Identifier(template)))
    return True


def _pg_drop_templates():
    "Drop the templates of this run."
    for name, in _pg_sql((
                'SELECT datname FROM pg_database '
                'WHERE starts_with(datname, %s)',
                (_RUN_DB_NAME + '_tpl_',))):
        _pg_drop(name)


def _patch_db_cache():
    from trytond import backend
    from trytond.tests import test_tryton, tools
    if not test_tryton.DB_CACHE:
        # Nothing is cached: layers would only add activations.
        return
    host_activate_module = test_tryton.activate_module
    host_activate_modules = tools.activate_modules
    host_pg_dump = test_tryton._pg_dump
    host_sqlite_copy = test_tryton._sqlite_copy
    host_pg_restore = _HOST['_pg_restore'] = test_tryton._pg_restore

    def activate_module(modules, lang='en'):
        if isinstance(modules, str):
            modules = [modules]
        name = '-'.join(modules) + ('--' + lang if lang != 'en' else '')
        if _cached(name) or test_tryton.db_exist(test_tryton.DB_NAME):
            return host_activate_module(modules, lang=lang)
        with _cache_lock(name):
            parent = None if lang != 'en' else _parent_modules(modules)
            if parent is not None and not _cached(name):
                # Leaves the parent's database in DB_NAME; the host then
                # activates the rest on it and caches the result as `name`.
                activate_module(parent)
            return host_activate_module(modules, lang=lang)

    def activate_modules(modules, *setup):
        if isinstance(modules, str):
            modules = [modules]
        # The host restores a scenario's cache into a new database.
        test_tryton.drop_db()
        name = '-'.join(sorted(modules))
        if setup:
            name += '--' + '|'.join(tools._func_name(f) for f in setup)
        if not setup or _cached(name):
            return host_activate_modules(modules, *setup)
        with _cache_lock(name):
            if _cached(name):
                return host_activate_modules(modules, *setup)
            # As the host does on a miss, from the module-only database.
            activate_module(sorted(modules))
            config = tools._get_config()
            for func in setup:
                func(config=config)
            test_tryton.backup_db_cache(name)
            return config

    def pg_dump(cache_file):
        # Dump beside and rename: a reader never sees a partial dump (one
        # from a run killed mid-way would be restored as is).
        if cache_file.startswith('postgresql://') or os.path.exists(
                cache_file):
            return host_pg_dump(cache_file)
        part = '%s.part-%s' % (cache_file, os.getpid())
        shutil.rmtree(part, ignore_errors=True)
        if not host_pg_dump(part):
            shutil.rmtree(part, ignore_errors=True)
            return False
        try:
            os.rename(part, cache_file)
        except OSError:
            # Another process renamed its dump first.
            shutil.rmtree(part, ignore_errors=True)
        return True

    def pg_restore(cache_file):
        # pg_restore takes seconds (index builds); a copy of a template
        # database a fraction of one. So each cache file is restored once per
        # run into a template (marked as such: the host's database listing
        # never connects to it, which would block the copies), then copied.
        if cache_file.startswith('postgresql://') or not os.path.exists(
                cache_file):
            return host_pg_restore(cache_file)
        template = _template_name(cache_file)
        if not _pg_database_exists(template):
            with _cache_lock('template\0' + cache_file):
                if (not _pg_database_exists(template)
                        and not _pg_make_template(cache_file, template)):
                    return host_pg_restore(cache_file)
        with test_tryton.Transaction().start(
                None, 0, close=True, autocommit=True) as transaction:
            transaction.database.create(
                transaction.connection, test_tryton.DB_NAME, template)
        return True

    def sqlite_copy(file_, restore=False):
        if restore or os.path.exists(file_):
            return host_sqlite_copy(file_, restore=restore)
        part = '%s.part-%s' % (file_, os.getpid())
        if os.path.exists(part):
            os.remove(part)
        if not host_sqlite_copy(part):
            return False
        os.replace(part, file_)
        return True

    test_tryton._pg_dump = pg_dump
    test_tryton._sqlite_copy = sqlite_copy
    # SQLite's in-memory database is always listed as existing, so the host
    # never restores it in activate_module: nothing to build layers on.
    if backend.name == 'postgresql':
        test_tryton.activate_module = activate_module
        tools.activate_modules = activate_modules
        test_tryton._pg_restore = pg_restore


def pytest_configure(config):
    _xdist_db_name()
    # Before the test files import activate_module from the host.
    _patch_db_cache()


def pytest_unconfigure(config):
    test_tryton = sys.modules.get('trytond.tests.test_tryton')
    # Workers leave the templates to the controller (or the single process).
    if (test_tryton and '_pg_restore' in _HOST
            and test_tryton._pg_restore is not _HOST['_pg_restore']
            and not hasattr(config, 'workerinput')):
        _pg_drop_templates()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """Drop the test database after a file's last test: unittest classes
    that only activate_module (no tearDownClass) leave it behind, and the
    next file, on this worker whichever it is, must not inherit it."""
    result = yield
    test_tryton = sys.modules.get('trytond.tests.test_tryton')
    if test_tryton and (nextitem is None or nextitem.path != item.path):
        from trytond.pool import Pool
        # A pool is open on every database this process created or
        # restored and did not drop; asking the server lists them all.
        if test_tryton.DB_NAME in Pool.database_list():
            test_tryton.drop_db()
    return result


def _needs_database(item):
    if isinstance(item, ScenarioItem):
        return True
    test_tryton = sys.modules.get('trytond.tests.test_tryton')
    cls = getattr(item, 'cls', None)
    return bool(test_tryton and (
            (cls and issubclass(cls, test_tryton._DBTestCase))
            or hasattr(getattr(item, 'module', None), 'activate_module')))


def pytest_collection_modifyitems(session, config, items):
    """Run the first file that needs a database, then the files that need
    none, then the others: while one xdist worker activates the host modules
    for the cache (minutes), the other runs database-free files instead of
    waiting for it (scripts/test.sh keeps this order: --no-loadscope-reorder).
    Each file's tests keep their order."""
    files = {}
    for item in items:
        files.setdefault(item.path, []).append(item)
    with_db = [f for f in files.values() if any(map(_needs_database, f))]
    without_db = [f for f in files.values() if f not in with_db]
    order = with_db[:1] + without_db + with_db[1:]
    items[:] = [item for file_items in order for item in file_items]
