# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""FreeRADIUS SQL rows (rlm_sql schema) for an access payload, and their
idempotent application to a FreeRADIUS PostgreSQL database.

Plain Python (no ORM) so it can be tested alone and used from scripts.

What FreeRADIUS does with the rows (rlm_sql, the stock queries.conf):
- radcheck: `Cleartext-Password := <password>` is checked by pap;
  `Auth-Type := Reject` rejects the user whatever the password.
- radreply: attributes sent back in the Access-Accept, here the speed
  (`Mikrotik-Rate-Limit := "<upload>/<download>"`).
- radusergroup: the user's group; the operator may give a group reply
  attributes in radgroupreply (e.g. the blocked group a `Framed-Pool` that
  redirects to a payment page).
A user with no radcheck row is unknown and rejected (cancelled access).
"""
import re
from dataclasses import dataclass, field

STATES = ('active', 'reduced', 'blocked', 'cancelled')
# Column sizes of the stock schema
# (freeradius: mods-config/sql/main/postgresql/schema.sql):
# UserName VARCHAR(64), Value VARCHAR(253), GroupName VARCHAR(64).
MAX_LOGIN = 64
MAX_VALUE = 253
MAX_GROUP = 64
# Each speed is sent as an integer of k (1,000 bit/s) or M (1,000,000 bit/s);
# larger than 100 Gbit/s is a typing error, not a plan.
MAX_KBPS = 100_000_000
# Printable, no quotes or backslashes: rlm_sql expands these values into
# its queries and RADIUS clients into config lines.
_LOGIN = re.compile(r'^[A-Za-z0-9._@+\-]+$')
_ATTRIBUTE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9\-]*$')


class PayloadError(ValueError):
    "A payload value FreeRADIUS cannot take; `field` names it."

    def __init__(self, field, value, reason):
        super().__init__('%s=%r: %s' % (field, value, reason))
        self.field = field
        self.value = value
        self.reason = reason


@dataclass(frozen=True)
class Settings:
    rate_attribute: str = 'Mikrotik-Rate-Limit'
    # Group of each state in radusergroup (None: no group row).
    groups: dict = field(default_factory=lambda: {
            'active': 'ciclo_active',
            'reduced': 'ciclo_reduced',
            'blocked': 'ciclo_blocked',
            })
    # reject: blocked users get Auth-Type := Reject (Access-Reject);
    # group: they are accepted in the blocked group only (no speed), for
    # providers that redirect blocked users to a payment page.
    blocked_mode: str = 'reject'

    def __post_init__(self):
        if not _ATTRIBUTE.match(self.rate_attribute or ''):
            raise PayloadError(
                'rate_attribute', self.rate_attribute,
                'not a RADIUS attribute name')
        if self.blocked_mode not in ('reject', 'group'):
            raise PayloadError(
                'blocked_mode', self.blocked_mode, 'must be reject or group')
        for state, group in self.groups.items():
            if group and (len(group) > MAX_GROUP or not _LOGIN.match(group)):
                raise PayloadError(
                    'group_%s' % state, group, 'not a valid group name')


@dataclass(frozen=True)
class Rows:
    "Rows of one user: (attribute, op, value) and (group, priority)."
    check: tuple = ()
    reply: tuple = ()
    groups: tuple = ()


def speed(kbps):
    "A speed in kbit/s as MikroTik writes it: 10000 -> '10M', 1500 -> '1500k'"
    if kbps % 1000 == 0:
        return '%dM' % (kbps // 1000)
    return '%dk' % kbps


def rate_limit(download_kbps, upload_kbps):
    """Mikrotik-Rate-Limit value: "rx-rate/tx-rate" seen from the router, so
    rx is the client's upload and tx its download (MikroTik RADIUS client
    manual, vendor attribute 8 Rate-Limit)."""
    return '%s/%s' % (speed(upload_kbps), speed(download_kbps))


def _check_kbps(payload, name):
    value = payload.get(name)
    if (not isinstance(value, int) or isinstance(value, bool)
            or not 0 < value <= MAX_KBPS):
        raise PayloadError(
            name, value, 'must be a whole number of kbit/s from 1 to %d'
            % MAX_KBPS)
    return value


def validate(payload):
    "Raise PayloadError for the first value FreeRADIUS cannot take."
    state = payload.get('state')
    if state not in STATES:
        raise PayloadError('state', state, 'must be one of %s' % (STATES,))
    login = payload.get('login')
    if (not isinstance(login, str) or not login or len(login) > MAX_LOGIN
            or not _LOGIN.match(login)):
        raise PayloadError(
            'login', login, 'must be 1 to %d letters, digits or ._@+-'
            % MAX_LOGIN)
    if state == 'cancelled':
        return
    password = payload.get('password')
    if (not isinstance(password, str) or not password
            or len(password) > MAX_VALUE
            or not password.isprintable()):
        raise PayloadError(
            'password', '***', 'must be 1 to %d printable characters'
            % MAX_VALUE)
    if state == 'active':
        _check_kbps(payload, 'download_kbps')
        _check_kbps(payload, 'upload_kbps')
    elif state == 'reduced':
        _check_kbps(payload, 'reduced_download_kbps')
        _check_kbps(payload, 'reduced_upload_kbps')


def rows(payload, settings=Settings()):
    "The radcheck/radreply/radusergroup rows of payload's user."
    validate(payload)
    return globals()['_rows_%s' % payload['state']](payload, settings)


def _group(settings, state):
    group = settings.groups.get(state)
    return ((group, 1),) if group else ()


def _password(payload):
    return ('Cleartext-Password', ':=', payload['password'])


def _rows_active(payload, settings):
    return Rows(
        check=(_password(payload),),
        reply=((settings.rate_attribute, ':=', rate_limit(
                        payload['download_kbps'], payload['upload_kbps'])),),
        groups=_group(settings, 'active'))


def _rows_reduced(payload, settings):
    return Rows(
        check=(_password(payload),),
        reply=((settings.rate_attribute, ':=', rate_limit(
                        payload['reduced_download_kbps'],
                        payload['reduced_upload_kbps'])),),
        groups=_group(settings, 'reduced'))


def _rows_blocked(payload, settings):
    check = (_password(payload),)
    if settings.blocked_mode == 'reject':
        check += (('Auth-Type', ':=', 'Reject'),)
    return Rows(check=check, groups=_group(settings, 'blocked'))


def _rows_cancelled(payload, settings):
    return Rows()


def read(cursor, login):
    "The Rows FreeRADIUS holds for login."
    cursor.execute(
        'SELECT attribute, op, value FROM radcheck '
        'WHERE username = %s ORDER BY id', (login,))
    check = tuple(map(tuple, cursor.fetchall()))
    cursor.execute(
        'SELECT attribute, op, value FROM radreply '
        'WHERE username = %s ORDER BY id', (login,))
    reply = tuple(map(tuple, cursor.fetchall()))
    cursor.execute(
        'SELECT groupname, priority FROM radusergroup '
        'WHERE username = %s ORDER BY priority, groupname', (login,))
    groups = tuple(map(tuple, cursor.fetchall()))
    return Rows(check=check, reply=reply, groups=groups)


def write(cursor, login, new):
    "Replace login's rows by new; the caller holds the transaction."
    for table in ('radcheck', 'radreply', 'radusergroup'):
        cursor.execute(
            'DELETE FROM %s WHERE username = %%s' % table, (login,))
    for table, values in (('radcheck', new.check), ('radreply', new.reply)):
        for attribute, op, value in values:
            cursor.execute(
                'INSERT INTO %s (username, attribute, op, value) '
                'VALUES (%%s, %%s, %%s, %%s)' % table,
                (login, attribute, op, value))
    for group, priority in new.groups:
        cursor.execute(
            'INSERT INTO radusergroup (username, groupname, priority) '
            'VALUES (%s, %s, %s)', (login, group, priority))


def apply(uri, payload, settings=Settings(), timeout=10):
    """Make FreeRADIUS at database uri hold payload's rows, in one
    transaction; True when something changed. Idempotent: applying the
    same payload again changes nothing. Raises psycopg.OperationalError
    when the database cannot be reached."""
    import psycopg
    new = rows(payload, settings)
    login = payload['login']
    with psycopg.connect(uri, connect_timeout=timeout) as conn:
        with conn.transaction(), conn.cursor() as cursor:
            # Two workers applying changes of the same user must not both
            # delete then insert (READ COMMITTED would keep both inserts).
            cursor.execute(
                'SELECT pg_advisory_xact_lock(hashtext(%s))',
                ('ciclo.radius.' + login,))
            if read(cursor, login) == _sorted(new):
                return False
            write(cursor, login, new)
    return True


def _sorted(new):
    "new as read() returns it (groups sorted by priority, name)."
    return Rows(
        check=tuple(new.check), reply=tuple(new.reply),
        groups=tuple(sorted(new.groups, key=lambda g: (g[1], g[0]))))
