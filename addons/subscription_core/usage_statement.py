# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The usage statement (extrato de utilização) of invoices: the HTML
report and the PDF attached to invoices.

The billing run queues one task per invoice that bills usage
(__queue__, so the run itself only inserts the task); the task renders
the statement (usage_statement_pdf.py) in the customer's language and
attaches it to the invoice, replacing the one a previous run attached."""
import datetime
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.report import Report
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .usage_statement_pdf import (
    LABELS, PricingLine, StatementDay, StatementDocument, StatementSection,
    render_usage_statement_pdf)


class UsageStatement(Report):
    "Usage Statement"
    __name__ = 'sale.subscription.usage.statement'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['statements'] = cls.get_statements(records)
        return context

    @classmethod
    def get_statements(cls, invoices):
        """Return {invoice id: [section]} with a section per usage charge:
        its metric, the usage per day with the allowance used up in day
        order, and the priced lines."""
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        Usage = pool.get('sale.subscription.usage')
        charges = Charge.search([
                ('invoice', 'in', [int(i) for i in invoices]),
                ('kind', '=', 'usage'),
                ], order=[('invoice', 'ASC'), ('id', 'ASC')])
        table = Usage.__table__()
        cursor = Transaction().connection.cursor()
        days = defaultdict(lambda: defaultdict(Decimal))
        for sub in grouped_slice([c.id for c in charges], 1000):
            cursor.execute(*table.select(
                    table.charge, table.date, table.quantity,
                    where=table.charge.in_(list(sub))))
            for charge, date, quantity in cursor:
                if isinstance(date, str):
                    date = datetime.date.fromisoformat(date)
                days[charge][date] += Decimal(str(quantity))
        result = defaultdict(list)
        for charge in charges:
            component = charge.line.component
            model = component.get_price_model() if component else None
            allowance = model.allowance if model else Decimal(0)
            left = allowance
            rows = []
            for date, quantity in sorted(days[charge.id].items()):
                included = min(left, quantity)
                left -= included
                rows.append({
                        'date': date,
                        'quantity': quantity,
                        'included': included,
                        'charged': quantity - included,
                        })
            total = sum((r['quantity'] for r in rows), Decimal(0))
            result[charge.invoice.id].append({
                    'charge': charge,
                    'component': component,
                    'metric': charge.metric,
                    'days': rows,
                    'quantity': total,
                    'allowance': allowance,
                    'included': min(allowance, total),
                    'charged': total - min(allowance, total),
                    'lines': (model.compute(total).lines if model else []),
                    'amount': charge.amount,
                    })
        return result


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def get_usage_invoices(cls, invoices):
        "Return the invoices among invoices that bill usage"
        pool = Pool()
        Charge = pool.get('sale.subscription.charge')
        ids = [i.id for i in invoices]
        if not ids:
            return []
        charges = Charge.search([
                ('invoice', 'in', ids),
                ('kind', '=', 'usage'),
                ])
        with_usage = {c.invoice.id for c in charges}
        return [i for i in invoices if i.id in with_usage]

    @classmethod
    def queue_usage_statements(cls, invoices):
        "Queue the attachment of the usage statements, one task an invoice"
        for invoice in cls.get_usage_invoices(invoices):
            cls.__queue__.attach_usage_statement([invoice])

    @classmethod
    def attach_usage_statement(cls, invoices):
        """Attach the usage statement PDF to each invoice that bills
        usage; an earlier statement of the invoice is replaced"""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        Statement = pool.get(
            'sale.subscription.usage.statement', type='report')
        statements = Statement.get_statements(invoices)
        to_delete, to_save = [], []
        for invoice in invoices:
            sections = statements.get(invoice.id)
            if not sections:
                continue
            name = invoice.get_usage_statement_name()
            to_delete.extend(Attachment.search([
                        ('resource', '=', str(invoice)),
                        ('name', '=', name),
                        ]))
            to_save.append(Attachment(
                    resource=invoice, name=name, type='data',
                    data=invoice.render_usage_statement(sections)))
        Attachment.delete(to_delete)
        Attachment.save(to_save)

    def get_usage_statement_name(self):
        with Transaction().set_context(language=self.party_lang):
            return gettext(
                'subscription_core.msg_usage_statement_filename',
                number=(self.number or str(self.id)).replace('/', '-'))

    def render_usage_statement(self, sections):
        "Return the PDF of the usage statement of sections"
        with Transaction().set_context(language=self.party_lang):
            document = self._get_usage_statement_document(sections)
            labels = self._get_usage_statement_labels()
        return render_usage_statement_pdf(document, labels)

    def _get_usage_statement_labels(self):
        return {k: gettext('subscription_core.msg_usage_statement_%s' % k)
            for k in LABELS}

    def _get_usage_statement_document(self, sections):
        "Return the StatementDocument of sections (from get_statements)"
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get(self.party_lang)
        return StatementDocument(
            company=self.company.rec_name,
            party=self.party.rec_name,
            invoice_number=self.number or '',
            invoice_date=self.invoice_date,
            currency=self.currency.symbol,
            sections=tuple(self._get_usage_statement_section(s)
                for s in sections),
            format_quantity=lambda v: lang.format_number(v, digits=3),
            format_price=lambda v: lang.format_number(v, digits=4),
            format_amount=lambda v: lang.format_number(
                v, digits=self.currency.digits, monetary=True),
            format_date=lang.strftime)

    def _get_usage_statement_section(self, section):
        metric = section['metric']
        component = section['component']
        title = '%s – %s' % (
            component.rec_name if component
            else section['charge'].line.rec_name,
            metric.rec_name)
        return StatementSection(
            title=title,
            unit=metric.unit,
            days=tuple(StatementDay(
                    d['date'], d['quantity'], d['included'], d['charged'])
                for d in section['days']),
            quantity=section['quantity'],
            allowance=section['allowance'],
            included=section['included'],
            charged=section['charged'],
            lines=tuple(PricingLine(
                    gettext('subscription_core.msg_usage_statement_kind_%s'
                        % l.kind, description=l.description),
                    l.quantity, l.unit_price, l.amount)
                for l in section['lines']),
            amount=section['amount'])


class Contract(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def bill(cls, contracts, date):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoices = super().bill(contracts, date)
        # Rendered later by the queue, after the chunk commits: the run
        # only inserts the tasks.
        Invoice.queue_usage_statements(invoices)
        return invoices
