# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Rows of freeradius.py (no server, no database)."
import unittest

from hypothesis import given
from hypothesis import strategies as st

from trytond.modules.isp_provisioning import freeradius
from trytond.modules.isp_provisioning.freeradius import (
    PayloadError, Rows, Settings, rate_limit, rows, speed)


def payload(**values):
    base = {
        'login': 'joao.silva@fibra',
        'password': 's3nha',
        'state': 'active',
        'download_kbps': 300000,
        'upload_kbps': 150000,
        'reduced_download_kbps': 1000,
        'reduced_upload_kbps': 512,
        'contract': 'C-0042',
        'party': 'João da Silva',
        'changed_at': '2026-03-16T08:00:00',
        }
    base.update(values)
    return base


kbps = st.integers(min_value=1, max_value=freeradius.MAX_KBPS)
logins = st.from_regex(r'\A[A-Za-z0-9._@+\-]{1,64}\Z')
passwords = st.text(
    st.characters(blacklist_categories=('Cc', 'Cs', 'Zl', 'Zp', 'Co', 'Cn')),
    min_size=1, max_size=253).filter(str.isprintable)


def parse_speed(text):
    "The number of kbit/s MikroTik reads from speed()."
    unit = {'k': 1, 'M': 1000}[text[-1]]
    return int(text[:-1]) * unit


class FreeRadiusRowsTestCase(unittest.TestCase):

    def test_speed(self):
        self.assertEqual(speed(10000), '10M')
        self.assertEqual(speed(1500), '1500k')
        self.assertEqual(speed(512), '512k')
        self.assertEqual(speed(1000000), '1000M')

    def test_rate_limit_is_upload_then_download(self):
        # rx/tx seen from the router: rx is what the client uploads.
        self.assertEqual(rate_limit(10000, 5000), '5M/10M')

    @given(kbps)
    def test_speed_round_trip(self, value):
        self.assertEqual(parse_speed(speed(value)), value)

    @given(kbps, kbps)
    def test_rate_limit_round_trip(self, down, up):
        rx, tx = rate_limit(down, up).split('/')
        self.assertEqual((parse_speed(tx), parse_speed(rx)), (down, up))

    def test_active(self):
        self.assertEqual(rows(payload()), Rows(
                check=(('Cleartext-Password', ':=', 's3nha'),),
                reply=(('Mikrotik-Rate-Limit', ':=', '150M/300M'),),
                groups=(('ciclo_active', 1),)))

    def test_reduced(self):
        self.assertEqual(rows(payload(state='reduced')), Rows(
                check=(('Cleartext-Password', ':=', 's3nha'),),
                reply=(('Mikrotik-Rate-Limit', ':=', '512k/1M'),),
                groups=(('ciclo_reduced', 1),)))

    def test_blocked_rejected(self):
        self.assertEqual(rows(payload(state='blocked')), Rows(
                check=(
                    ('Cleartext-Password', ':=', 's3nha'),
                    ('Auth-Type', ':=', 'Reject')),
                groups=(('ciclo_blocked', 1),)))

    def test_blocked_pool(self):
        settings = Settings(blocked_mode='group', groups={
                'active': 'plano', 'reduced': 'reduzido',
                'blocked': 'bloqueados'})
        self.assertEqual(rows(payload(state='blocked'), settings), Rows(
                check=(('Cleartext-Password', ':=', 's3nha'),),
                groups=(('bloqueados', 1),)))

    def test_cancelled_removed(self):
        self.assertEqual(rows(payload(state='cancelled', password='')), Rows())

    def test_other_attribute_no_group(self):
        settings = Settings(
            rate_attribute='Huawei-Input-Average-Rate',
            groups={'active': None})
        self.assertEqual(rows(payload(), settings).reply,
            (('Huawei-Input-Average-Rate', ':=', '150M/300M'),))
        self.assertEqual(rows(payload(), settings).groups, ())

    def test_bad_payloads(self):
        for values, field in [
                ({'state': 'suspended'}, 'state'),
                ({'login': ''}, 'login'),
                ({'login': 'a' * 65}, 'login'),
                ({'login': "x' OR '1"}, 'login'),
                ({'password': ''}, 'password'),
                ({'password': 'a\nb'}, 'password'),
                ({'download_kbps': 0}, 'download_kbps'),
                ({'upload_kbps': 1.5}, 'upload_kbps'),
                ({'upload_kbps': True}, 'upload_kbps'),
                ({'state': 'reduced', 'reduced_upload_kbps': None},
                    'reduced_upload_kbps'),
                ]:
            with self.subTest(values=values):
                with self.assertRaises(PayloadError) as cm:
                    rows(payload(**values))
                self.assertEqual(cm.exception.field, field)

    def test_password_not_in_error(self):
        with self.assertRaises(PayloadError) as cm:
            rows(payload(password='segredo\n'))
        self.assertNotIn('segredo', str(cm.exception))

    def test_bad_settings(self):
        with self.assertRaises(PayloadError):
            Settings(rate_attribute='Mikrotik Rate')
        with self.assertRaises(PayloadError):
            Settings(blocked_mode='drop')
        with self.assertRaises(PayloadError):
            Settings(groups={'blocked': "x'"})

    @given(
        st.sampled_from(freeradius.STATES), logins, passwords,
        kbps, kbps, kbps, kbps)
    def test_rows_follow_state(
            self, state, login, password, down, up, rdown, rup):
        result = rows(payload(
                state=state, login=login, password=password,
                download_kbps=down, upload_kbps=up,
                reduced_download_kbps=rdown, reduced_upload_kbps=rup))
        if state == 'cancelled':
            self.assertEqual(result, Rows())
            return
        # Always exactly one password, the given one.
        self.assertEqual(
            [v for a, _, v in result.check if a == 'Cleartext-Password'],
            [password])
        rejected = ('Auth-Type', ':=', 'Reject') in result.check
        self.assertEqual(rejected, state == 'blocked')
        self.assertEqual(result.groups, (('ciclo_%s' % state, 1),))
        expected = {
            'active': [rate_limit(down, up)],
            'reduced': [rate_limit(rdown, rup)],
            'blocked': [],
            }[state]
        self.assertEqual([v for _, _, v in result.reply], expected)
        for _, _, value in result.check + result.reply:
            self.assertLessEqual(len(value), freeradius.MAX_VALUE)
