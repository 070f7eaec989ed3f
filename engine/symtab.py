"""Addresses from symtab.toml: where a statement is, what bt and rip print.

Printing code asks this module for numbers; none are written into it.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

from engine.kernel import Kernel, Lwp
from engine.machine import FUNCS
from engine.param import USPACE


@cache
def _table() -> dict[str, Any]:
    text = resources.files("engine").joinpath("symtab.toml").read_text()
    return tomllib.loads(text)


def md(name: str) -> int:
    value: int = _table()["md"][name]
    return value


def struct(name: str) -> dict[str, list[int]]:
    fields: dict[str, list[int]] = _table()["struct"][name]
    return fields


def caller(func: str) -> dict[str, Any] | None:
    """[caller.FUNC]: the frame bt shows below a function that never returns."""
    c: dict[str, Any] | None = _table().get("caller", {}).get(func)
    return c


def data() -> dict[str, list[int]]:
    """[data]: the kernel variables `p` and `x` read, and where."""
    d: dict[str, list[int]] = _table()["data"]
    return d


def sizeof(struct: str) -> int:
    n: int = _table()["sizeof"][struct]
    return n


def entry(func: str) -> dict[str, Any]:
    e: dict[str, Any] = _table()["func"].get(func, {})
    return e


def is_inline(func: str) -> bool:
    return bool(entry(func).get("inline", False))


@cache
def offsets(func: str) -> tuple[int, ...]:
    """Offset of each statement of func: given ones, the rest spread evenly."""
    f = FUNCS[func]
    e = entry(func)
    at: dict[str, int] = e.get("at", {})
    n = len(f.stmts)
    known = {0: 0, n: int(e.get("size", 4 * (n + 1)))}
    for label, off in at.items():
        known[f.index(label)] = off  # a label on statement 0 moves the entry
    anchors = sorted(known)
    out = []
    for i in range(n):
        if i in known:
            out.append(known[i])
            continue
        lo = max(a for a in anchors if a < i)
        hi = min(a for a in anchors if a > i)
        out.append(known[lo] + (known[hi] - known[lo]) * (i - lo) // (hi - lo))
    return tuple(out)


def address(func: str, pc: int) -> int:
    base: int = entry(func).get("addr", 0)
    return base + offsets(func)[pc]


def sym(func: str, pc: int) -> str:
    """db_printsym(): netbsd:func+0xoff, or bare hex for user space."""
    if entry(func).get("user"):
        return f"{address(func, pc):x}"
    off = offsets(func)[pc]
    return f"netbsd:{func}+{off:#x}" if off else f"netbsd:{func}"


def resolve(l: Lwp) -> tuple[str, int, int]:
    """(symbol function, pc, stack index) of where l is: inline code is its caller's."""
    i = len(l.stack) - 1
    while i > 0 and is_inline(l.stack[i].func):
        i -= 1
    return l.stack[i].func, l.stack[i].pc, i


def kernel_frames(l: Lwp) -> list[tuple[str, int]]:
    """Frames on the kernel stack with a symbol of their own, innermost first."""
    out = []
    for fr in reversed(l.stack):
        if FUNCS[fr.func].user:
            break
        if is_inline(fr.func):
            continue
        out.append((fr.func, fr.pc))
    return out


def symbol_frames(l: Lwp) -> list[int]:
    """Stack indexes of the frames `bt` shows, innermost first (user code,
    when the LWP is in user space, is its one frame)."""
    out = [i for i in range(len(l.stack) - 1, -1, -1)
           if not FUNCS[l.stack[i].func].user and not is_inline(l.stack[i].func)]
    if not out and l.stack:
        return [len(l.stack) - 1]
    # frames above a user frame are the kernel's; below it nothing is shown
    return out


def uarea(l: Lwp) -> int:
    return l.kstack - md("pcb_size")


def rsp(l: Lwp) -> int:
    depth = sum(int(entry(f).get("frame", 0)) for f, _ in kernel_frames(l))
    return uarea(l) + USPACE - depth


def rip(l: Lwp) -> int:
    func, pc, _ = resolve(l)
    return address(func, pc)


def trapframe(k: Kernel, ci: int, l: Lwp) -> dict[str, int]:
    return {
        "rip": rip(l),
        "rsp": rsp(l),
        "cs": md("cs"),
        "ss": md("ss"),
        "rflags": md("rflags"),
        "cr2": k.cpus[ci].cr2,
    }


def lookup(name: str) -> tuple[str, int] | None:
    """A symbol, `sym+off` or address back to (func, pc) of a statement."""
    name = name.removeprefix("netbsd:")
    off = 0
    if "+" in name:
        name, _, o = name.partition("+")
        try:
            off = int(o, 16) if not o.lower().startswith(("0x", "0t")) else (
                int(o[2:], 16) if o.lower().startswith("0x") else int(o[2:], 10))
        except ValueError:
            return None
    if name in FUNCS and not is_inline(name):
        offs = offsets(name)
        for pc, at in enumerate(offs):
            if at == off:
                return name, pc
        if off == 0:
            return name, 0
    return None


def lookup_addr(addr: int) -> tuple[str, int] | None:
    """The statement at addr. A function's own address is its first
    modeled statement: the prologue before it (doifioctl+0x7c) is code the
    model does not run, so a CPU entering the function arrives there."""
    for func in FUNCS:
        e = entry(func)
        if "addr" not in e:
            continue
        if addr == e["addr"] and FUNCS[func].stmts:
            return func, 0
        offs = offsets(func)
        for pc, o in enumerate(offs):
            if e["addr"] + o == addr:
                return func, pc
    return None


def function_at(addr: int) -> str | None:
    """The modeled function whose code holds addr, if any."""
    for func in FUNCS:
        e = entry(func)
        if "addr" in e and e["addr"] <= addr < e["addr"] + int(e.get("size", 0)):
            return func
    return None
