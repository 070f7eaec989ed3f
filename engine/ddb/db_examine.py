"""db_examine.c and db_variables.c: print, x, set.

Expressions evaluate over modeled memory. Beyond ddb's numbers, $vars and
arithmetic, the model reads structure fields: curlwp->l_pflag,
curcpu->spc_migrating, curlwp->l_target_cpu->ci_index, ADDR->field; and a
few kernel globals by value (hardclock_ticks, hz, paniccpu).
"""

from __future__ import annotations

from engine import symtab
from engine.ddb.db_command import Cmd, Session
from engine.ddb.db_lex import DbError, tokenize
from engine.kernel import Cpu, Kernel, Lwp

# struct field -> how to read it from the model
LWP_FIELDS = {
    "l_cpu": lambda k, l: k.cpus[l.l_cpu].addr,
    "l_target_cpu": lambda k, l: k.cpus[l.l_target_cpu].addr if l.l_target_cpu is not None else 0,
    "l_stat": lambda k, l: l.l_stat, "l_flag": lambda k, l: l.l_flag,
    "l_pflag": lambda k, l: l.l_pflag, "l_lid": lambda k, l: l.l_lid,
    "l_priority": lambda k, l: l.l_priority, "l_kpriority": lambda k, l: int(l.l_kpriority),
    "l_rticks": lambda k, l: l.l_rticks, "l_rticksum": lambda k, l: l.l_rticksum,
    "l_slpticks": lambda k, l: l.l_slpticks, "l_slpticksum": lambda k, l: l.l_slpticksum,
    "l_slptime": lambda k, l: l.l_slptime, "l_nopreempt": lambda k, l: l.l_nopreempt,
    "l_dopreempt": lambda k, l: l.l_dopreempt, "l_ctxswtch": lambda k, l: l.l_ctxswtch,
    "l_proc": lambda k, l: k.proc(l).addr,
    "l_wchan": lambda k, l: 0 if l.l_wchan is None else l.addr,
}
CPU_FIELDS = {
    "ci_index": lambda k, c: c.ci_index,
    "ci_curlwp": lambda k, c: k.lwps[c.ci_curlwp].addr,
    "ci_want_resched": lambda k, c: c.ci_want_resched,
    "ci_ilevel": lambda k, c: c.ci_ilevel,
    "spc_migrating": lambda k, c: (
        k.lwps[c.spc_migrating].addr if c.spc_migrating is not None else 0),
    "spc_curpriority": lambda k, c: c.spc_curpriority,
    "spc_flags": lambda k, c: c.spc_flags,
}
GLOBALS = {
    "hardclock_ticks": lambda k: k.hardclock_ticks,
    "hz": lambda k: k.config.hz,
    "paniccpu": lambda k: k.cpus[k.paniccpu].addr if k.paniccpu is not None else 0,
    "cacheht_time": lambda k: k.config.cacheht_time,
    "sched_kpreempt_pri": lambda k: k.config.sched_kpreempt_pri,
    "ncpu": lambda k: k.config.ncpu,
}


def struct_at(k: Kernel, addr: int) -> Lwp | Cpu | None:
    for l in k.lwps:
        if l.addr == addr:
            return l
    for c in k.cpus:
        if c.addr == addr:
            return c
    return None


def field(k: Kernel, addr: int, name: str) -> int:
    obj = struct_at(k, addr)
    if isinstance(obj, Lwp) and name in LWP_FIELDS:
        return int(LWP_FIELDS[name](k, obj))
    if isinstance(obj, Cpu) and name in CPU_FIELDS:
        return int(CPU_FIELDS[name](k, obj))
    if obj is None:
        raise DbError(f"{addr:#x}: not a modeled struct lwp or cpu_info")
    raise DbError(f"no field {name} in the model of struct "
                  f"{'lwp' if isinstance(obj, Lwp) else 'cpu_info'}")


class _Parser:
    def __init__(self, s: Session, text: str) -> None:
        self.s = s
        self.toks = tokenize(text)
        self.i = 0
        self.last_field: tuple[int, str] | None = None  # (struct addr, field)

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        t = self.peek()
        if t is None:
            raise DbError("Syntax error")
        self.i += 1
        return t

    def expr(self) -> int:
        v = self.term()
        while (t := self.peek()) and t[1] in "+-":
            self.take()
            r = self.term()
            v = v + r if t[1] == "+" else v - r
        return v

    def term(self) -> int:
        v = self.unary()
        while (t := self.peek()) and t[1] in "*/":
            self.take()
            r = self.unary()
            if t[1] == "/" and r == 0:
                raise DbError("Divide by 0")
            v = v * r if t[1] == "*" else v // r
        return v

    def unary(self) -> int:
        t = self.peek()
        if t and t[1] == "-":
            self.take()
            return -self.unary()
        return self.postfix()

    def postfix(self) -> int:
        v = self.primary()
        while (t := self.peek()) and t[0] == "arrow":
            self.take()
            kind, name = self.take()
            if kind != "ident":
                raise DbError("Syntax error")
            self.last_field = (v, name)
            v = field(self.s.kernel, v, name)
        return v

    def primary(self) -> int:
        s, k = self.s, self.s.kernel
        kind, text = self.take()
        if kind == "num":
            return s.number(text)
        if kind == "var":
            name = text[1:]
            if name in s.vars:
                return s.vars[name]
            regs = registers(s)
            if name in regs:
                return regs[name]
            raise DbError("Unknown variable")
        if kind == "op" and text == "(":
            v = self.expr()
            if self.take()[1] != ")":
                raise DbError("Syntax error")
            return v
        if kind == "ident":
            name = text.removeprefix("netbsd:")
            if name == "curlwp":
                return k.curlwp(s.cpu).addr
            if name in ("curcpu", "curcpu()"):
                return k.cpus[s.cpu].addr
            if name == "curproc":
                return k.proc(k.curlwp(s.cpu)).addr
            if name in GLOBALS:
                return int(GLOBALS[name](k))
            if name == "cpu_info_primary":
                return k.cpus[0].addr
            if name in symtab.FUNCS and "addr" in symtab.entry(name):
                return int(symtab.entry(name)["addr"])
            raise DbError(f"Symbol not found: {text}")
        raise DbError("Syntax error")


def db_expression(s: Session, text: str) -> tuple[int, tuple[int, str] | None]:
    p = _Parser(s, text)
    v = p.expr()
    if p.peek() is not None:
        raise DbError("Syntax error")
    return v, p.last_field


def registers(s: Session) -> dict[str, int]:
    k = s.kernel
    l = k.curlwp(s.cpu)
    regs = dict.fromkeys(
        ("ds", "es", "fs", "gs", "rdi", "rsi", "rbp", "rbx", "rdx", "rcx", "rax",
         "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"), 0)
    tf = symtab.trapframe(k, s.cpu, l)
    regs.update(rip=tf["rip"], cs=tf["cs"], rflags=tf["rflags"], rsp=tf["rsp"], ss=tf["ss"])
    regs["rbp"] = tf["rsp"]
    regs["rdi"] = l.addr
    return regs


def _signed(v: int) -> int:
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >> 63 else v


def db_print_cmd(s: Session, cmd: Cmd) -> str:
    if not cmd.args:
        raise DbError("Syntax error")
    fmt = cmd.modifiers or s.print_fmt
    if len(fmt) != 1 or fmt not in "axzodurc":
        raise DbError("Bad modifier")
    s.print_fmt = fmt
    v, _ = db_expression(s, cmd.args)
    u = v & 0xFFFFFFFFFFFFFFFF
    if fmt == "x":
        return "%16x" % u
    if fmt == "z":
        sv = _signed(v)
        return "%8s" % (("-" if sv < 0 else "") + "%x" % abs(sv))
    if fmt == "d":
        return "%11d" % _signed(v)
    if fmt == "u":
        return "%11d" % u
    if fmt == "o":
        return "%15o" % u
    if fmt == "r":
        return "%11s" % (("-" if _signed(v) < 0 else "") + "%x" % abs(_signed(v)))
    if fmt == "c":
        return chr(u & 0x7F) if 32 <= (u & 0x7F) < 127 else "\\%03o" % (u & 0xFF)
    return symbolic(s, u)


def symbolic(s: Session, addr: int) -> str:
    hit = symtab.lookup_addr(addr)
    if hit:
        return symtab.sym(*hit)
    for c in s.kernel.cpus:
        if c.addr == addr:
            return "netbsd:cpu_info_primary" if c.ci_index == 0 else f"{addr:#x}"
    return f"{addr:#x}"


SIZES = {"b": (1, 4), "h": (2, 8), "l": (4, 12), "L": (8, 24)}


def db_examine_cmd(s: Session, cmd: Cmd) -> str:
    if not cmd.args:
        raise DbError("Address missing")
    size, fmt = s.examine_size, s.examine_fmt
    for ch in cmd.modifiers:
        if ch in SIZES:
            size = ch
        elif ch in "xzduorca":
            fmt = ch
        else:
            raise DbError("Bad modifier")
    s.examine_size, s.examine_fmt = size, fmt
    _, where = db_expression(s, cmd.args)
    if where is None:
        raise DbError("x: give a modeled field, e.g. x/x curlwp->l_pflag")
    base, name = where
    obj = struct_at(s.kernel, base)
    layout = symtab.struct("lwp" if isinstance(obj, Lwp) else "cpu_info")
    if name not in layout:
        raise DbError(f"no layout for {name}")
    off = layout[name][0]
    count = cmd.count or 1
    by_off = {o: (f, n) for f, (o, n) in layout.items()}
    nbytes, width = SIZES[size]
    out = []
    for i in range(count):
        addr = base + off + i * nbytes
        hit = by_off.get(off + i * nbytes)
        value = field(s.kernel, base, hit[0]) if hit else 0
        value &= (1 << (8 * nbytes)) - 1
        text = {"x": "%x", "z": "%x", "d": "%d", "u": "%d", "o": "%o", "r": "%x"}.get(fmt, "%x")
        shown = "= %#x" % addr if fmt == "a" else text % value
        out.append("%x:\t%-*s" % (addr, width, shown))
    return s.fmt("\n".join(out))


def db_set_cmd(s: Session, cmd: Cmd) -> str:
    text = cmd.args
    if not text.startswith("$"):
        raise DbError("Unknown variable")
    name, _, rest = text[1:].partition("=")
    name = name.strip()
    if " " in name:
        name, _, rest2 = name.partition(" ")
        rest = rest2 + rest
    if name not in s.vars:
        raise DbError("Unknown variable")
    if not rest.strip():
        raise DbError("No value")
    value, _ = db_expression(s, rest)
    if name in ("tabstops",) and value < 1:
        raise DbError("Bad value")
    if name == "radix" and value not in (8, 10, 16):
        raise DbError("Bad radix")
    old = s.vars[name]
    s.vars[name] = value
    return s.fmt(f"${name}\t\t{old:x} = {value:x}")

