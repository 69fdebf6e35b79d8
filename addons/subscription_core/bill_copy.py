# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Copies of bills: the rows of a contract's bills stored again for the
other contracts of a billing chunk with the same bill signature
(Contract._get_bill_signatures).

Most contracts of a run are alike: same plan, lines, dates, terms and
taxes, another customer. The billing hooks build the bills of the first
contract of each signature; the billing writer stores them, then stores
a copy of their rows for each of the others, with ids and numbers of
their own and the contract's party, invoice address, description and
lines. tests/test_billing_writer.py checks the copies against the ORM's
rows."""
from collections import defaultdict

from trytond.pool import Pool
from trytond.transaction import Transaction


class BillCopier:
    "The copying part of the BillingWriter"

    def _copy_bills(self, copies, tables, line_taxes):
        """Add to tables the rows of copies, [(invoice, values)]: the rows
        of an invoice already in tables (its lines, taxes, move, move
        lines, tax lines and charges) with ids and numbers of their own
        and the values of another contract with the same bill signature:
        party, invoice address, description, contract and contract lines
        ({template's line id: line id}). Add their line taxes to
        line_taxes. Return the ids of the invoices."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        InvoiceTax = pool.get('account.invoice.tax')
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        TaxLine = pool.get('account.tax.line')
        Charge = pool.get('sale.subscription.charge')

        def table(Model):
            columns, rows = tables[Model]
            return rows, {c: i for i, c in enumerate(columns)}
        invoice_rows, invoice_index = table(Invoice)
        line_rows, line_index = table(InvoiceLine)
        tax_rows, tax_index = table(InvoiceTax)
        move_rows, move_index = table(Move)
        move_line_rows, move_line_index = table(MoveLine)
        tax_line_rows, tax_line_index = table(TaxLine)
        charge_rows, charge_index = table(Charge)

        def children(rows, index, column, parents):
            "{parent id: [id of its rows]} of the rows pointing at parents"
            position = index[column]
            found = defaultdict(list)
            for id_, row in rows.items():
                if row[position] in parents:
                    found[row[position]].append(id_)
            return found
        templates = {i.id: i for i, _ in copies}
        lines_of = children(line_rows, line_index, 'invoice', templates)
        taxes_of = children(tax_rows, tax_index, 'invoice', templates)
        charges_of = children(
            charge_rows, charge_index, 'invoice', templates)
        line_taxes_of = {l.id: [int(t) for t in l.taxes or []]
            for i in templates.values() for l in i.lines}
        move_of, move_lines_of, tax_lines_of = {}, {}, {}
        if self.posted:
            move_of = {i: invoice_rows[i][invoice_index['move']]
                for i in templates}
            move_lines_of = children(move_line_rows, move_line_index,
                'move', set(move_of.values()))
            tax_lines_of = children(tax_line_rows, tax_line_index,
                'move_line', {l for ls in move_lines_of.values() for l in ls})

        def reserve(Model, count):
            return iter(self._next_ids(Model, count))
        templates_of = [templates[i.id] for i, _ in copies]
        invoice_ids = reserve(Invoice, len(copies))
        line_ids = reserve(InvoiceLine,
            sum(len(lines_of[t.id]) for t in templates_of))
        tax_ids = reserve(InvoiceTax,
            sum(len(taxes_of[t.id]) for t in templates_of))
        charge_ids = reserve(Charge,
            sum(len(charges_of[t.id]) for t in templates_of))
        if self.posted:
            move_ids = reserve(Move, len(copies))
            move_line_ids = reserve(MoveLine, sum(
                    len(move_lines_of[move_of[t.id]]) for t in templates_of))
            tax_line_ids = reserve(TaxLine, sum(
                    len(tax_lines_of[l]) for t in templates_of
                    for l in move_lines_of[move_of[t.id]]))
            numbers = self._copy_numbers(copies, move_rows, move_index)
            identifiers = self._party_tax_identifiers(
                [v['party'] for _, v in copies])

        def swap(row, index, name, old, new):
            position = index.get(name)
            if position is not None and row[position] == old:
                row[position] = new

        def origin(row, index, origins):
            position = index.get('origin')
            if position is not None and row[position] is not None:
                row[position] = origins.get(row[position], row[position])

        def clone(rows, index, old, new, **values):
            "Store the copy of row old as new, with values; return it"
            row = rows[new] = list(rows[old])
            row[0] = new
            for name, value in values.items():
                row[index[name]] = value
            return row
        copied = []
        for k, (template, values) in enumerate(copies):
            invoice_id = next(invoice_ids)
            copied.append(invoice_id)
            party, description = values['party'], values['description']
            old_party = template.party.id
            origins = {'account.invoice,%s' % template.id:
                'account.invoice,%s' % invoice_id}
            for old, new in values['lines'].items():
                origins['sale.subscription.line,%s' % old] = (
                    'sale.subscription.line,%s' % new)
            new_lines = {}
            for old in lines_of[template.id]:
                new_lines[old] = new = next(line_ids)
                origins['account.invoice.line,%s' % old] = (
                    'account.invoice.line,%s' % new)
                row = clone(line_rows, line_index, old, new,
                    invoice=invoice_id)
                origin(row, line_index, origins)
                swap(row, line_index, 'party', old_party, party)
                line_taxes.extend((new, t) for t in line_taxes_of[old])
            for old in taxes_of[template.id]:
                new = next(tax_ids)
                origins['account.invoice.tax,%s' % old] = (
                    'account.invoice.tax,%s' % new)
                clone(tax_rows, tax_index, old, new, invoice=invoice_id)
            for old in charges_of[template.id]:
                row = charge_rows[old]
                clone(charge_rows, charge_index, old, next(charge_ids),
                    invoice=invoice_id, contract=values['contract'],
                    line=values['lines'][row[charge_index['line']]],
                    invoice_line=new_lines.get(
                        row[charge_index['invoice_line']]))
            row = clone(invoice_rows, invoice_index, template.id,
                invoice_id, invoice_address=values['invoice_address'],
                description=description)
            swap(row, invoice_index, 'party', old_party, party)
            if not self.posted:
                continue
            move_id = next(move_ids)
            row[invoice_index['move']] = move_id
            for name, value in numbers[k].items():
                if name != 'move':
                    row[invoice_index[name]] = value
            position = invoice_index.get('party_tax_identifier')
            if position is not None:
                row[position] = identifiers[party]
            old_move = move_of[template.id]
            row = clone(move_rows, move_index, old_move, move_id,
                number=numbers[k]['move'])
            origin(row, move_index, origins)
            for old in move_lines_of[old_move]:
                new = next(move_line_ids)
                row = clone(move_line_rows, move_line_index, old, new,
                    move=move_id)
                swap(row, move_line_index, 'party', old_party, party)
                swap(row, move_line_index, 'description',
                    template.description, description)
                origin(row, move_line_index, origins)
                for old_tax_line in tax_lines_of[old]:
                    clone(tax_line_rows, tax_line_index, old_tax_line,
                        next(tax_line_ids), move_line=new)
        return copied

    def _copy_numbers(self, copies, move_rows, move_index):
        """Return, for each copy, the values of its invoice's numbers (as
        Invoice.set_number gives them) and its move's number ('move')."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Period = pool.get('account.period')
        numbers = [{} for _ in copies]
        by_sequence = defaultdict(list)
        by_period = defaultdict(list)
        for k, (template, _) in enumerate(copies):
            key = ('sequence', template.company.id, template.type,
                template.accounting_date or template.invoice_date)
            sequence, date = self._defaults[key]
            by_sequence[(sequence, date, template.company.id)].append(k)
            move = move_rows[template.move.id]
            by_period[(move[move_index['period']],
                    move[move_index['company']])].append(k)
        # The host computes more fields from the number (compute_fields).
        numbered = Invoice()
        for (sequence, date, company), ks in by_sequence.items():
            with Transaction().set_context(date=date, company=company):
                for k, number in zip(ks, sequence.get_many(len(ks))):
                    numbered.number = number
                    values = {'number': number, 'sequence': sequence.id}
                    values.update(numbered.compute_fields({'number'}))
                    numbers[k] = {n: Invoice._fields[n].sql_format(v)
                        for n, v in values.items()}
        for (period, company), ks in by_period.items():
            sequence = Period(period).move_sequence_used
            with Transaction().set_context(company=company):
                for k, number in zip(ks, sequence.get_many(len(ks))):
                    numbers[k]['move'] = number
        return numbers
