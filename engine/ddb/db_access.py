"""db_access.c: db_get_value() over the model's memory.

The model has no byte array: a read is answered from the structures that
hold the kernel's state. A modeled object is a struct lwp, a struct
cpu_info, a struct proc, a struct psref or one of the globals symtab.toml
lists under [data]; its fields sit at the offsets symtab.toml gives. A byte
of a modeled object that the model keeps no field for reads as 0 (the
README says so); an address outside every modeled object cannot be read
(ddbstep prints one line saying so, where a real kernel might fault).
Function text has no bytes here either: `x/i` shows the modeled statement.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from engine import symtab
from engine.ddb.db_lex import DbError
from engine.kernel import Kernel, Lwp

Getter = Callable[[Kernel, Any], int | str]


def _cpu_addr(k: Kernel, ci: int | None) -> int:
    return k.cpus[ci].addr if ci is not None else 0


def _lwp_addr(k: Kernel, i: int | None) -> int:
    return k.lwps[i].addr if i is not None else 0


def wchan(k: Kernel, l: Lwp) -> int:
    """l->l_wchan as an address: the driver's &sc->sc_cv, or l for kpause."""
    if l.l_wchan is None:
        return 0
    for i in k.ifnets:
        if i.if_xname == l.l_wchan:
            return i.addr + 0x5C0  # &sc->sc_cv
    return l.addr  # kpause sleeps on the LWP itself


LWP_FIELDS: dict[str, Getter] = {
    "l_cpu": lambda k, l: _cpu_addr(k, l.l_cpu),
    "l_target_cpu": lambda k, l: _cpu_addr(k, l.l_target_cpu),
    "l_stat": lambda k, l: l.l_stat, "l_flag": lambda k, l: l.l_flag,
    "l_pflag": lambda k, l: l.l_pflag, "l_lid": lambda k, l: l.l_lid,
    "l_priority": lambda k, l: l.l_priority, "l_kpriority": lambda k, l: int(l.l_kpriority),
    "l_rticks": lambda k, l: l.l_rticks, "l_rticksum": lambda k, l: l.l_rticksum,
    "l_slpticks": lambda k, l: l.l_slpticks, "l_slpticksum": lambda k, l: l.l_slpticksum,
    "l_slptime": lambda k, l: l.l_slptime, "l_nopreempt": lambda k, l: l.l_nopreempt,
    "l_dopreempt": lambda k, l: l.l_dopreempt, "l_ctxswtch": lambda k, l: l.l_ctxswtch,
    "l_proc": lambda k, l: k.procs[l.l_proc].addr,
    "l_wchan": wchan,
}
CPU_FIELDS: dict[str, Getter] = {
    "ci_index": lambda k, c: c.ci_index,
    "ci_curlwp": lambda k, c: _lwp_addr(k, c.ci_curlwp),
    "ci_want_resched": lambda k, c: c.ci_want_resched,
    "ci_ilevel": lambda k, c: c.ci_ilevel,
    "spc_migrating": lambda k, c: _lwp_addr(k, c.spc_migrating),
    "spc_curpriority": lambda k, c: c.spc_curpriority,
    "spc_flags": lambda k, c: c.spc_flags,
}
PROC_FIELDS: dict[str, Getter] = {
    "p_pid": lambda k, p: p.p_pid,
    "p_comm": lambda k, p: p.p_comm,
    "p_nice": lambda k, p: p.p_nice,
}
PSREF_FIELDS: dict[str, Getter] = {
    "psref_entry": lambda k, ps: 0,
    "psref_target": lambda k, ps: (
        k.ifnets[ps.psref_target].addr + 0x5A0 if ps.psref_target is not None else 0),
    "psref_lwp": lambda k, ps: _lwp_addr(k, ps.psref_lwp),
    "psref_cpu": lambda k, ps: _cpu_addr(k, ps.psref_cpu),
}
FIELDS: dict[str, dict[str, Getter]] = {
    "lwp": LWP_FIELDS, "cpu_info": CPU_FIELDS, "proc": PROC_FIELDS, "psref": PSREF_FIELDS,
}
GLOBALS: dict[str, Callable[[Kernel], int]] = {
    "hz": lambda k: k.config.hz,
    "hardclock_ticks": lambda k: k.hardclock_ticks,
    "ncpu": lambda k: k.config.ncpu,
    "sched_kpreempt_pri": lambda k: k.config.sched_kpreempt_pri,
    "cacheht_time": lambda k: k.config.cacheht_time,
    "min_catch": lambda k: k.config.min_catch,
}


@cache
def data_symbols() -> dict[str, tuple[int, int]]:
    table: dict[str, list[int]] = symtab.data()
    return {name: (addr, size) for name, (addr, size) in table.items()}


def sizeof(struct: str) -> int:
    n: int = symtab.sizeof(struct)
    return n


def objects(k: Kernel) -> list[tuple[int, str, Any]]:
    """Every modeled object: (base address, struct name, the model's value)."""
    out: list[tuple[int, str, Any]] = []
    out += [(l.addr, "lwp", l) for l in k.lwps]
    out += [(c.addr, "cpu_info", c) for c in k.cpus]
    out += [(p.addr, "proc", p) for p in k.procs]
    out += [(ps.addr, "psref", ps) for ps in k.psrefs if ps.psref_target is not None]
    return out


def object_at(k: Kernel, addr: int) -> tuple[int, str, Any] | None:
    """The modeled object whose bytes include addr."""
    for base, struct, obj in objects(k):
        if base <= addr < base + sizeof(struct):
            return base, struct, obj
    for name, (base, size) in data_symbols().items():
        if base <= addr < base + size:
            return base, name, None
    if symtab.md("kdata_start") <= addr < symtab.md("kdata_end"):
        return symtab.md("kdata_start"), "", None  # .data/.bss the model keeps nothing of
    return None


def field_value(k: Kernel, struct: str, obj: Any, name: str) -> int | str:
    getter = FIELDS[struct].get(name)
    if getter is None:
        raise DbError(f"ddbstep: no field {name} in the model of struct {struct}")
    return getter(k, obj)


def _bytes_of(k: Kernel, struct: str, obj: Any, base: int) -> dict[int, int]:
    """The modeled bytes of one object: address -> byte (little-endian)."""
    out: dict[int, int] = {}
    if obj is None and struct == "":
        return {}
    if obj is None:
        addr, size = data_symbols()[struct]
        g = GLOBALS[struct](k)
        for i in range(size):
            out[addr + i] = (g >> (8 * i)) & 0xFF
        return out
    for name, (off, size) in symtab.struct(struct).items():
        v = field_value(k, struct, obj, name)
        if isinstance(v, str):
            raw = v.encode()[: size - 1]
            for i in range(size):
                out[base + off + i] = raw[i] if i < len(raw) else 0
            continue
        for i in range(size):
            out[base + off + i] = (v >> (8 * i)) & 0xFF
    return out


def db_get_value(k: Kernel, addr: int, size: int, signed: bool = False) -> int:
    """db_get_value(): size bytes at addr, little-endian (amd64)."""
    value = 0
    cache_obj: tuple[int, str, Any] | None = None
    cache_bytes: dict[int, int] = {}
    for i in range(size):
        a = (addr + i) & 0xFFFFFFFFFFFFFFFF
        if cache_obj is None or not (cache_obj[0] <= a < cache_obj[0] + _span(cache_obj)):
            cache_obj = object_at(k, a)
            if cache_obj is None:
                raise DbError(f"ddbstep: {a:#x} is not modeled memory")
            cache_bytes = _bytes_of(k, cache_obj[1], cache_obj[2], cache_obj[0])
        value |= cache_bytes.get(a, 0) << (8 * i)
    if signed and value >> (8 * size - 1):
        value -= 1 << (8 * size)
    return value


def _span(o: tuple[int, str, Any]) -> int:
    if o[2] is None and o[1] == "":
        return symtab.md("kdata_end") - symtab.md("kdata_start")
    return data_symbols()[o[1]][1] if o[2] is None else sizeof(o[1])


def field_at(k: Kernel, addr: int) -> tuple[str, Any, str, int] | None:
    """(struct, object, field, its size) of the modeled field starting at addr."""
    hit = object_at(k, addr)
    if hit is None:
        return None
    base, struct, obj = hit
    if obj is None and struct == "":
        return None
    if obj is None:
        return struct, None, struct, data_symbols()[struct][1]
    for name, (off, size) in symtab.struct(struct).items():
        if base + off == addr:
            return struct, obj, name, size
    return None


def field_address(k: Kernel, base: int, name: str) -> int:
    """&base->name, for the model's `->` extension."""
    hit = object_at(k, base)
    if hit is None or hit[0] != base or hit[2] is None:
        raise DbError(f"ddbstep: {base:#x} is not a modeled struct lwp, cpu_info, proc or psref")
    layout = symtab.struct(hit[1])
    if name not in layout:
        raise DbError(f"ddbstep: no field {name} in the model of struct {hit[1]}")
    return base + layout[name][0]


def read_field(k: Kernel, base: int, name: str) -> int:
    """base->name: the field's value (an address, for a pointer)."""
    hit = object_at(k, base)
    if hit is None or hit[0] != base or hit[2] is None:
        raise DbError(f"ddbstep: {base:#x} is not a modeled struct lwp, cpu_info, proc or psref")
    v = field_value(k, hit[1], hit[2], name)
    if isinstance(v, str):
        return field_address(k, base, name)  # an array decays to its address
    return v

