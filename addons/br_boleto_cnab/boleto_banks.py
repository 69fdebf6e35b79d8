# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Per-bank campo livre (25 digits) and nosso número check digits.

One class per bank, registered in BANKS by bank code. The rules are
those that two independent open-source libraries (brcobranca, openboleto,
pyboleto) agree on and that their published vectors confirm; they are
not bank-certified (see research domain-rules C.2).
"""
import datetime as dt
from dataclasses import dataclass, field

from .boleto import BoletoError, assemble, digits, mod10, mod11, mod11_sum

__all__ = ['BANKS', 'BoletoInput', 'Bank', 'make_boleto', 'split_dv']

BANKS = {}


def register(cls):
    BANKS[cls.code] = cls
    return cls


def split_dv(value):
    "Split '1234-5' into ('1234', '5'); ('1234', None) without DV"
    value = '' if value is None else str(value).strip()
    if '-' in value:
        number, dv = value.rsplit('-', 1)
        return number.strip(), dv.strip() or None
    return value, None


@dataclass
class BoletoInput:
    "Inputs of a boleto; extra holds the bank-specific ones (posto, ...)"
    bank: str
    due_date: object
    amount: object
    agencia: str = ''
    conta: str = ''
    carteira: str = ''
    nosso_numero: str = ''
    convenio: str = ''
    extra: dict = field(default_factory=dict)

    def get(self, key, default=''):
        value = self.extra.get(key)
        return default if value in (None, '') else str(value)


class Bank:
    "Base of the per-bank rules"
    code = None
    name = None

    def free_field(self, data):
        "Return the 25-digit campo livre"
        raise NotImplementedError

    def nosso_numero(self, data):
        "Return the nosso número as printed on the boleto"
        return data.nosso_numero

    def make(self, data):
        free = self.free_field(data)
        if len(free) != 25 or not free.isdigit():
            raise BoletoError('campo livre: bank %s built %r, not 25 digits'
                % (self.code, free))
        return assemble(self.code, data.due_date, data.amount, free,
            self.nosso_numero(data))

    @staticmethod
    def number(value, size, name):
        "Zero-padded number without a '-DV' suffix"
        return digits(split_dv(value)[0], size, name)

    @staticmethod
    def with_dv(value, size, name, dv_func=None):
        "Zero-padded number followed by its DV (given, else computed)"
        number, dv = split_dv(value)
        if dv is None:
            if dv_func is None:
                raise BoletoError('%s: %r needs its check digit (-D)'
                    % (name, value))
            dv = str(dv_func(number))
        return digits(number + dv, size, name)

    @staticmethod
    def required(value, name):
        if value in (None, ''):
            raise BoletoError('%s: is required' % name)
        return value


def double_dv(number, base=7):
    """Two check digits (mod 10 then mod 11) of Banrisul, BRB, Banestes.

    A mod-11 remainder of 1 bumps the first digit and retries."""
    d1 = mod10(number)
    while True:
        rest = mod11_sum(number + str(d1), base) % 11
        if rest != 1:
            break
        d1 = (d1 + 1) % 10
    return '%d%d' % (d1, 0 if rest == 0 else 11 - rest)


class _BBLayout:
    nn_size = None
    dv = True

    def __init__(self, bank):
        self.bank = bank


class _BB4(_BBLayout):
    nn_size = 7

    def free(self, data, convenio, nn):
        return (convenio + nn + self.bank.number(data.agencia, 4, 'agencia')
            + self.bank.number(data.conta, 8, 'conta')
            + digits(data.carteira, 2, 'carteira'))


class _BB6(_BB4):
    nn_size = 5


class _BB6Long(_BBLayout):
    "6-digit convênio with a 17-digit nosso número (service code 21)"
    nn_size = 17
    dv = False

    def free(self, data, convenio, nn):
        return convenio + nn + '21'


class _BB7(_BBLayout):
    nn_size = 10
    dv = False

    def free(self, data, convenio, nn):
        return ('000000' + convenio + nn
            + digits(data.carteira, 2, 'carteira'))


class _BB8(_BB7):
    nn_size = 9


@register
class BancoDoBrasil(Bank):
    """Banco do Brasil: layout by convênio size (4, 6, 7 or 8 digits).

    brcobranca banco_brasil.rb / openboleto BancoDoBrasil / pyboleto
    bancodobrasil agree (BB "Especificações Técnicas para Confecção de
    Boleto"). Convênio 6 with a nosso número over 5 digits (or
    codigo_servico=true) uses the 17-digit form ending in "21"."""
    code = '001'
    name = 'Banco do Brasil'
    layouts = {4: _BB4, 6: _BB6, 7: _BB7, 8: _BB8}

    def _layout(self, data):
        convenio = self.required(data.convenio, 'convenio')
        size = len(convenio)
        layout = self.layouts.get(size)
        if layout is None:
            raise BoletoError('convenio: %r has %d digits; Banco do Brasil '
                'uses 4, 6, 7 or 8' % (convenio, size))
        long_nn = (data.get('codigo_servico').lower() == 'true'
            or len(data.nosso_numero.lstrip('0')) > 5)
        if size == 6 and long_nn:
            layout = _BB6Long
        return layout(self), digits(convenio, size, 'convenio')

    def free_field(self, data):
        layout, convenio = self._layout(data)
        nn = digits(data.nosso_numero, layout.nn_size, 'nosso_numero')
        return layout.free(data, convenio, nn)

    def nosso_numero(self, data):
        layout, convenio = self._layout(data)
        nn = convenio + digits(data.nosso_numero, layout.nn_size,
            'nosso_numero')
        if not layout.dv:
            return nn[-17:]
        # weights 9..2 from the right; DV is the remainder itself
        dv = sum(int(c) * (9 - i % 8)
            for i, c in enumerate(reversed(nn))) % 11
        return '%s-%s' % (nn, 'X' if dv == 10 else dv)


@register
class Santander(Bank):
    """Santander: "9" + código do beneficiário(7) + NN(12) + DV + IOS + carteira.

    brcobranca santander.rb, openboleto Santander and pyboleto santander
    agree; NN DV modulo 11 weights 2..9, 10/11 -> 0."""
    code = '033'
    name = 'Santander'

    def _nn(self, data):
        nn = digits(data.nosso_numero, 12, 'nosso_numero')
        return nn, str(mod11(nn))

    def free_field(self, data):
        code = self.number(data.convenio or data.conta, 7, 'convenio')
        nn, dv = self._nn(data)
        return ('9' + code + nn + dv + digits(data.get('ios', '0'), 1, 'ios')
            + digits(data.carteira or '102', 3, 'carteira'))

    def nosso_numero(self, data):
        return '%s-%s' % self._nn(data)


@register
class Bradesco(Bank):
    """Bradesco: agência(4) carteira(2) NN(11) conta(7) "0".

    brcobranca bradesco.rb, openboleto Bradesco and pyboleto bradesco
    agree; NN DV modulo 11 weights 2..7 over carteira+NN, 10 -> P."""
    code = '237'
    name = 'Bradesco'

    def free_field(self, data):
        return (self.number(data.agencia, 4, 'agencia')
            + digits(data.carteira, 2, 'carteira')
            + digits(data.nosso_numero, 11, 'nosso_numero')
            + self.number(data.conta, 7, 'conta') + '0')

    def nosso_numero(self, data):
        carteira = digits(data.carteira, 2, 'carteira')
        nn = digits(data.nosso_numero, 11, 'nosso_numero')
        dv = mod11(carteira + nn, base=7, mapping={10: 'P', 11: 0})
        return '%s/%s-%s' % (carteira, nn, dv)


@register
class Uniprime(Bradesco):
    """Uniprime: the Bradesco layout under its own bank code.

    openboleto Uniprime (extends its Bradesco class)."""
    code = '084'
    name = 'Uniprime'


@register
class Itau(Bank):
    """Itaú: carteira(3) NN(8) DAC agência(4) conta(5) DAC "000".

    Carteiras 106, 107, 122, 142, 143, 195, 196, 198 carry seu número(7)
    and código do cliente(5) instead. DACs are modulo 10. The barcode
    DAC always covers agência+conta+carteira+NN (brcobranca itau_spec,
    carteira 168 vector); only the printed nosso número of carteiras 112,
    126, 131, 146, 150, 168 uses carteira+NN. A conta given as '12345-6'
    keeps its DV. brcobranca itau.rb, openboleto Itau and pyboleto itau
    agree on the layout."""
    code = '341'
    name = 'Itaú'
    special = {'106', '107', '122', '142', '143', '195', '196', '198'}
    short_dac = {'112', '126', '131', '146', '150', '168'}

    def _parts(self, data):
        return (self.number(data.agencia, 4, 'agencia'),
            self.number(data.conta, 5, 'conta'),
            digits(data.carteira, 3, 'carteira'),
            digits(data.nosso_numero, 8, 'nosso_numero'))

    def _dac(self, data, printed=False):
        agencia, conta, carteira, nn = self._parts(data)
        if printed and carteira in self.short_dac:
            return mod10(carteira + nn)
        return mod10(agencia + conta + carteira + nn)

    def free_field(self, data):
        agencia, conta, carteira, nn = self._parts(data)
        if carteira in self.special:
            seu = digits(self.required(data.get('seu_numero')
                    or data.get('numero_documento'), 'seu_numero'),
                7, 'seu_numero')
            client = digits(self.required(data.get('codigo_cliente')
                    or data.convenio, 'codigo_cliente'), 5, 'codigo_cliente')
            head = carteira + nn + seu + client
            return head + str(mod10(head)) + '0'
        conta_dv = split_dv(data.conta)[1] or str(mod10(agencia + conta))
        return (carteira + nn + str(self._dac(data)) + agencia + conta
            + digits(conta_dv, 1, 'conta DV') + '000')

    def nosso_numero(self, data):
        agencia, conta, carteira, nn = self._parts(data)
        return '%s/%s-%s' % (carteira, nn, self._dac(data, printed=True))


@register
class Sicoob(Bank):
    """Sicoob: carteira(1) agência(4) modalidade(2) convênio(7) NN(7) DV
    parcela(3).

    NN DV over agência(4)+convênio(10)+NN(7), weights 3,1,9,7 from the
    left, 11 - r, 10/11 -> 0. brcobranca sicoob.rb and openboleto Sicoob
    agree."""
    code = '756'
    name = 'Sicoob'

    def _nn(self, data):
        agencia = self.number(data.agencia, 4, 'agencia')
        convenio = self.number(self.required(data.convenio, 'convenio'),
            10, 'convenio')
        nn = digits(data.nosso_numero, 7, 'nosso_numero')
        dv = 11 - mod11_sum(agencia + convenio + nn,
            weights=(3, 1, 9, 7)) % 11
        return nn, str(0 if dv > 9 else dv)

    def free_field(self, data):
        nn, dv = self._nn(data)
        return (digits(data.carteira or '1', 1, 'carteira')
            + self.number(data.agencia, 4, 'agencia')
            + digits(data.get('modalidade', '01'), 2, 'modalidade')
            + self.number(data.convenio, 7, 'convenio') + nn + dv
            + digits(data.get('parcela', '001'), 3, 'parcela'))

    def nosso_numero(self, data):
        return '%s-%s' % self._nn(data)


@register
class Sicredi(Bank):
    """Sicredi: tipo(1) "1" NN(8: ano, byte, sequência) DV agência(4)
    posto(2) beneficiário(5) valor-flag "0" DV.

    brcobranca sicredi.rb (manual May 2016) and pyboleto sicredi agree;
    DVs modulo 11 weights 2..9, 10/11 -> 0. A nosso número of 8 digits
    already holds year and byte; shorter ones get them from the extra
    inputs `ano` (default: due-date year) and `byte_idt` (default 2)."""
    code = '748'
    name = 'Sicredi'

    def _nn(self, data):
        agencia = self.number(data.agencia, 4, 'agencia')
        posto = digits(self.required(data.get('posto'), 'posto'), 2, 'posto')
        code = self.number(data.convenio or data.conta, 5, 'convenio')
        nn = data.nosso_numero.strip()
        if len(nn) != 8:
            year = data.get('ano') or (
                '%02d' % (data.due_date.year % 100) if data.due_date else '')
            year = digits(self.required(year, 'ano'), 2, 'ano')
            byte = digits(data.get('byte_idt', '2'), 1, 'byte_idt')
            nn = year + byte + digits(nn, 5, 'nosso_numero')
        nn = digits(nn, 8, 'nosso_numero')
        return agencia, posto, code, nn, str(mod11(agencia + posto + code
                + nn))

    def free_field(self, data):
        agencia, posto, code, nn, dv = self._nn(data)
        flag = '1' if data.amount else '0'
        free = (digits(data.carteira or '3', 1, 'carteira') + '1' + nn + dv
            + agencia + posto + code + flag + '0')
        return free + str(mod11(free))

    def nosso_numero(self, data):
        nn, dv = self._nn(data)[3:]
        return '%s/%s-%s' % (nn[:2], nn[2:], dv)


@register
class Banrisul(Bank):
    """Banrisul: "21" agência(4) beneficiário(7) NN(8) "40" NC(2).

    NC is the mod 10 + mod 11 (weights 2..7) double digit. brcobranca
    banrisul.rb and pyboleto banrisul agree on the layout; the beneficiary
    code is `codigo_beneficiario`, else convenio, else conta."""
    code = '041'
    name = 'Banrisul'

    def free_field(self, data):
        code = (data.get('codigo_beneficiario') or data.convenio
            or data.conta)
        head = ('21' + self.number(data.agencia, 4, 'agencia')
            + self.number(code, 7, 'codigo_beneficiario')
            + digits(data.nosso_numero, 8, 'nosso_numero') + '40')
        return head + double_dv(head)

    def nosso_numero(self, data):
        nn = digits(data.nosso_numero, 8, 'nosso_numero')
        return '%s-%s' % (nn, double_dv(nn))


@register
class Caixa(Bank):
    """Caixa: SIGCB (beneficiário of up to 7 digits) or legacy SICOB
    (11-digit operação+conta).

    SIGCB: beneficiário(6) DV NN[3:5] NN[1] NN[6:8] NN[2] NN[9:17] DV,
    with NN = modalidade(1: 1 registrada, 2 sem registro) + emissão
    (4 = beneficiário) + sequence(15). SICOB: NN(10, "80" + 8 for SR)
    agência(4) código(11). openboleto Caixa/CaixaSICOB and pyboleto
    caixa_sigcb agree; DVs modulo 11 weights 2..9, >9 -> 0."""
    code = '104'
    name = 'Caixa Econômica Federal'
    modalidade = {'RG': '1', 'CR': '1', '1': '1', 'SR': '2', '2': '2'}

    def _code(self, data):
        return split_dv(data.convenio or data.conta)[0]

    def _sicob(self, data):
        return len(self._code(data)) > 7

    def _nn(self, data):
        nn = data.nosso_numero.strip()
        if self._sicob(data):
            return '80' + digits(nn, 8, 'nosso_numero')
        if len(nn) == 17:
            return digits(nn, 17, 'nosso_numero')
        carteira = (data.carteira or 'RG').upper()
        if carteira not in self.modalidade:
            raise BoletoError('carteira: %r is not RG, SR, 1 or 2'
                % data.carteira)
        return (self.modalidade[carteira] + data.get('emissao', '4')
            + digits(nn, 15, 'nosso_numero'))

    def free_field(self, data):
        nn = self._nn(data)
        if self._sicob(data):
            return (nn + self.number(data.agencia, 4, 'agencia')
                + digits(self._code(data), 11, 'conta'))
        code = digits(self._code(data), 6, 'codigo_beneficiario')
        free = (code + str(mod11(code)) + nn[2:5] + nn[0] + nn[5:8] + nn[1]
            + nn[8:17])
        return free + str(mod11(free))

    def nosso_numero(self, data):
        nn = self._nn(data)
        return '%s-%s' % (nn, mod11(nn))


@register
class Inter(Bank):
    """Banco Inter, legacy Intermedium "carteira 12" layout: agência(1)
    produto "000" carteira(2) sistema "10" documento(7) conta(10).

    coyosoftware/brcobranca inter.rb (the only public vector). The
    current Inter layout assigns the nosso número through Inter's API."""
    code = '077'
    name = 'Banco Inter'

    def free_field(self, data):
        nn = data.get('numero_documento') or data.nosso_numero
        return (self.number(data.agencia or '1', 1, 'agencia') + '000'
            + digits(data.carteira or '12', 2, 'carteira') + '10'
            + digits(nn, 7, 'nosso_numero')
            + self.number(data.conta, 10, 'conta'))

    def nosso_numero(self, data):
        carteira = digits(data.carteira or '12', 2, 'carteira')
        nn = digits(data.get('numero_documento') or data.nosso_numero, 7,
            'nosso_numero')
        return '%s/%s-%s' % (carteira, nn,
            mod11(carteira + nn, base=7, mapping={10: 'P', 11: 0}))


@register
class Ailos(Bank):
    """Ailos (ex-Cecred): convênio(6) conta+DV(8) NN(9) carteira(2).

    brcobranca ailos.rb; conta DV modulo 11 weights 2..9, 10/11 -> 0."""
    code = '085'
    name = 'Ailos'

    def free_field(self, data):
        return (digits(data.convenio, 6, 'convenio')
            + self.with_dv(data.conta, 8, 'conta', mod11)
            + digits(data.nosso_numero, 9, 'nosso_numero')
            + digits(data.carteira, 2, 'carteira'))

    def nosso_numero(self, data):
        return (self.with_dv(data.conta, 8, 'conta', mod11)
            + digits(data.nosso_numero, 9, 'nosso_numero'))


@register
class BancoBrasilia(Bank):
    """BRB: "000" agência(3) conta(7) carteira(1) NN(6) "070" DV(2).

    brcobranca banco_brasilia.rb and openboleto Brb agree; the double
    DV is mod 10 + mod 11 (weights 2..7) as Banrisul's."""
    code = '070'
    name = 'BRB'

    def free_field(self, data):
        head = ('000' + self.number(data.agencia, 3, 'agencia')
            + self.number(data.conta, 7, 'conta')
            + digits(data.carteira, 1, 'carteira')
            + digits(data.nosso_numero, 6, 'nosso_numero') + self.code)
        return head + double_dv(head)

    def nosso_numero(self, data):
        return self.free_field(data)[13:]


@register
class BancoNordeste(Bank):
    """Banco do Nordeste: agência(4) conta(7) DV NN(7) DV carteira(2) "000".

    brcobranca banco_nordeste.rb; NN DV modulo 11 weights 2..8 (10/11 ->
    0), conta DV as given."""
    code = '004'
    name = 'Banco do Nordeste'

    def _nn(self, data):
        nn = digits(data.nosso_numero, 7, 'nosso_numero')
        return nn, str(mod11(nn, base=8))

    def free_field(self, data):
        nn, dv = self._nn(data)
        return (self.number(data.agencia, 4, 'agencia')
            + self.with_dv(data.conta, 8, 'conta') + nn + dv
            + digits(data.carteira, 2, 'carteira') + '000')

    def nosso_numero(self, data):
        return '%s-%s' % self._nn(data)


@register
class Banestes(Bank):
    """Banestes: NN(8) conta+DV(11) variação(1, default 2) "021" DV(2).

    brcobranca banestes.rb; double DV mod 10 + mod 11 (weights 2..7)."""
    code = '021'
    name = 'Banestes'

    def free_field(self, data):
        head = (digits(data.nosso_numero, 8, 'nosso_numero')
            + self.with_dv(data.conta, 11, 'conta')
            + digits(data.get('variacao', '2'), 1, 'variacao') + self.code)
        return head + double_dv(head)

    def nosso_numero(self, data):
        nn = digits(data.nosso_numero, 8, 'nosso_numero')
        return '%s-%s' % (nn, double_dv(nn))


@register
class CrediSIS(Bank):
    """CrediSIS: "00000" + "097" + X + agência(4) convênio(6) NN(6).

    X is modulo 11 (weights 2..9, 0/10/11 -> 1) of the beneficiary's
    CPF/CNPJ, extra input `documento_cedente`. brcobranca credisis.rb."""
    code = '097'
    name = 'CrediSIS'

    def _nn(self, data):
        document = self.required(data.get('documento_cedente'),
            'documento_cedente')
        document = digits(document, len(document), 'documento_cedente')
        return ('097' + str(mod11(document, mapping={10: 1, 11: 1, 0: 1}))
            + self.number(data.agencia, 4, 'agencia')
            + digits(data.convenio, 6, 'convenio')
            + digits(data.nosso_numero, 6, 'nosso_numero'))

    def free_field(self, data):
        return '00000' + self._nn(data)

    def nosso_numero(self, data):
        return self._nn(data)


@register
class Unicred(Bank):
    """Unicred: agência(4) conta+DV(10) NN(10) DV.

    brcobranca unicred.rb (bank 136); NN DV modulo 11 weights 2..9,
    10/11 -> 0."""
    code = '136'
    name = 'Unicred'

    def _nn(self, data):
        nn = digits(data.nosso_numero, 10, 'nosso_numero')
        return nn, str(mod11(nn))

    def free_field(self, data):
        nn, dv = self._nn(data)
        return (self.number(data.agencia, 4, 'agencia')
            + self.with_dv(data.conta, 10, 'conta') + nn + dv)

    def nosso_numero(self, data):
        return '%s-%s' % self._nn(data)


class _HsbcCnr:
    "CNR (sem registro): código(7) NN(13) data juliana(4) produto '2'"

    def free(self, bank, data):
        julian = '0000'
        if data.due_date:
            julian = '%03d%d' % (data.due_date.timetuple().tm_yday,
                data.due_date.year % 10)
        return (bank.number(data.convenio or data.conta, 7, 'codigo_cedente')
            + digits(data.nosso_numero, 13, 'nosso_numero') + julian + '2')

    def nosso_numero(self, bank, data):
        return digits(data.nosso_numero, 13, 'nosso_numero')


class _HsbcRegistered:
    "Com registro (CSB): NN(10) DV agência(4) conta(7) '00' '1'"

    def _nn(self, data):
        nn = digits(data.nosso_numero, 10, 'nosso_numero')
        return nn + str(mod11(nn, base=7, mapping={10: 0, 11: 0}))

    def free(self, bank, data):
        return (self._nn(data) + bank.number(data.agencia, 4, 'agencia')
            + bank.number(data.conta, 7, 'conta') + '001')

    def nosso_numero(self, bank, data):
        return self._nn(data)


@register
class Hsbc(Bank):
    """HSBC: carteira CNR (sem registro) or registered (CSB).

    brcobranca hsbc.rb and pyboleto hsbc / hsbc_com_registro agree."""
    code = '399'
    name = 'HSBC'
    layouts = {'CNR': _HsbcCnr}

    def _layout(self, data):
        return self.layouts.get((data.carteira or '').upper(),
            _HsbcRegistered)()

    def free_field(self, data):
        return self._layout(data).free(self, data)

    def nosso_numero(self, data):
        return self._layout(data).nosso_numero(self, data)


@register
class Safra(Bank):
    """Safra: "7" agência+DV(5) conta+DV(9) NN(8) DV "2".

    brcobranca safra.rb; NN DV modulo 11 weights 2..9 with remainder 0
    -> 1 and 1 -> 0."""
    code = '422'
    name = 'Safra'

    def _nn(self, data):
        nn = digits(data.nosso_numero, 8, 'nosso_numero')
        return nn, str(mod11(nn, mapping={11: 1, 10: 0}))

    def free_field(self, data):
        nn, dv = self._nn(data)
        agencia = ''.join(x for x in split_dv(data.agencia) if x)
        conta = ''.join(x for x in split_dv(data.conta) if x)
        return ('7' + digits(agencia, 5, 'agencia')
            + digits(conta, 9, 'conta') + nn + dv + '2')

    def nosso_numero(self, data):
        return '%s-%s' % self._nn(data)


@register
class Citibank(Bank):
    """Citibank: "3" portfolio(3) conta cosmos[2:10](9) NN(11) DV.

    brcobranca citibank.rb (carteira = portfolio, convenio = 10-digit
    conta cosmos); NN DV modulo 11 weights 2..9, 10/11 -> 0."""
    code = '745'
    name = 'Citibank'

    def _nn(self, data):
        nn = digits(data.nosso_numero, 11, 'nosso_numero')
        return nn, str(mod11(nn))

    def free_field(self, data):
        cosmos = digits(self.required(data.convenio, 'convenio'), 10,
            'convenio')
        nn, dv = self._nn(data)
        return '3' + digits(data.carteira, 3, 'carteira') + cosmos[1:] + nn + dv

    def nosso_numero(self, data):
        return '%s.%s' % self._nn(data)


def make_boleto(bank, due_date, amount, agencia='', conta='', carteira='',
        nosso_numero='', convenio='', extra=None):
    "Return the Boleto of bank (code) for these inputs"
    cls = BANKS.get(str(bank).strip().zfill(3))
    if cls is None:
        raise BoletoError('banco: %r is not supported (supported: %s)'
            % (bank, ', '.join(sorted(BANKS))))
    if due_date is not None and not isinstance(due_date, dt.date):
        raise BoletoError('vencimento: %r is not a date' % (due_date,))
    data = BoletoInput(bank=cls.code, due_date=due_date, amount=amount,
        agencia=str(agencia or '').strip(), conta=str(conta or '').strip(),
        carteira=str(carteira or '').strip(),
        nosso_numero=str(nosso_numero or '').strip(),
        convenio=str(convenio or '').strip(), extra=dict(extra or {}))
    return cls().make(data)
