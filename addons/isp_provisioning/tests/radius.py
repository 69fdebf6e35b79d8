# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A real FreeRADIUS for the tests, and a RADIUS client to ask it.

Usage (a ModuleTestCase or a scenario)::

    from trytond.modules.isp_provisioning.tests import radius

    server = radius.ensure()      # skips off PostgreSQL, fails under CI
    # server.db_uri: the FreeRADIUS database, to put in a backend:
    backend = Backend(name='RADIUS', kind='freeradius',
        radius_uri=server.db_uri)
    ...                           # change the access, run the queue
    accepted, reply = radius.authenticate('login', 'password')
    assert accepted
    assert reply['Mikrotik-Rate-Limit'] == '5M/10M'  # upload/download

`ensure()` runs `scripts/radius.sh start` once per process: it installs
Debian's freeradius when missing, creates the FreeRADIUS database
(`ciclo_radius`, its rlm_sql schema) on the test PostgreSQL and starts a
private server on 127.0.0.1 at a free UDP port. The server stays up for
other test runs (`scripts/radius.sh stop` stops it). Each test should use its
own logins (see `unique_login`): runs share the database.

When the tests do not run on PostgreSQL (TRYTOND_DATABASE__URI=sqlite://),
`ensure()` raises unittest.SkipTest (RuntimeError with skip=False, for a
doctest, which cannot skip: check `on_postgresql()` first). On PostgreSQL a
server that cannot be started is an error, never a skip, so the project's
test command (and CI, CICLO_REQUIRE_VECTORS=1 / CI=true) fails loudly.

`authenticate()` sends one PAP Access-Request with `radclient` and returns
(accepted, reply attributes as {name: value}, values unquoted; an attribute
sent more than once gives a list).
"""
import os
import re
import subprocess
import unittest
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / 'scripts' / 'radius.sh'
DATABASE = 'ciclo_radius'


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    secret: str
    db_uri: str


_server = None


def on_postgresql():
    from trytond import backend
    return backend.name == 'postgresql'


def _parse_env(text):
    values = dict(
        line.split('=', 1) for line in text.splitlines() if '=' in line)
    return Server(
        host=values['CICLO_RADIUS_HOST'],
        port=int(values['CICLO_RADIUS_PORT']),
        secret=values['CICLO_RADIUS_SECRET'],
        db_uri=values['CICLO_RADIUS_DB_URI'])


def _pg_env():
    """Environment for radius.sh: the tests' PostgreSQL server (without the
    test database name) becomes its CICLO_PG_URI."""
    from trytond import config
    env = dict(os.environ)
    uri = config.get('database', 'uri') or ''
    if uri.startswith('postgresql'):
        scheme, rest = uri.split('://', 1)
        env['CICLO_PG_URI'] = '%s://%s/' % (scheme, rest.split('/', 1)[0])
    return env


def ensure(skip=True):
    "The running test FreeRADIUS (started when needed); see module doc."
    global _server
    if _server is not None:
        return _server
    if not on_postgresql():
        message = ('FreeRADIUS tests need PostgreSQL '
            '(TRYTOND_DATABASE__URI=postgresql://...)')
        if skip:
            raise unittest.SkipTest(message)
        raise RuntimeError(message)
    try:
        result = subprocess.run(
            [str(SCRIPT), 'start', DATABASE], env=_pg_env(),
            capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exception:
        result = None
        error = str(exception)
    else:
        error = result.stderr[-3000:]
    if result is None or result.returncode:
        message = 'FreeRADIUS could not be started (scripts/radius.sh):\n'
        raise RuntimeError(message + error)
    _server = _parse_env(result.stdout)
    return _server


def unique_login(prefix='t'):
    "A login no other test run uses."
    return '%s-%s' % (prefix, uuid.uuid4().hex[:12])


def _quote(value):
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


_REPLY = re.compile(r'^\s+([A-Za-z0-9\-]+) = (.*)$')


def authenticate(login, password, server=None, timeout=3):
    """Send a PAP Access-Request for login/password; return
    (accepted, {attribute: value}) of the answer."""
    server = server or ensure()
    request = 'User-Name = %s, User-Password = %s\n' % (
        _quote(login), _quote(password))
    result = subprocess.run(
        ['radclient', '-x', '-r', '2', '-t', str(timeout),
            '%s:%s' % (server.host, server.port), 'auth', server.secret],
        input=request, capture_output=True, text=True, timeout=30)
    out = result.stdout
    if 'Received Access-Accept' in out:
        accepted = True
    elif 'Received Access-Reject' in out:
        accepted = False
    else:
        raise RuntimeError(
            'no answer from FreeRADIUS at %s:%s:\n%s%s' % (
                server.host, server.port, out, result.stderr))
    reply = {}
    received = out[out.index('Received Access-'):]
    for line in received.splitlines()[1:]:
        match = _REPLY.match(line)
        if not match:
            continue
        name, value = match.groups()
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        if name in reply:
            previous = reply[name]
            reply[name] = (
                previous if isinstance(previous, list) else [previous])
            reply[name].append(value)
        else:
            reply[name] = value
    return accepted, reply


def set_group_reply(group, attribute, value, server=None):
    """Give a radusergroup group a reply attribute (radgroupreply), as an
    operator does for the blocked pool."""
    import psycopg
    server = server or ensure()
    with psycopg.connect(server.db_uri) as conn:
        conn.execute(
            'DELETE FROM radgroupreply WHERE groupname = %s '
            'AND attribute = %s', (group, attribute))
        conn.execute(
            'INSERT INTO radgroupreply (groupname, attribute, op, value) '
            'VALUES (%s, %s, %s, %s)', (group, attribute, ':=', value))
