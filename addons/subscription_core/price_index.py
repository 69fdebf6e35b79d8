# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Price indexes (IGP-M, IPCA, INPC or a fixed rate) and their monthly
values, which index adjustments (reajuste) of contract prices use."""
import csv
import datetime
import io
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from dateutil.relativedelta import relativedelta

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.wizard import Button, StateTransition, StateView, Wizard

# The accumulated factor is kept with 8 decimals: enough for any price
# (R$ 1,000,000.00 × 1e-8 < 0.01).
FACTOR_DIGITS = 8


class IndexValueError(UserError):
    pass


class IndexImportError(UserError):
    pass


def accumulated_factor(values):
    """Return the product of (1 + v/100) of the monthly percentages.

    Exact: the precision is sized to the operands, so neither the order of
    the months nor the context's precision changes the result."""
    values = [Decimal(v) for v in values]
    digits = sum(
        len(v.as_tuple().digits) + abs(v.as_tuple().exponent) + 4
        for v in values)
    with localcontext(prec=28 + digits):
        factor = Decimal(1)
        for value in values:
            factor *= 1 + value.scaleb(-2)
    return factor


def round_factor(factor):
    return factor.quantize(
        Decimal(1).scaleb(-FACTOR_DIGITS), rounding=ROUND_HALF_EVEN)


def month_start(date):
    return date.replace(day=1)


class PriceIndex(DeactivableMixin, ModelSQL, ModelView):
    """Price Index

    IGP-M (FGV), IPCA and INPC (IBGE) are monthly percentage variations;
    a fixed index is an annual percentage agreed in the contract."""
    __name__ = 'sale.subscription.index'

    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True)
    kind = fields.Selection([
            ('table', "Monthly Values"),
            ('fixed', "Fixed Percentage"),
            ], "Kind", required=True)
    rate = fields.Numeric(
        "Annual Rate (%)", digits=(16, 4),
        states={
            'required': Eval('kind') == 'fixed',
            'invisible': Eval('kind') != 'fixed',
            },
        help="The yearly adjustment in percent, as agreed in the contract.")
    source = fields.Char(
        "Source", translate=True,
        help="Who publishes the index and where.")
    values = fields.One2Many(
        'sale.subscription.index.value', 'index', "Monthly Values",
        states={
            'invisible': Eval('kind') != 'table',
            })

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_uniq', Unique(t, t.code),
                'subscription_core.msg_index_code_unique'),
            ]

    @classmethod
    def default_kind(cls):
        return 'table'

    @staticmethod
    def reference_months(anniversary):
        "Return the first days of the 12 months before the anniversary"
        last = month_start(anniversary) - relativedelta(months=1)
        return [last - relativedelta(months=i) for i in range(11, -1, -1)]

    def get_factor(self, anniversary):
        """Return the factor accumulated in the 12 months before the
        anniversary's month, rounded to FACTOR_DIGITS."""
        return getattr(self, '_get_factor_%s' % self.kind)(anniversary)

    def _get_factor_fixed(self, anniversary):
        return round_factor(accumulated_factor([self.rate]))

    def _get_factor_table(self, anniversary):
        pool = Pool()
        Value = pool.get('sale.subscription.index.value')
        months = self.reference_months(anniversary)
        values = {v.month: v.value for v in Value.search([
                    ('index', '=', self.id),
                    ('month', '>=', months[0]),
                    ('month', '<=', months[-1]),
                    ])}
        missing = [m for m in months if m not in values]
        if missing:
            raise IndexValueError(gettext(
                    'subscription_core.msg_index_value_missing',
                    index=self.rec_name,
                    months=', '.join(m.strftime('%m/%Y') for m in missing)))
        return round_factor(accumulated_factor(values.values()))

    @classmethod
    def import_values(cls, index, data):
        """Store the values of a CSV file, replacing the months it holds.

        The whole file is parsed first: a malformed line stores nothing."""
        pool = Pool()
        Value = pool.get('sale.subscription.index.value')
        rows = parse_index_csv(data)
        existing = {v.month: v for v in Value.search([
                    ('index', '=', index.id),
                    ('month', 'in', [m for m, _ in rows]),
                    ])}
        to_save = []
        for month, value in rows:
            record = existing.get(month) or Value(index=index, month=month)
            record.value = value
            to_save.append(record)
        Value.save(to_save)
        return to_save


class PriceIndexValue(ModelSQL, ModelView):
    "Price Index Value"
    __name__ = 'sale.subscription.index.value'

    index = fields.Many2One(
        'sale.subscription.index', "Index", required=True,
        ondelete='CASCADE')
    month = fields.Date(
        "Month", required=True,
        help="The first day of the month the variation refers to.")
    value = fields.Numeric(
        "Variation (%)", digits=(16, 4), required=True,
        help="The index's variation in the month, in percent.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('index_month_uniq', Unique(t, t.index, t.month),
                'subscription_core.msg_index_month_unique'),
            ]
        cls._order = [('month', 'DESC'), ('id', 'DESC')]

    @classmethod
    def validate_fields(cls, values, field_names):
        super().validate_fields(values, field_names)
        for value in values:
            if value.month.day != 1:
                raise IndexValueError(gettext(
                        'subscription_core.msg_index_month_first_day',
                        index=value.index.rec_name,
                        month=value.month.isoformat()))


class PriceIndexImportStart(ModelView):
    "Import Index Values"
    __name__ = 'sale.subscription.index.import.start'

    index = fields.Many2One(
        'sale.subscription.index', "Index", required=True,
        domain=[('kind', '=', 'table')])
    file_ = fields.Binary(
        "File", required=True,
        help="CSV with one month per line: month (MM/YYYY or YYYY-MM) and "
        "variation in percent (comma or point decimals), separated by a "
        "semicolon or a comma. A header line is allowed.")


class PriceIndexImport(Wizard):
    "Import Index Values"
    __name__ = 'sale.subscription.index.import'
    start = StateView(
        'sale.subscription.index.import.start',
        'subscription_core.index_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()

    def default_start(self, fields):
        if self.model and self.model.__name__ == 'sale.subscription.index':
            return {'index': self.record.id if self.record else None}
        return {}

    def transition_import_(self):
        pool = Pool()
        Index_ = pool.get('sale.subscription.index')
        Index_.import_values(self.start.index, self.start.file_)
        return 'end'


def parse_index_csv(data):
    """Return [(month, value)] of a CSV of monthly index values.

    Raise IndexImportError naming the line and the reason at the first
    malformed line: a file is taken whole or not at all."""
    if isinstance(data, bytes):
        try:
            data = data.decode('utf-8-sig')
        except UnicodeDecodeError:
            data = data.decode('latin-1')
    lines = data.splitlines()
    # Brazilian spreadsheets export with semicolons (the comma is the
    # decimal separator).
    delimiter = ';' if lines and ';' in lines[0] else ','
    reader = csv.reader(io.StringIO(data), delimiter=delimiter)
    result, seen = [], {}
    for lineno, row in enumerate(reader, 1):
        row = [c.strip() for c in row]
        if not any(row):
            continue
        if len(row) != 2:
            raise IndexImportError(gettext(
                    'subscription_core.msg_index_import_columns',
                    line=lineno, count=len(row)))
        month_text, value_text = row
        month = _parse_month(month_text)
        if month is None:
            if lineno == 1 and not result:
                continue  # a header line
            raise IndexImportError(gettext(
                    'subscription_core.msg_index_import_month',
                    line=lineno, value=month_text))
        value = _parse_percent(value_text)
        if value is None:
            raise IndexImportError(gettext(
                    'subscription_core.msg_index_import_value',
                    line=lineno, value=value_text))
        if month in seen:
            raise IndexImportError(gettext(
                    'subscription_core.msg_index_import_duplicate',
                    line=lineno, month=month.strftime('%m/%Y'),
                    other=seen[month]))
        seen[month] = lineno
        result.append((month, value))
    if not result:
        raise IndexImportError(gettext(
                'subscription_core.msg_index_import_empty'))
    return result


def _parse_month(text):
    for fmt in ['%m/%Y', '%Y-%m', '%Y-%m-%d', '%d/%m/%Y']:
        try:
            return datetime.datetime.strptime(text, fmt).date().replace(
                day=1)
        except ValueError:
            continue


def _parse_percent(text):
    text = text.replace('%', '').strip()
    if ',' in text:
        # Brazilian notation: 1.234,56
        text = text.replace('.', '').replace(',', '.')
    try:
        value = Decimal(text)
    except ArithmeticError:
        return None
    if not value.is_finite() or value.as_tuple().exponent < -4:
        # More digits than stored would be cut silently.
        return None
    return value
