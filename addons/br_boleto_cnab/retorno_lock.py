# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The locks of a retorno import, taken before it changes anything.

An import numbers its liquidation moves from the fiscal year's strict
sequence and records occurrences under the journal's idempotency key,
so two imports of one journal's titles must run one after the other,
the second seeing what the first stored.

The host takes locks when a transaction starts, without waiting (NOWAIT
and a few quick retries), and restarts the transaction when a lock is
first asked in its middle: its snapshot may predate what the lock
protects. For an import that holds the move sequence for a minute, a
second import restarted meanwhile would fail at its start with a raw
database error. So on PostgreSQL the import takes its row locks itself,
waiting for another import to end, and restarts only when its snapshot
is stale: under REPEATABLE READ, locking a row that a transaction
committed since the snapshot changed raises a serialization failure,
and every import changes its journal's row. A journal period still to
open is opened in a short transaction of its own, so that no import
holds that table's lock. Elsewhere (SQLite) the host's protocol is used,
all locks asked at once: one restart instead of one per lock, before
the import's work instead of in its middle."""
from trytond import backend
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.modules.account.exceptions import PeriodNotFoundError
from trytond.pool import Pool
from trytond.transaction import Transaction, TransactionError

from .exceptions import RetornoError

# SQLSTATE of the errors met while waiting for a lock
LOCK_TIMEOUT = {'55P03', '57014'}   # lock_not_available, query_canceled
STALE = {'40001', '40P01'}          # serialization_failure, deadlock


class RetornoLocksError(TransactionError):
    "Restart the import's transaction once, with all its locks"

    def __init__(self, errors=()):
        super().__init__()
        self.errors = list(errors)

    def fix(self, extras):
        super().fix(extras)
        for error in self.errors:
            error.fix(extras)


class RetornoLock:
    "The locks an import of journal's retorno takes"

    def __init__(self, journal, wait):
        self.journal = journal
        # Seconds to wait for another import of the journal's titles
        self.wait = wait

    def take(self, dates, name):
        """Lock the journal's titles, the journal periods and the strict
        sequences the liquidations dated dates need.

        Raise RetornoError when another import did not end within wait
        seconds; raise RetornoLocksError (the host restarts the
        transaction) when the snapshot is stale or, off PostgreSQL, a
        lock is missing."""
        pool = Pool()
        Journal = pool.get('account.payment.journal')
        postgresql = backend.name == 'postgresql'
        errors, stale = [], False
        periods = self._periods(dates)
        sequences = self._sequences(periods)
        for period in periods:
            if self._journal_period_missing(period):
                # Opened here when the transaction holds the table's lock
                error = self._host_lock(self._check_journal_period, period)
                if (error and postgresql
                        and self._open_journal_period(period)):
                    stale = True
                else:
                    errors.extend(error)
        if postgresql:
            stale |= self._lock_rows(
                [(Journal, [self.journal.id], True)]
                + [(s.__class__, [s.id], False) for s in sequences], name)
        else:
            errors.extend(self._host_lock(Journal.lock, [self.journal]))
            for sequence in sequences:
                errors.extend(self._host_lock(sequence.lock))
        if errors or stale:
            raise RetornoLocksError(errors)

    def _periods(self, dates):
        "The open periods of dates (a date without one raises later)"
        pool = Pool()
        Period = pool.get('account.period')
        periods = {}
        for date in sorted(set(dates)):
            try:
                period = Period.find(self.journal.company, date=date)
            except PeriodNotFoundError:
                continue
            periods[period.id] = period
        return list(periods.values())

    def _sequences(self, periods):
        "The strict sequences the moves and reconciliations number from"
        pool = Pool()
        Configuration = pool.get('account.configuration')
        sequences = [Configuration(1).get_multivalue(
                'reconciliation_sequence', company=self.journal.company.id)]
        sequences += [p.move_sequence_used for p in periods]
        strict = {}
        for sequence in sequences:
            if sequence and getattr(sequence, '_strict', False):
                strict[(sequence.__name__, sequence.id)] = sequence
        return list(strict.values())

    def _journal_period_missing(self, period):
        pool = Pool()
        JournalPeriod = pool.get('account.journal.period')
        account_journal = self.journal.boleto_account_journal
        return bool(account_journal) and not JournalPeriod.search([
                ('journal', '=', account_journal.id),
                ('period', '=', period.id),
                ], limit=1)

    def _check_journal_period(self, period):
        "The host's check, which opens the journal period when missing"
        pool = Pool()
        Line = pool.get('account.move.line')
        try:
            Line.check_journal_period_modify(
                period, self.journal.boleto_account_journal)
        except AccessError:
            # Closed: the liquidation's move raises when it is built
            pass

    def _open_journal_period(self, period):
        """Open the journal period in a transaction committed at once,
        the host's table lock held only for it. Return False when that
        transaction cannot see the period (it is not committed yet, as in
        a test): the import's own transaction opens it then."""
        pool = Pool()
        Period = pool.get('account.period')
        JournalPeriod = pool.get('account.journal.period')
        with Transaction().new_transaction(
                _lock_tables=[JournalPeriod._table]) as transaction:
            if not Period.search([('id', '=', period.id)]):
                return False
            self._check_journal_period(Period(period.id))
            transaction.commit()
        return True

    @staticmethod
    def _host_lock(lock, *args):
        "The host's restart for a lock not taken, or nothing"
        try:
            lock(*args)
        except TransactionError as error:
            return [error]
        return []

    def _lock_rows(self, locks, name):
        """Lock the rows of locks (Model, ids, changed), waiting for the
        transactions holding them; rows with changed are also updated so
        that the next import's lock sees a change. Return whether the
        snapshot is stale. The locks are then the host's own: its
        Model.lock does not restart the transaction for them."""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        missing = [(Model, [i for i in ids
                    if i not in transaction._locked_records[Model._table]],
                changed) for Model, ids, changed in locks]
        missing = [(M, ids, c) for M, ids, c in missing if ids]
        if not missing:
            return False
        # Read before a failed statement makes the transaction unusable
        message = gettext('br_boleto_cnab.msg_retorno_import_running',
            journal=self.journal.rec_name, file=name, seconds=self.wait)
        cursor.execute("SELECT current_setting('lock_timeout')")
        timeout, = cursor.fetchone()
        cursor.execute("SELECT set_config('lock_timeout', %s, true)",
            ('%dms' % max(int(self.wait * 1000), 1),))
        try:
            for Model, ids, changed in missing:
                if changed:
                    cursor.execute('UPDATE "%s" SET write_date = write_date '
                        'WHERE id = ANY(%%s)' % Model._table, (ids,))
                else:
                    cursor.execute('SELECT id FROM "%s" WHERE id = ANY(%%s) '
                        'FOR UPDATE' % Model._table, (ids,))
        except (backend.DatabaseOperationalError,
                backend.DatabaseTimeoutError) as exception:
            sqlstate = getattr(exception, 'sqlstate', None)
            if sqlstate in STALE:
                # Another import committed since the snapshot
                return True
            if sqlstate in LOCK_TIMEOUT:
                raise RetornoError(message) from exception
            raise
        cursor.execute("SELECT set_config('lock_timeout', %s, true)",
            (timeout,))
        for Model, ids, _ in missing:
            transaction._locked_records[Model._table].update(ids)
        return False
