# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The blocking policy's timeline, without database: the legal floors
of RGC 765/2023 hold whatever the policy's days and dates."""
import datetime
import unittest

from hypothesis import given
from hypothesis import strategies as st

from trytond.modules.isp_provisioning.policy import (
    LEGAL_FLOORS, Policy, parse_days_of_month)

D = datetime.date
DAY = datetime.timedelta(1)


class TimelinePolicy:
    "The policy's date rules on plain attributes"
    get_schedule = Policy.get_schedule
    get_target = Policy.get_target
    suspension_day = Policy.suspension_day
    days_of_month = Policy.days_of_month

    def __init__(self, **values):
        defaults = {
            'notice_days': 1,
            'reduce_days': 16,
            'block_days': 31,
            'termination_days': 91,
            'notice_period': 15,
            'suspension_period': 60,
            'suspension_days_of_month': None,
            }
        defaults.update(values)
        for name, value in defaults.items():
            setattr(self, name, value)


class PolicyTestCase(unittest.TestCase):
    "Test the blocking policy timeline"

    def test_nothing_overdue_is_active(self):
        "Without an overdue invoice the access is active"
        policy = TimelinePolicy()
        self.assertEqual(
            policy.get_target(D(2025, 3, 1), None), ('active', False, False))
        # Due today is not overdue yet.
        self.assertEqual(
            policy.get_target(D(2025, 3, 1), D(2025, 3, 1)),
            ('active', False, False))

    def test_notice_due_day_after(self):
        "The notice is due notice-days after the due date"
        policy = TimelinePolicy()
        due = D(2025, 3, 10)
        self.assertEqual(
            policy.get_target(D(2025, 3, 10), due), ('active', False, False))
        self.assertEqual(
            policy.get_target(D(2025, 3, 11), due), ('active', True, False))

    def test_no_suspension_without_notice(self):
        "However late, nothing is suspended without a notice"
        policy = TimelinePolicy()
        due = D(2025, 3, 10)
        state, notify, _ = policy.get_target(D(2025, 12, 31), due)
        self.assertEqual((state, notify), ('active', True))

    def test_timeline(self):
        "Reduced 15 days after the notice, blocked 15 days later"
        policy = TimelinePolicy()
        due, notice = D(2025, 3, 10), D(2025, 3, 11)
        self.assertEqual(policy.get_schedule(due, notice), {
                'notice': D(2025, 3, 11),
                'reduce': D(2025, 3, 26),
                'block': D(2025, 4, 10),
                'termination': None,
                })
        for date, state in [
                (D(2025, 3, 25), 'active'),
                (D(2025, 3, 26), 'reduced'),
                (D(2025, 4, 9), 'reduced'),
                (D(2025, 4, 10), 'blocked'),
                ]:
            with self.subTest(date=date):
                self.assertEqual(
                    policy.get_target(date, due, notice)[0], state)

    def test_late_notice_delays_suspension(self):
        "A notice sent late moves the suspension 15 days after it"
        policy = TimelinePolicy()
        due, notice = D(2025, 3, 10), D(2025, 4, 20)
        schedule = policy.get_schedule(due, notice)
        # Reduction and block fall the same day: no reduction stage.
        self.assertIsNone(schedule['reduce'])
        self.assertEqual(schedule['block'], D(2025, 5, 5))
        self.assertEqual(policy.get_target(D(2025, 5, 4), due, notice)[0],
            'active')
        self.assertEqual(policy.get_target(D(2025, 5, 5), due, notice)[0],
            'blocked')

    def test_no_reduction_stage(self):
        "Without reduce days the access goes straight to blocked"
        policy = TimelinePolicy(reduce_days=None, block_days=16)
        due, notice = D(2025, 3, 10), D(2025, 3, 11)
        self.assertIsNone(policy.get_schedule(due, notice)['reduce'])
        self.assertEqual(
            policy.get_target(D(2025, 3, 26), due, notice)[0], 'blocked')

    def test_termination(self):
        "Termination is proposed after 60 days blocked"
        policy = TimelinePolicy()
        due, notice, blocked = D(2025, 3, 10), D(2025, 3, 11), D(2025, 4, 10)
        self.assertEqual(
            policy.get_schedule(due, notice, blocked)['termination'],
            D(2025, 6, 9))
        self.assertEqual(
            policy.get_target(D(2025, 6, 8), due, notice, blocked),
            ('blocked', False, False))
        self.assertEqual(
            policy.get_target(D(2025, 6, 9), due, notice, blocked),
            ('blocked', False, True))

    def test_fixed_suspension_days(self):
        "With suspension days 15 and 25, reductions and blocks wait for them"
        policy = TimelinePolicy(suspension_days_of_month='15, 25')
        due, notice = D(2025, 3, 10), D(2025, 3, 11)
        schedule = policy.get_schedule(due, notice)
        # Reduction and block on the same allowed day: straight to block.
        self.assertIsNone(schedule['reduce'])
        self.assertEqual(schedule['block'], D(2025, 4, 15))
        self.assertEqual(
            policy.get_target(D(2025, 4, 14), due, notice)[0], 'active')
        self.assertEqual(
            policy.get_target(D(2025, 4, 16), due, notice)[0], 'blocked')

        policy = TimelinePolicy(
            suspension_days_of_month='1,15', reduce_days=16, block_days=31)
        schedule = policy.get_schedule(due, notice)
        self.assertEqual(schedule['reduce'], D(2025, 4, 1))
        self.assertEqual(schedule['block'], D(2025, 4, 15))

    def test_parse_days_of_month(self):
        "Days of month are a list of numbers from 1 to 31"
        self.assertEqual(parse_days_of_month('25, 15;15'), [15, 25])
        self.assertEqual(parse_days_of_month(None), [])
        for text in ['0', '32', 'x', '1.5']:
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    parse_days_of_month(text)

    @given(
        due=st.dates(D(2020, 1, 1), D(2030, 12, 31)),
        notice_delay=st.one_of(st.none(), st.integers(0, 120)),
        blocked_delay=st.one_of(st.none(), st.integers(0, 200)),
        delay=st.integers(0, 400),
        notice_days=st.integers(0, 40),
        reduce_days=st.one_of(st.none(), st.integers(0, 60)),
        block_days=st.integers(0, 90),
        termination_days=st.integers(0, 200),
        days_of_month=st.sets(st.integers(1, 31), max_size=3))
    def test_legal_floors(self, due, notice_delay, blocked_delay, delay,
            notice_days, reduce_days, block_days, termination_days,
            days_of_month):
        "Never suspended before notice + 15 days nor terminated before " \
            "60 days blocked (RGC 765/2023, arts. 70 and 73)"
        policy = TimelinePolicy(
            notice_days=notice_days, reduce_days=reduce_days,
            block_days=block_days, termination_days=termination_days,
            suspension_days_of_month=','.join(map(str, days_of_month)))
        notice = (due + notice_delay * DAY
            if notice_delay is not None else None)
        blocked = (notice + blocked_delay * DAY
            if notice and blocked_delay is not None else None)
        date = due + delay * DAY
        state, notify, propose = policy.get_target(
            date, due, notice, blocked)
        if state != 'active':
            self.assertIsNotNone(notice)
            self.assertGreaterEqual(
                date, notice + LEGAL_FLOORS['notice_period'][0] * DAY)
            if days_of_month:
                # It may stay suspended later, but it started on an
                # allowed day.
                start = policy.get_schedule(due, notice)[
                    'reduce' if state == 'reduced' else 'block']
                self.assertIn(start.day, days_of_month)
        if propose:
            self.assertIsNotNone(blocked)
            self.assertGreaterEqual(
                date, blocked + LEGAL_FLOORS['suspension_period'][0] * DAY)
        if notify:
            self.assertIsNone(notice)
            self.assertGreaterEqual(date, due + notice_days * DAY)
