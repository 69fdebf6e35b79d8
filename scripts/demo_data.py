#!/usr/bin/env python3
# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Load the Ciclo demo records into a database with the modules activated.

    .venv/bin/python -O scripts/demo_data.py -d ciclo_demo -c var/trytond.conf

scripts/demo.sh runs it on a fresh database. It builds a Brazilian ISP:

1. setup (proteus, through the host's own wizards and test tools): currency
   BRL, language pt_BR (with the host's Portuguese translations), country
   Brasil and its states, the company "Ciclo Telecom Ltda" (CNPJ, São Paulo,
   America/Sao_Paulo), the minimal chart of accounts, fiscal year 2026 with
   monthly periods and invoice sequences, ISS 5%, a payment term and a
   payment method (PIX), three plans, the party registration policy and the
   company on the billing cron;
2. 200 customers (valid unique CPF, mobile, e-mail, address) who each buy a
   plan through a sale in August 2026: quote, confirm and the sale's queued
   process task create and activate the contracts;
3. a day-by-day simulation from 2026-08-01 to 2026-11-25, as the daily cron
   would run it: the billing run, the customers paying (most on time, some
   late, a few never), a few cancellations and the suspension of the
   customers who do not pay;
4. a summary. The exit status is 1 if the billing run reported errors.

Random choices come from a fixed seed: every run builds the same demo."""
import argparse
import datetime
import logging
import os
import random
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal

START = datetime.date(2026, 8, 1)
END = datetime.date(2026, 11, 25)
FISCAL_YEAR = 2026
CUSTOMERS = 200
SEED = 2026
DUE_DAYS = [5, 10, 15, 20, 25]

COMPANY_NAME = "Ciclo Telecom Ltda"
COMPANY_CNPJ = '11.222.333/0001-81'

# (code, name, recurrence, price, setup fee, loyalty months, trial days,
# share of the sales)
PLANS = [
    ('F300', "Fibra 300 Mega", 'monthly', Decimal('99.90'),
        Decimal('100.00'), 12, 0, 50),
    ('F600', "Fibra 600 Mega", 'monthly', Decimal('129.90'),
        None, 12, 0, 32),
    ('ERP12', "ERP Cloud Anual", 'yearly', Decimal('1188.00'),
        None, 0, 0, 18),
    ]

STATES = [
    ('AC', "Acre"), ('AL', "Alagoas"), ('AP', "Amapá"), ('AM', "Amazonas"),
    ('BA', "Bahia"), ('CE', "Ceará"), ('DF', "Distrito Federal"),
    ('ES', "Espírito Santo"), ('GO', "Goiás"), ('MA', "Maranhão"),
    ('MT', "Mato Grosso"), ('MS', "Mato Grosso do Sul"),
    ('MG', "Minas Gerais"), ('PA', "Pará"), ('PB', "Paraíba"),
    ('PR', "Paraná"), ('PE', "Pernambuco"), ('PI', "Piauí"),
    ('RJ', "Rio de Janeiro"), ('RN', "Rio Grande do Norte"),
    ('RS', "Rio Grande do Sul"), ('RO', "Rondônia"), ('RR', "Roraima"),
    ('SC', "Santa Catarina"), ('SP', "São Paulo"), ('SE', "Sergipe"),
    ('TO', "Tocantins"),
    ]

# (city, state, area code, first and last CEP prefix (5 digits), weight)
CITIES = [
    ("São Paulo", 'SP', '11', 1000, 5999, 45),
    ("Campinas", 'SP', '19', 13010, 13099, 12),
    ("Santos", 'SP', '13', 11010, 11095, 8),
    ("Guarulhos", 'SP', '11', 7010, 7299, 8),
    ("São Bernardo do Campo", 'SP', '11', 9600, 9899, 7),
    ("Rio de Janeiro", 'RJ', '21', 20000, 23799, 8),
    ("Belo Horizonte", 'MG', '31', 30100, 31999, 6),
    ("Curitiba", 'PR', '41', 80010, 82999, 6),
    ]

FIRST_NAMES = [
    "Ana", "Beatriz", "Bruna", "Camila", "Carla", "Daniela", "Eduarda",
    "Fernanda", "Gabriela", "Helena", "Isabela", "Juliana", "Larissa",
    "Letícia", "Luana", "Mariana", "Natália", "Patrícia", "Rafaela",
    "Sofia", "Tatiane", "Vanessa", "Adriano", "André", "Bruno", "Caio",
    "Carlos", "Daniel", "Diego", "Eduardo", "Felipe", "Gabriel",
    "Gustavo", "Henrique", "João", "José", "Leonardo", "Lucas",
    "Marcelo", "Mateus", "Paulo", "Pedro", "Rafael", "Rodrigo", "Thiago",
    "Vinícius",
    ]
SURNAMES = [
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira",
    "Alves", "Pereira", "Lima", "Gomes", "Costa", "Ribeiro", "Martins",
    "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira",
    "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira",
    "Nunes", "Marques", "Machado", "Mendes", "Freitas", "Cardoso",
    "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo", "Pinto",
    "Correia", "Moura", "Cavalcanti",
    ]
STREETS = [
    "Rua Augusta", "Rua da Consolação", "Avenida Brigadeiro Faria Lima",
    "Rua Oscar Freire", "Rua Haddock Lobo", "Avenida Rebouças",
    "Rua dos Pinheiros", "Rua Teodoro Sampaio", "Avenida Ipiranga",
    "Rua Vergueiro", "Rua Domingos de Morais", "Avenida Santo Amaro",
    "Rua Tabapuã", "Rua Bela Cintra", "Alameda Santos",
    "Avenida Brasil", "Rua XV de Novembro", "Rua Sete de Setembro",
    "Avenida Getúlio Vargas", "Rua Tiradentes", "Rua São Bento",
    "Avenida Afonso Pena", "Rua Marechal Deodoro", "Rua Dom Pedro II",
    ]
DISTRICTS = [
    "Centro", "Jardim Paulista", "Pinheiros", "Vila Mariana", "Moema",
    "Bela Vista", "Perdizes", "Santana", "Tatuapé", "Vila Nova",
    "Jardim América", "Boa Vista",
    ]
ACCENTS = str.maketrans("áàâãäéêëíïóôõöúüçÁÀÂÃÉÊÍÓÔÕÚÇ",
    "aaaaaeeeiioooouucAAAAEEIOOOUC")

logger = logging.getLogger('ciclo.demo')


# --- small helpers -----------------------------------------------------------

def cpf_check_digits(digits):
    "Return the two check digits of the 9 first digits of a CPF"
    for length in (9, 10):
        total = sum(int(d) * (length + 1 - i)
            for i, d in enumerate(digits[:length]))
        digit = (total * 10) % 11 % 10
        digits = digits + str(digit)
    return digits[-2:]


def random_cpfs(rng, count):
    "Return count distinct valid CPFs, formatted 000.000.000-00"
    seen = set()
    result = []
    while len(result) < count:
        base = ''.join(rng.choice('0123456789') for _ in range(9))
        if len(set(base)) < 3 or base in seen:
            continue
        seen.add(base)
        number = base + cpf_check_digits(base)
        result.append('%s.%s.%s-%s' % (
                number[:3], number[3:6], number[6:9], number[9:]))
    return result


def brl(amount):
    "Format amount as pt_BR currency: R$ 12.345,67"
    text = '{:,.2f}'.format(amount).replace(',', '_').replace(
        '.', ',').replace('_', '.')
    return 'R$ ' + text


def daterange(start, end):
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(1)


class Progress:
    "A plain text progress bar on stderr"

    def __init__(self, total, label, width=30):
        self.total = max(total, 1)
        self.label = label
        self.width = width
        self.tty = sys.stderr.isatty()
        self.last_tenth = -1
        self.started = time.monotonic()

    def update(self, done, info=''):
        fraction = done / self.total
        filled = int(self.width * fraction)
        bar = '#' * filled + '-' * (self.width - filled)
        line = '%s [%s] %3d%% %s' % (
            self.label, bar, int(fraction * 100), info)
        if self.tty:
            sys.stderr.write('\r' + line.ljust(100)[:100])
            if done >= self.total:
                sys.stderr.write('\n')
        else:
            tenth = int(fraction * 10)
            if tenth != self.last_tenth:
                self.last_tenth = tenth
                sys.stderr.write(line + '\n')
        sys.stderr.flush()


def step(message):
    print('  - %s' % message, flush=True)


# --- 1. setup with proteus -------------------------------------------------

def setup(database, config_file):
    from proteus import Model, config as pconfig
    from trytond.modules.account.tests.tools import (
        create_chart, create_tax, get_accounts)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    from trytond.modules.company.tests.tools import create_company

    config = pconfig.set_trytond(
        database=database, user='admin', config_file=config_file)

    # Currency ---------------------------------------------------------
    Currency = Model.get('currency.currency')
    brl_currency = Currency.find([('code', '=', 'BRL')])
    if brl_currency:
        brl_currency, = brl_currency
    else:
        brl_currency = Currency(
            name="Real", code='BRL', numeric_code='986', symbol='R$',
            rounding=Decimal('0.01'), digits=2)
        brl_currency.save()
    step("currency BRL (R$)")

    # Language ----------------------------------------------------------
    Lang = Model.get('ir.lang')
    langs = Lang.find([('code', '=', 'pt_BR')])
    if langs:
        lang, = langs
    else:
        lang = Lang(
            name="Português (Brasil)", code='pt_BR', parent='pt',
            date='%d/%m/%Y', am='', pm='',
            grouping='[3, 3, 0]', decimal_point=',', thousands_sep='.',
            mon_grouping='[3, 3, 0]', mon_decimal_point=',',
            mon_thousands_sep='.', p_sign_posn=1, n_sign_posn=1,
            positive_sign='', negative_sign='-',
            p_cs_precedes=True, n_cs_precedes=True,
            p_sep_by_space=True, n_sep_by_space=True)
        lang.save()
    started = time.monotonic()
    if os.environ.get('CICLO_DEMO_NO_TRANSLATIONS'):
        step("language pt_BR created; translations not loaded "
            "(CICLO_DEMO_NO_TRANSLATIONS)")
    else:
        # The host ships Portuguese (pt); pt_BR falls back on it.
        lang.click('load_translations')
        step("language pt_BR with the host's Portuguese translations "
            "(%.0fs)" % (time.monotonic() - started))

    # Country -----------------------------------------------------------
    Country = Model.get('country.country')
    Subdivision = Model.get('country.subdivision')
    brazil = Country.find([('code', '=', 'BR')])
    if brazil:
        brazil, = brazil
    else:
        brazil = Country(
            name="Brasil", code='BR', code3='BRA', code_numeric='076')
        brazil.save()
        Subdivision.save([Subdivision(
                    country=brazil, code='BR-%s' % code, name=name,
                    type='state') for code, name in STATES])
    states = {s.code[3:]: s for s in Subdivision.find(
            [('country', '=', brazil.id)])}
    step("country Brasil and its %d states" % len(states))

    # Company -----------------------------------------------------------
    Party = Model.get('party.party')
    party = Party(name=COMPANY_NAME)
    # Tryton 8.0 files the CNPJ under its VAT alias: type 'br_vat' ('br_cnpj'
    # is no longer a selection value).
    party.identifiers.new(type='br_vat', code=COMPANY_CNPJ)
    address, = party.addresses
    address.street_unstructured = "Avenida Paulista, 1578 - Bela Vista"
    address.postal_code = '01310-200'
    address.city = "São Paulo"
    address.country = brazil
    address.subdivision = states['SP']
    party.contact_mechanisms.new(type='phone', value='(11) 3003-2026')
    party.contact_mechanisms.new(type='mobile', value='(11) 99876-2026')
    party.contact_mechanisms.new(
        type='email', value='financeiro@ciclotelecom.com.br')
    party.contact_mechanisms.new(
        type='website', value='https://ciclotelecom.com.br')
    party.save()
    create_company(party, brl_currency)
    Company = Model.get('company.company')
    company, = Company.find()
    company.timezone = 'America/Sao_Paulo'
    company.save()
    step("company %s, CNPJ %s, São Paulo/SP, America/Sao_Paulo" % (
            COMPANY_NAME, COMPANY_CNPJ))

    # Employee on admin ----------------------------------------------
    User = Model.get('res.user')
    Employee = Model.get('company.employee')
    employee_party = Party(name="Renata Albuquerque")
    employee_party.identifiers.new(type='br_cpf', code='529.982.247-25')
    employee_party.contact_mechanisms.new(
        type='mobile', value='(11) 98123-4567')
    employee_party.contact_mechanisms.new(
        type='email', value='renata.albuquerque@ciclotelecom.com.br')
    employee_party.save()
    employee = Employee(party=employee_party, company=company)
    employee.save()
    admin, = User.find([('login', '=', 'admin')])
    admin.employees.append(Employee(employee.id))
    admin.employee = employee
    admin.save()
    config._context = User.get_preferences(True, {})

    # Accounting ------------------------------------------------------
    create_chart(company, chart='account.account_template_root_en')
    accounts = get_accounts(company)
    step("chart of accounts from the template \"Minimal Account Chart\"")

    FiscalYear = Model.get('account.fiscalyear')
    Sequence = Model.get('ir.sequence.strict')
    SequenceType = Model.get('ir.sequence.type')
    move_type, = SequenceType.find([('name', '=', "Account Move")], limit=1)
    move_sequence = Sequence(
        name=str(FISCAL_YEAR), sequence_type=move_type, company=company)
    move_sequence.save()
    fiscalyear = FiscalYear(
        name=str(FISCAL_YEAR),
        start_date=datetime.date(FISCAL_YEAR, 1, 1),
        end_date=datetime.date(FISCAL_YEAR, 12, 31),
        company=company, move_sequence=move_sequence)
    set_fiscalyear_invoice_sequences(fiscalyear)
    fiscalyear.save()
    fiscalyear.click('create_period')
    step("fiscal year %d with %d monthly periods and invoice sequences" % (
            FISCAL_YEAR, len(fiscalyear.periods)))

    PaymentTerm = Model.get('account.invoice.payment_term')
    term = PaymentTerm(name="À vista no vencimento")
    term.lines.new(type='remainder')
    term.save()
    AccountConfig = Model.get('account.configuration')
    account_config = AccountConfig(1)
    account_config.default_customer_payment_term = term
    account_config.save()

    Journal = Model.get('account.journal')
    PaymentMethod = Model.get('account.invoice.payment.method')
    journal_cash, = Journal.find([('type', '=', 'cash')])
    payment_method = PaymentMethod(
        name="PIX", journal=journal_cash,
        credit_account=accounts['cash'], debit_account=accounts['cash'])
    payment_method.save()

    tax = create_tax(Decimal('.05'))
    tax.name = "ISS 5%"
    tax.description = "ISS 5%"
    tax.save()
    step("ISS 5%, payment term, payment method PIX")

    # Products and plans ------------------------------------------------
    Uom = Model.get('product.uom')
    unit, = Uom.find([('name', '=', 'Unit')])
    Category = Model.get('product.category')
    category = Category(name="Serviços", accounting=True)
    category.account_revenue = accounts['revenue']
    category.customer_taxes.append(tax)
    category.save()

    Template = Model.get('product.template')

    def service_product(name, price, code):
        template = Template(name=name, type='service', default_uom=unit)
        template.salable = True
        template.list_price = price
        template.account_category = category
        template.code = code
        template.save()
        return template.products[0]

    RuleSet = Model.get('sale.subscription.recurrence.rule.set')
    recurrences = {}
    for key, name, freq, interval in [
            ('monthly', "Mensal", 'monthly', 1),
            ('quarterly', "Trimestral", 'monthly', 3),
            ('yearly', "Anual", 'yearly', 1)]:
        rule_set = RuleSet(name=name)
        rule, = rule_set.rules
        rule.freq = freq
        rule.interval = interval
        rule_set.save()
        recurrences[key] = rule_set

    Service = Model.get('sale.subscription.service')
    Plan = Model.get('sale.subscription.plan')
    setup_product = service_product(
        "Taxa de instalação", Decimal('100.00'), 'INST')
    for (code, name, recurrence, price, setup_fee, loyalty, trial,
            _) in PLANS:
        product = service_product(name, price, code)
        service = Service(product=product)
        service.save()
        plan = Plan(name=name, code=code, product=product, service=service,
            recurrence=recurrences[recurrence], billing_mode='advance',
            price=price, loyalty_months=loyalty, trial_days=trial)
        if setup_fee:
            plan.setup_fee = setup_fee
            plan.setup_product = setup_product
        plan.save()
        step("plan %s %s: %s %s%s%s" % (
                code, name, brl(price), recurrences[recurrence].name,
                ", adesão %s" % brl(setup_fee) if setup_fee else '',
                ", fidelidade %d meses" % loyalty if loyalty else ''))

    # Policy, cron, preferences -----------------------------------------
    PartyConfig = Model.get('party.configuration')
    party_config = PartyConfig(1)
    party_config.require_tax_identifier = True
    party_config.unique_tax_identifier = True
    party_config.require_mobile = True
    party_config.require_email = True
    party_config.save()
    step("party policy: CPF/CNPJ required and unique, mobile and e-mail "
        "required")

    ModelData = Model.get('ir.model.data')
    Cron = Model.get('ir.cron')
    cron = Cron(ModelData.get_id(
            'subscription_core', 'cron_billing_run', config.context))
    cron.companies.append(Company(company.id))
    cron.save()
    step("billing cron runs for the company")

    admin = User(admin.id)
    admin.language = lang
    admin.save()
    step("admin speaks pt_BR")
    return company.id, admin.id


# --- 2.-4. bulk with the ORM -------------------------------------------------

class Demo:

    def __init__(self, database, company_id, admin_id):
        from trytond.pool import Pool
        self.database = database
        self.pool = Pool(database)
        self.company_id = company_id
        self.admin_id = admin_id
        self.rng = random.Random(SEED)
        self.errors = []
        # Locks learned from the host's TransactionError, kept for the next
        # transactions (sequences, journal periods).
        self.extras = {}

    def transaction(self, user=None, extras=None, **context):
        from trytond.transaction import Transaction
        ctx = {'company': self.company_id, 'language': 'pt_BR'}
        ctx.update(context)
        return Transaction().start(
            self.database, self.admin_id if user is None else user,
            context=ctx, **(extras or {}))

    def in_transaction(self, func, *args, user=None, **context):
        """Call func(*args) in its own transaction, commit and run the
        tasks it queued.

        The host's lock protocol: a TransactionError (e.g. the locks posting
        a move needs) says how to start the transaction again; the locks
        are kept for the next transactions."""
        from trytond.transaction import TransactionError
        while True:
            try:
                with self.transaction(user=user, extras=self.extras,
                        **context) as transaction:
                    result = func(*args)
                    transaction.commit()
                    tasks = list(transaction.tasks)
                    transaction.tasks.clear()
                break
            except TransactionError as exception:
                exception.fix(self.extras)
        self.run_tasks(tasks)
        return result

    def run_tasks(self, tasks):
        "Run the queued tasks as the server does after a request"
        from trytond.worker import run_task
        while tasks:
            run_task(self.pool, tasks.pop())

    def customers(self):
        pool = self.pool
        Party = pool.get('party.party')
        Subdivision = pool.get('country.subdivision')
        Country = pool.get('country.country')
        rng = self.rng
        cpfs = random_cpfs(rng, CUSTOMERS)
        names = set()
        while len(names) < CUSTOMERS:
            names.add('%s %s %s' % (rng.choice(FIRST_NAMES),
                    rng.choice(SURNAMES), rng.choice(SURNAMES)))
        names = sorted(names)
        rng.shuffle(names)
        mobiles = set()
        with self.transaction() as transaction:
            brazil, = Country.search([('code', '=', 'BR')])
            states = {s.code[3:]: s for s in Subdivision.search(
                    [('country', '=', brazil.id)])}
            parties = []
            for name, cpf in zip(names, cpfs):
                city, state, ddd, cep_lo, cep_hi, _ = rng.choices(
                    CITIES, weights=[c[-1] for c in CITIES])[0]
                while True:
                    mobile = '(%s) 9%04d-%04d' % (
                        ddd, rng.randint(6000, 9999), rng.randint(0, 9999))
                    if mobile not in mobiles:
                        mobiles.add(mobile)
                        break
                first, *_, last = name.split()
                user = ('%s.%s' % (first, last)).lower().translate(ACCENTS)
                email = '%s%d@%s' % (user, rng.randint(1, 99), rng.choice(
                        ['exemplo.com.br', 'email.exemplo.com',
                            'correio.exemplo.net']))
                cep = '%05d-%03d' % (
                    rng.randint(cep_lo, cep_hi), rng.randint(0, 999))
                street = '%s, %d - %s' % (rng.choice(STREETS),
                    rng.randint(10, 3999), rng.choice(DISTRICTS))
                # identifiers before contact_mechanisms: the policy check
                # that ContactMechanism.validate runs on the party needs the
                # CPF already created (the other order fails).
                parties.append({
                        'name': name,
                        'identifiers': [('create', [{
                                        'type': 'br_cpf', 'code': cpf}])],
                        'addresses': [('create', [{
                                        'street_unstructured': street,
                                        'postal_code': cep, 'city': city,
                                        'country': brazil.id,
                                        'subdivision': states[state].id,
                                        }])],
                        'contact_mechanisms': [('create', [
                                    {'type': 'mobile', 'value': mobile},
                                    {'type': 'email', 'value': email},
                                    ])],
                        })
            parties = Party.create(parties)
            transaction.commit()
            return [p.id for p in parties]

    def sales(self, party_ids):
        pool = self.pool
        Sale = pool.get('sale.sale')
        Line = pool.get('sale.line')
        Plan = pool.get('sale.subscription.plan')
        Party = pool.get('party.party')
        rng = self.rng
        with self.transaction() as transaction:
            plans = {p.code: p for p in Plan.search([])}
            weights = [p[-1] for p in PLANS]
            codes = [p[0] for p in PLANS]
            sales = []
            for party in Party.browse(party_ids):
                plan = plans[rng.choices(codes, weights=weights)[0]]
                sale_date = START + datetime.timedelta(rng.randint(0, 30))
                sale = Sale(party=party, sale_date=sale_date)
                sale.on_change_party()
                sale.contract_billing_day = rng.choice(DUE_DAYS)
                sale.description = plan.name
                line = Line(type='line', product=plan.product, quantity=1)
                line.sale = sale
                line.on_change_product()
                line.unit_price = plan.price
                sale.lines = [line]
                sales.append(sale)
            Sale.save(sales)
            Sale.quote(sales)
            Sale.confirm(sales)
            transaction.commit()
            tasks = list(transaction.tasks)
            transaction.tasks.clear()
            sale_ids = [s.id for s in sales]
        # Sale.confirm queues Sale.process (which creates and activates the
        # contracts); the server runs the task after the commit.
        self.run_tasks(tasks)
        with self.transaction() as transaction:
            states = Counter(s.state for s in Sale.browse(sale_ids))
            contracts = sum(len(s.contracts) for s in Sale.browse(sale_ids))
        return states, contracts

    def simulate(self):
        """Live August to November day by day: cancellations, suspensions,
        the billing run (as the daily cron) and the payments."""
        pool = self.pool
        Contract = pool.get('sale.subscription')
        rng = self.rng
        with self.transaction():
            contracts = Contract.search([], order=[('id', 'ASC')])
            # How each customer pays: 75% on time, 17% late, 8% never.
            profiles = {}
            for contract in contracts:
                roll = rng.random()
                profiles[contract.id] = ('ontime' if roll < .75
                    else 'late' if roll < .92 else 'never')
            good = [c.id for c in contracts
                if profiles[c.id] != 'never']
            # A few customers leave in October.
            cancellations = {}
            for contract_id in rng.sample(good, 6):
                day = datetime.date(2026, 10, rng.randint(1, 28))
                cancellations.setdefault(day, []).append(contract_id)
        # Customers who never pay are suspended on this day (dunning).
        suspension_day = datetime.date(2026, 11, 12)

        days = list(daterange(START, END))
        progress = Progress(len(days), "billing")
        totals = {'contracts': 0, 'invoices': 0, 'payments': 0}
        pending = defaultdict(list)  # payment date -> invoice ids
        for index, day in enumerate(days, 1):
            if day in cancellations:
                self.cancel(cancellations[day], day)
            if day == suspension_day:
                self.suspend(
                    [i for i, p in profiles.items() if p == 'never'], day)
            result = self.bill(day)
            totals['contracts'] += result['contracts']
            totals['invoices'] += result['invoices']
            for invoice_id, contract_id, due in result['new']:
                profile = profiles[contract_id]
                if profile == 'never' and due > START + datetime.timedelta(
                        31):
                    continue
                if profile in ('ontime', 'never'):
                    delay = rng.choice([-2, -1, 0, 0, 0, 1, 2, 3])
                else:
                    delay = rng.randint(8, 25)
                pay_day = max(day, due + datetime.timedelta(delay))
                if rng.random() < .04:
                    continue  # forgotten: stays open
                pending[pay_day].append(invoice_id)
            if pending.get(day):
                totals['payments'] += self.pay(pending.pop(day), day)
            progress.update(index, '%s  %d invoices, %d paid' % (
                    day.strftime('%d/%m/%Y'), totals['invoices'],
                    totals['payments']))
        return totals

    def bill(self, day):
        pool = self.pool
        Contract = pool.get('sale.subscription')
        Invoice = pool.get('account.invoice')
        # As the cron: root, with the company in the context.
        with self.transaction(user=0) as transaction:
            last = Invoice.search([], order=[('id', 'DESC')], limit=1)
            last_id = last[0].id if last else 0
            result = Contract.billing_run(day)
            transaction.commit()
        for contract_id, message in result['errors']:
            self.errors.append('%s: contract %s: %s' % (
                    day.isoformat(), contract_id, message))
        with self.transaction() as transaction:
            Charge = pool.get('sale.subscription.charge')
            new = {}
            for charge in Charge.search([
                        ('invoice', '>', last_id),
                        ], order=[('period_start', 'ASC')]):
                invoice = charge.invoice
                if invoice.id not in new:
                    new[invoice.id] = (invoice.id, charge.contract.id,
                        invoice.payment_term_date or invoice.invoice_date)
        result['new'] = list(new.values())
        return result

    def pay(self, invoice_ids, day):
        return self.in_transaction(self._pay, invoice_ids, day)


    def _pay(self, invoice_ids, day):
        pool = self.pool
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        PaymentMethod = pool.get('account.invoice.payment.method')
        method, = PaymentMethod.search([('name', '=', "PIX")])
        to_reconcile = []
        for invoice in Invoice.browse(invoice_ids):
            if invoice.state != 'posted' or not invoice.amount_to_pay:
                continue
            lines = invoice.pay_invoice(
                invoice.amount_to_pay, method, day,
                description="PIX %s" % invoice.number)
            to_reconcile.append(list(invoice.lines_to_pay) + lines)
        # The reconciliation queues Invoice.process, which marks the
        # invoices paid and moves the contracts' paid-until.
        if to_reconcile:
            MoveLine.reconcile(*to_reconcile, date=day)
        return len(to_reconcile)

    def cancel(self, contract_ids, day):
        pool = self.pool
        Contract = pool.get('sale.subscription')
        Reason = pool.get('sale.subscription.reason')
        choices = [self.rng.random() for _ in contract_ids]

        def cancel():
            reasons = Reason.search([
                    ('code', 'in', ['customer_request', 'moved'])],
                order=[('code', 'ASC')])
            contracts = [c for c in Contract.browse(contract_ids)
                if c.state == 'running']
            for contract, choice in zip(contracts, choices):
                contract.cancellation_reason = reasons[
                    int(choice * len(reasons))]
            Contract.save(contracts)
            Contract.cancel(contracts, day)
        self.in_transaction(cancel)

    def suspend(self, contract_ids, day):
        pool = self.pool
        Contract = pool.get('sale.subscription')
        def suspend():
            contracts = [c for c in Contract.browse(contract_ids)
                if c.state == 'running']
            Contract.suspend(contracts, day)
        self.in_transaction(suspend)

    def summary(self, elapsed):
        pool = self.pool
        Contract = pool.get('sale.subscription')
        Invoice = pool.get('account.invoice')
        Sale = pool.get('sale.sale')
        with self.transaction(_check_access=False):
            contracts = Contract.search([])
            states = {'running': "Active", 'suspended': "Suspended",
                'cancelled': "Cancelled", 'closed': "Closed",
                'draft': "Draft", 'quotation': "Quotation"}
            by_state = Counter(c.state for c in contracts)
            mrr = sum((c.mrr for c in contracts if c.state == 'running'),
                Decimal(0))
            by_plan = defaultdict(lambda: [0, Decimal(0)])
            for contract in contracts:
                if contract.state == 'running':
                    by_plan[contract.plan.name][0] += 1
                    by_plan[contract.plan.name][1] += contract.mrr
            invoices = Invoice.search([('type', '=', 'out')])
            by_invoice_state = defaultdict(lambda: [0, Decimal(0)])
            for invoice in invoices:
                key = by_invoice_state[invoice.state]
                key[0] += 1
                key[1] += invoice.total_amount
            total = sum((i.total_amount for i in invoices), Decimal(0))
            open_due = sum((i.amount_to_pay for i in invoices
                    if i.state == 'posted'), Decimal(0))
            paid_until = [c for c in contracts if c.paid_until_date]
            customers = len({c.party for c in contracts})
            sales = Sale.search_count([])

        def line(label, value):
            print('  %-28s %s' % (label, value))
        print()
        print('Ciclo demo: %s (%s)' % (COMPANY_NAME, COMPANY_CNPJ))
        print('=' * 60)
        line("Customers (CPF, contract)", customers)
        line("Sales", sales)
        line("Contracts", len(contracts))
        for state, count in sorted(by_state.items()):
            line("  %s" % states.get(state, state), count)
        line("Invoices", "%d, total %s" % (len(invoices), brl(total)))
        labels = {'paid': "Paid", 'posted': "Open (posted)",
            'draft': "Draft", 'validated': "Validated",
            'cancelled': "Cancelled"}
        for state, (count, amount) in sorted(by_invoice_state.items()):
            line("  %s" % labels.get(state, state),
                "%d, %s" % (count, brl(amount)))
        line("Receivable open", brl(open_due))
        line("Contracts with paid-until", len(paid_until))
        line("MRR (active contracts)", brl(mrr))
        for name, (count, amount) in sorted(by_plan.items()):
            line("  %s" % name, "%d contracts, %s" % (count, brl(amount)))
        line("Billing errors", len(self.errors))
        for error in self.errors[:20]:
            print('    %s' % error)
        line("Time", "%.0fs" % elapsed)
        print('=' * 60)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('-c', '--config', required=True)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, format='%(levelname)s %(name)s %(message)s')

    started = time.monotonic()
    from trytond import config
    config.update_etc(args.config)

    print("Setup", flush=True)
    company_id, admin_id = setup(args.database, args.config)

    demo = Demo(args.database, company_id, admin_id)
    print("Customers and sales", flush=True)
    t0 = time.monotonic()
    party_ids = demo.customers()
    step("%d customers with CPF, mobile, e-mail and address (%.0fs)" % (
            len(party_ids), time.monotonic() - t0))
    t0 = time.monotonic()
    sale_states, contracts = demo.sales(party_ids)
    step("%d sales in August 2026 (%s) -> %d contracts (%.0fs)" % (
            sum(sale_states.values()),
            ', '.join('%d %s' % (n, s) for s, n in sorted(
                    sale_states.items())), contracts,
            time.monotonic() - t0))

    print("Billing %s to %s, day by day as the cron" % (
            START.strftime('%d/%m/%Y'), END.strftime('%d/%m/%Y')),
        flush=True)
    t0 = time.monotonic()
    totals = demo.simulate()
    step("%d contract billings, %d invoices, %d payments (%.0fs)" % (
            totals['contracts'], totals['invoices'], totals['payments'],
            time.monotonic() - t0))

    demo.summary(time.monotonic() - started)
    if demo.errors:
        print("demo_data: %d billing errors" % len(demo.errors),
            file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
