"""Who calls whom in the model, read from its statements, not written down.

A statement's op returns call("name", ...) for a direct call; the names a
statement can call are the string constants naming a modeled function in
its op and in the engine helpers the op reaches. Indirect calls (sysent[]
dispatch, ifp->if_ioctl) go through data and are not seen: their targets
look like entry points, which only makes this module more permissive.

What ddb needs from it: where a CPU can stop. A run stops between model
steps; an atomic function (the panic path, hardclock) runs to completion
inside one step, and an interrupt handler runs inside one delivery with
everything it calls, so a breakpoint there could never fire.
"""

from __future__ import annotations

import types
from functools import cache

from engine.intr import HANDLERS
from engine.machine import FUNCS


def code_of(op: object) -> list[types.CodeType]:
    """Every code object a statement's op runs: its own, the functions it
    defines, and the engine helpers (not ddb's) it names, transitively."""
    out: list[types.CodeType] = []
    seen: set[types.CodeType] = set()
    todo: list[tuple[types.CodeType, dict[str, object]]] = []
    code = getattr(op, "__code__", None)
    if isinstance(code, types.CodeType):
        todo.append((code, getattr(op, "__globals__", {})))
    while todo:
        c, glob = todo.pop()
        if c in seen:
            continue
        seen.add(c)
        out.append(c)
        todo += [(k, glob) for k in c.co_consts if isinstance(k, types.CodeType)]
        for name in c.co_names:
            helper = glob.get(name)
            if (isinstance(helper, types.FunctionType)
                    and helper.__module__.startswith("engine.")
                    and not helper.__module__.startswith("engine.ddb")):
                todo.append((helper.__code__, helper.__globals__))
    return out


def _names(op: object) -> set[str]:
    """The modeled functions named in the op's code: what it can call."""
    return {k for c in code_of(op) for k in c.co_consts if isinstance(k, str) and k in FUNCS}


@cache
def callees(func: str) -> frozenset[str]:
    """The modeled functions func's statements can call."""
    out: set[str] = set()
    for st in FUNCS[func].stmts:
        out |= _names(st.op)
    out.discard(func)
    return frozenset(out)


@cache
def interrupt_only() -> frozenset[str]:
    """Functions that run only inside an interrupt handler: every path to
    them from an entry point (a function nobody calls) passes a handler."""
    callers: dict[str, set[str]] = {f: set() for f in FUNCS}
    for f in FUNCS:
        for g in callees(f):
            callers[g].add(f)
    entries = [f for f in FUNCS if not callers[f] and f not in HANDLERS]
    reached: set[str] = set()
    todo = list(entries)
    while todo:
        f = todo.pop()
        if f in reached:
            continue
        reached.add(f)
        todo += [g for g in callees(f) if g not in HANDLERS]
    return frozenset(f for f in FUNCS if f not in reached)


def why_no_stop(func: str) -> str | None:
    """Why no run can stop in func, or None if one can."""
    if func in HANDLERS:
        return (f"{func} is an interrupt handler, which the model runs as one step:"
                " no breakpoint can stop in it")
    if func in interrupt_only():
        via = sorted(h for h in HANDLERS if _reaches(h, func))
        return (f"{func} runs only inside an interrupt ({', '.join(via)}), which the model"
                " runs as one step: no breakpoint can stop in it")
    if FUNCS[func].atomic:
        return f"{func} runs to completion inside one model step: no breakpoint can stop in it"
    return None


def _reaches(src: str, dst: str) -> bool:
    seen: set[str] = set()
    todo = [src]
    while todo:
        f = todo.pop()
        if f == dst:
            return True
        if f in seen:
            continue
        seen.add(f)
        todo += callees(f)
    return False
