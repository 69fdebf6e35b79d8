# This file is part of Ciclo. The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from . import host_cursor

# Applied when trytond loads the module (see host_cursor for the why).
host_cursor.install()
