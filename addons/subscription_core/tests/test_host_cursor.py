# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import sqlite3
import unittest

from trytond import tools
from trytond.model import modelsql
from trytond.modules.subscription_core import host_cursor


class HostCursorTestCase(unittest.TestCase):
    "The faster cursor_dict gives what the host's gives"

    def rows(self, function, n, size=None):
        connection = sqlite3.connect(':memory:')
        cursor = connection.cursor()
        cursor.execute('CREATE TABLE t (id INTEGER, name TEXT, amount REAL)')
        cursor.executemany('INSERT INTO t VALUES (?, ?, ?)',
            [(i, 'n%d' % i, i / 3) for i in range(n)])
        cursor.execute('SELECT id, name, amount AS value FROM t ORDER BY id')
        return list(function(cursor, size) if size else function(cursor))

    def test_same_rows(self):
        for n in [0, 1, host_cursor.BATCH - 1, host_cursor.BATCH,
                2 * host_cursor.BATCH + 7]:
            for size in [None, 1, 10]:
                with self.subTest(n=n, size=size):
                    ours = self.rows(host_cursor.cursor_dict, n, size)
                    host = self.rows(host_cursor.host_cursor_dict, n, size)
                    self.assertEqual(ours, host)
                    self.assertEqual(len(ours), n)
                    if n:
                        self.assertEqual(ours[-1], {
                                'id': n - 1, 'name': 'n%d' % (n - 1),
                                'value': (n - 1) / 3})

    def test_installed(self):
        host_cursor.install()
        host_cursor.install()
        self.assertIs(modelsql.cursor_dict, host_cursor.cursor_dict)
        self.assertIs(tools.cursor_dict, host_cursor.cursor_dict)
        self.assertIsNot(
            host_cursor.host_cursor_dict, host_cursor.cursor_dict)
