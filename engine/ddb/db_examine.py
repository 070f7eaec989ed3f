"""db_expr.c, db_examine.c and db_variables.c: expressions, print, x, set.

Expressions are db_expr.c 1.16's: a term is a symbol (its ADDRESS), a
number, `.` (dot), `..` (prev), `+` (next), `"` (last address), a
`$variable` or register, or a parenthesised expression; unary `-` and `*`
(read 8 bytes of modeled memory); `* / % #` on a term; `+ -`; `<< >>`
(right shift unsigned). That is all of it: the 2018 lexer has no `&`, `|`
or comparisons ("Bad character").

Model extensions, marked in `help`: `curlwp`, `curcpu` (or `curcpu()`) and
`curproc` name the selected CPU's objects, and `EXPR->field` reads a field
of a modeled struct lwp, cpu_info, proc or psref (a pointer field gives
the address it points to, so paths chain: curlwp->l_cpu->ci_index).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import symtab
from engine.ddb import db_access
from engine.ddb.db_lex import (
    DbError,
    Lexer,
    num_to_str,
    tARROW,
    tDITTO,
    tDOLLAR,
    tDOT,
    tDOTDOT,
    tEOL,
    tEQ,
    tHASH,
    tIDENT,
    tLPAREN,
    tMINUS,
    tNUMBER,
    tPCT,
    tPLUS,
    tRPAREN,
    tSHIFT_L,
    tSHIFT_R,
    tSLASH,
    tSTAR,
)
from engine.ddb.db_session import EXTRA_VARS, Cmd
from engine.machine import FUNCS

if TYPE_CHECKING:
    from engine.ddb.db_command import Session

MASK = 0xFFFFFFFFFFFFFFFF


def _signed(v: int) -> int:
    v &= MASK
    return v - (1 << 64) if v >> 63 else v


# -- symbols -------------------------------------------------------------------------------


def value_of_name(s: Session, name: str) -> int | None:
    """db_value_of_name(): a symbol's address (or a model extension's value)."""
    k = s.kernel
    name = name.removeprefix("netbsd:")
    if name in ("curlwp",):
        return k.curlwp(s.cpu).addr
    if name in ("curcpu",):
        return k.cpus[s.cpu].addr
    if name == "curproc":
        return k.proc(k.curlwp(s.cpu)).addr
    if name == "lwp0":
        # struct lwp lwp0 (kern_lwp.c): the swapper, pid 0's first LWP
        for l in k.lwps:
            if k.proc(l).p_pid == 0 and l.l_lid == 1:
                return l.addr
    if name in db_access.data_symbols():
        return db_access.data_symbols()[name][0]
    if name == "cpu_info_primary":
        return symtab.md("cpu_info_primary")
    if name == "kernel_map":
        return symtab.md("kernel_map")
    if name in FUNCS and "addr" in symtab.entry(name) and not symtab.entry(name).get("user"):
        return int(symtab.entry(name)["addr"])
    return None


def symbols() -> list[tuple[int, int, str]]:
    """(address, size, name) of every symbol the model knows."""
    out = [(addr, size, name) for name, (addr, size) in db_access.data_symbols().items()]
    out.append((symtab.md("cpu_info_primary"), db_access.sizeof("cpu_info"), "cpu_info_primary"))
    for name in FUNCS:
        e = symtab.entry(name)
        if "addr" in e and not e.get("user"):
            out.append((int(e["addr"]), int(e.get("size", 1)), name))
    return out


def db_printsym(s: Session, addr: int) -> str:
    """db_printsym() (db_sym.c): the closest symbol at or below addr within
    $maxoff, as mod:name+0xoff; else the number in $radix. Only the kernel
    image has symbols (kmem addresses print as numbers)."""
    addr &= MASK
    if addr >= symtab.md("kernel_start"):
        best = max(((base, name) for base, _, name in symbols() if base <= addr),
                   default=None)
        if best is not None and addr - best[0] < s.vars["maxoff"]:
            off = addr - best[0]
            return f"netbsd:{best[1]}+{off:#x}" if off else f"netbsd:{best[1]}"
    return num_to_str(addr, s.vars["radix"])


# -- db_expr.c --------------------------------------------------------------------------------


class _Expr:
    def __init__(self, s: Session, lx: Lexer) -> None:
        self.s = s
        self.lx = lx
        self.field: tuple[int, str] | None = None  # the last `->field` read

    def term(self) -> int | None:
        s, lx = self.s, self.lx
        t = lx.read_token()
        if t == tIDENT:
            name = lx.tok_string
            v = value_of_name(s, name)
            if v is None:
                v = 0
                for c in name:
                    if "0" <= c <= "9":
                        d = ord(c) - ord("0")
                    elif s.vars["radix"] == 16 and c.lower() in "abcdef":
                        d = ord(c.lower()) - ord("a") + 10
                    else:
                        raise DbError("Symbol not found")
                    v = v * s.vars["radix"] + d
            elif name == "curcpu":
                # model extension: curcpu() as the kernel spells it
                t2 = lx.read_token()
                if t2 == tLPAREN:
                    if lx.read_token() != tRPAREN:
                        raise DbError("Syntax error")
                else:
                    lx.unread_token(t2)
            return self.postfix(v)
        if t == tNUMBER:
            return self.postfix(lx.tok_number)
        if t == tDOT:
            return s.dot
        if t == tDOTDOT:
            return s.prev
        if t == tPLUS:
            return s.next
        if t == tDITTO:
            return s.last_addr
        if t == tDOLLAR:
            return self.variable()
        if t == tLPAREN:
            v = self.expression()
            if v is None:
                raise DbError("Syntax error")
            if lx.read_token() != tRPAREN:
                raise DbError("Syntax error")
            return self.postfix(v)
        lx.unread_token(t)
        return None

    def postfix(self, v: int) -> int:
        """Model extension: EXPR->field over modeled structs."""
        lx = self.lx
        while True:
            t = lx.read_token()
            if t != tARROW:
                lx.unread_token(t)
                return v
            if lx.read_token() != tIDENT:
                raise DbError("Syntax error")
            name = lx.tok_string
            self.field = (v, name)
            v = db_access.read_field(self.s.kernel, v, name)

    def variable(self) -> int:
        lx = self.lx
        if lx.read_token() != tIDENT:
            raise DbError("Unknown variable")
        name = lx.tok_string
        if name in self.s.vars:
            return self.s.vars[name]
        regs = registers(self.s)
        if name in regs:
            return regs[name]
        raise DbError("Unknown variable")

    def unary(self) -> int | None:
        lx = self.lx
        t = lx.read_token()
        if t == tMINUS:
            v = self.unary()
            if v is None:
                raise DbError("Syntax error")
            return -v
        if t == tSTAR:
            v = self.unary()
            if v is None:
                raise DbError("Syntax error")
            self.field = None
            return db_access.db_get_value(self.s.kernel, v, 8)
        lx.unread_token(t)
        return self.term()

    def mult(self) -> int | None:
        lhs = self.unary()
        if lhs is None:
            return None
        t = self.lx.read_token()
        while t in (tSTAR, tSLASH, tPCT, tHASH):
            rhs = self.term()
            if rhs is None:
                raise DbError("Syntax error")
            if t == tSTAR:
                lhs *= rhs
            else:
                if rhs == 0:
                    raise DbError("Divide by 0")
                a, b = _signed(lhs), _signed(rhs)
                if t == tSLASH:
                    lhs = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
                elif t == tPCT:
                    lhs = a - b * (abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1))
                else:
                    lhs = ((a + b - 1) // b) * b
            self.field = None
            t = self.lx.read_token()
        self.lx.unread_token(t)
        return lhs

    def add(self) -> int | None:
        lhs = self.mult()
        if lhs is None:
            return None
        t = self.lx.read_token()
        while t in (tPLUS, tMINUS):
            rhs = self.mult()
            if rhs is None:
                raise DbError("Syntax error")
            lhs = lhs + rhs if t == tPLUS else lhs - rhs
            self.field = None
            t = self.lx.read_token()
        self.lx.unread_token(t)
        return lhs

    def expression(self) -> int | None:
        """db_shift_expr()."""
        lhs = self.add()
        if lhs is None:
            return None
        t = self.lx.read_token()
        while t in (tSHIFT_L, tSHIFT_R):
            rhs = self.add()
            if rhs is None:
                raise DbError("Syntax error")
            if _signed(rhs) < 0:
                raise DbError("Negative shift amount")
            lhs = lhs << rhs if t == tSHIFT_L else (lhs & MASK) >> rhs
            self.field = None
            t = self.lx.read_token()
        self.lx.unread_token(t)
        return lhs & MASK


def db_expression(s: Session, lx: Lexer) -> tuple[int, tuple[int, str] | None] | None:
    """db_expression(): (value, the field it ended on) or None if no expression."""
    e = _Expr(s, lx)
    v = e.expression()
    if v is None:
        return None
    return v, e.field


# -- registers -----------------------------------------------------------------------------


def registers(s: Session) -> dict[str, int]:
    """The selected CPU's register context (ddb_regp) as the model knows it.

    Segment registers hold the kernel's selectors (GSEL(GDATA_SEL, SEL_KPL)
    for ds/es, GUDATA_SEL for fs/gs as a kernel entered from user space
    leaves them); the general registers the model does not track read 0.
    """
    k = s.kernel
    l = k.curlwp(s.cpu)
    regs = dict.fromkeys(
        ("ds", "es", "fs", "gs", "rdi", "rsi", "rbp", "rbx", "rdx", "rcx", "rax",
         "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"), 0)
    regs.update(ds=symtab.md("ds"), es=symtab.md("ds"), fs=symtab.md("fs"), gs=symtab.md("fs"))
    tf = symtab.trapframe(k, s.cpu, l)
    regs.update(rip=tf["rip"], cs=tf["cs"], rflags=tf["rflags"], rsp=tf["rsp"], ss=tf["ss"])
    regs["rbp"] = tf["rsp"]
    regs["rdi"] = l.addr
    regs["pc"] = tf["rip"]
    return regs


# -- print -------------------------------------------------------------------------------


def format_radix(v: int, radix: int, alt: bool) -> str:
    """db_format_radix(): signed, in $radix, 0x/0 prefix with alt."""
    sv = _signed(v)
    neg = sv < 0
    a = -sv if neg else sv
    if radix == 16:
        body = (f"0x{a:x}" if alt else f"{a:x}")
    elif radix == 8:
        body = (f"0{a:o}" if alt else f"{a:o}")
    else:
        body = f"{a:d}"
    return ("-" if neg else "") + body


def format_hex(v: int) -> str:
    """db_format_hex(): signed hex without prefix."""
    sv = _signed(v)
    return ("-" if sv < 0 else "") + f"{abs(sv):x}"


def db_print_cmd(s: Session, cmd: Cmd) -> str:
    """db_print_cmd() (db_examine.c): one value, in the sticky format."""
    if cmd.modifiers:
        s.print_fmt = cmd.modifiers[0]
    v = cmd.addr & MASK
    fmt = s.print_fmt
    if fmt == "a":
        return db_printsym(s, v)
    if fmt == "r":
        return "%11s" % format_radix(v, s.vars["radix"], False)
    if fmt == "x":
        return "%16x" % v
    if fmt == "z":
        return "%8s" % format_hex(v)
    if fmt == "d":
        return "%11d" % _signed(v)
    if fmt == "u":
        return "%11d" % v
    if fmt == "o":
        return "%15o" % v
    if fmt == "c":
        c = v & 0xFF
        return chr(c) if 0x20 <= c <= 0x7E else "\\%03o" % c
    return ""  # an unknown format prints only the newline


# -- examine ---------------------------------------------------------------------------------


def db_examine_cmd(s: Session, cmd: Cmd) -> str:
    """db_examine(): count times through the format, filling lines to $maxwidth."""
    if cmd.modifiers:
        s.examine_fmt = cmd.modifiers
    count = cmd.count if cmd.count is not None else 1
    k = s.kernel
    addr = cmd.addr & MASK
    if cmd.field is not None:
        # model extension: `x curlwp->l_pflag` examines the field itself
        addr = db_access.field_address(k, *cmd.field)
        s.dot = s.last_addr = addr
    lines: list[str] = []
    cur = ""
    maxwidth = s.vars["maxwidth"]
    tabs = s.vars["tabstops"]

    def col(text: str) -> int:
        from engine.ddb.db_output import db_format

        return len(db_format(text, tabs))

    def emit(text: str) -> None:
        nonlocal cur
        cur += text

    def end_line(force: bool = False) -> None:
        nonlocal cur
        if force or col(cur) >= maxwidth:
            lines.append(cur)
            cur = ""

    while count > 0:  # while (--count >= 0)
        count -= 1
        size, width = 4, 12
        for c in s.examine_fmt:
            if not cur:
                emit(db_printsym(s, addr) + ":\t")
                s.prev = addr
            if c == "b":
                size, width = 1, 4
            elif c == "h":
                size, width = 2, 8
            elif c == "l":
                size, width = 4, 12
            elif c in "qL":
                size, width = 8, 24
            elif c == "a":
                emit(f"= 0x{addr:x}")
                end_line(force=True)
                continue
            elif c in "rxzduo":
                v = db_access.db_get_value(k, addr, size, signed=c in "rzd")
                addr += size
                if c == "r":
                    text = format_radix(v, s.vars["radix"], False)
                elif c == "z":
                    text = format_hex(v)
                elif c in "du":
                    text = f"{v:d}"
                elif c == "o":
                    text = f"{v:o}"
                else:
                    text = f"{v & MASK:x}"
                emit(f"{text:<{width}}")
            elif c == "c":
                v = db_access.db_get_value(k, addr, 1)
                addr += 1
                emit(chr(v) if 0x20 <= v <= 0x7E else "\\%03o" % v)
            elif c == "s":
                for _i in range(4096):
                    v = db_access.db_get_value(k, addr, 1)
                    addr += 1
                    if v == 0:
                        break
                    emit(chr(v) if 0x20 <= v <= 0x7E else "\\%03o" % v)
            elif c in "iI":
                addr = _disasm(s, addr, emit)
                end_line(force=True)  # db_disasm() ends its line
                continue
            elif c == "m":
                addr, count = _hexdump(s, addr, size, count, emit)
                end_line(force=True)
                continue
            if cur:
                end_line()
    if cur:
        lines.append(cur)
    s.next = addr
    return s.fmt("\n".join(lines), wrap="i" not in s.examine_fmt.lower())


def _disasm(s: Session, addr: int, emit: object) -> int:
    """db_disasm(): the model has statements, not instructions.

    At a statement's address, its C text; the next address is the next
    statement's. Anywhere else in modeled text, nothing is there to decode.
    """
    hit = symtab.lookup_addr(addr)
    assert callable(emit)
    if hit is None:
        raise DbError(f"ddbstep: no modeled statement at {addr:#x}")
    func, pc = hit
    stmt = FUNCS[func].stmts[pc]
    emit(stmt.source(s.kernel.config.fix, s.kernel.config.complete))
    nxt = pc + 1
    if nxt < len(FUNCS[func].stmts):
        return symtab.address(func, nxt)
    return int(symtab.entry(func)["addr"]) + int(symtab.entry(func).get("size", 4 * (nxt + 1)))


def _hexdump(s: Session, addr: int, size: int, count: int, emit: object) -> tuple[int, int]:
    """db_examine()'s 'm' (db_examine.c): size bytes for each count, up to
    16 a line ("this loops modify's count extra times"), the columns trued
    up with tabs, then the bytes as characters. Returns (addr, count left)."""
    assert callable(emit)
    nbytes = 0
    hexes = ""
    while True:
        for _ in range(size):
            hexes += f"{db_access.db_get_value(s.kernel, addr + nbytes, 1):02x}"
            nbytes += 1
            if nbytes % 4 == 0:
                hexes += " "
        if nbytes == 16:  # while ((bytes != 16) && count--)
            break
        count -= 1
        if count < 0:
            break
    data = [db_access.db_get_value(s.kernel, addr + i, 1) for i in range(nbytes)]
    tabs = "\t" * max(0, 4 - nbytes // 4 + 1)  # for (i = 4; i >= (bytes / 4); i--)
    emit(hexes + tabs + "".join(chr(b) if 0x20 <= b <= 0x7E else "." for b in data))
    return addr + nbytes, count


# -- set ----------------------------------------------------------------------------------


def db_set_cmd(s: Session, cmd: Cmd) -> str:
    """db_set_cmd() (db_variables.c): `$name [=] expr`, echoed in $radix."""
    lx = cmd.lexer
    assert lx is not None
    if lx.read_token() != tDOLLAR:
        raise DbError("Unknown variable")
    if lx.read_token() != tIDENT:
        raise DbError("Unknown variable")
    name = lx.tok_string
    if name not in s.vars:
        if name in registers(s):
            raise DbError(f"ddbstep: ${name}: the model's registers are read-only")
        raise DbError("Unknown variable")
    t = lx.read_token()
    if t != tEQ:
        lx.unread_token(t)
    value = db_expression(s, lx)
    if value is None:
        raise DbError("No value")
    if lx.read_token() != tEOL:
        raise DbError("?")
    v = value[0]
    if name in ("radix", "tabstops") and not 2 <= v <= 64:
        # db_rw_internal_variable() takes any value; the model's lexer and
        # column tracking need a radix and a tab stop of at least 2.
        raise DbError(f"ddbstep: ${name} must be between 2 and 64")
    old = s.vars[name]
    radix = s.vars["radix"]
    s.vars[name] = _signed(v) if name in EXTRA_VARS else v
    return f"${name}\t\t{num_to_str(old, radix)} = {num_to_str(v, radix)}"
