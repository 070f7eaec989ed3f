"""What the panes show: one immutable View handed down from the app.

The app owns the ddb Session; after every command it builds a View (the
kernel now, the kernel before the command, the selected CPU, the timeline)
and assigns it to each pane. Panes never touch the session.
"""

from __future__ import annotations

from collections import deque

import attrs

from engine.events import Event, diff_events
from engine.kernel import Kernel, Lwp
from engine.machine import FUNCS


@attrs.frozen
class Tick:
    """One step on the timeline: which LWP ran what on which CPU."""

    n: int
    cpu: int
    who: str
    func: str
    events: tuple[Event, ...]


@attrs.frozen(eq=False)
class View:
    kernel: Kernel
    prev: Kernel | None
    cpu: int
    fix: bool
    ticks: tuple[Tick, ...]
    scenario: str
    frame: int = 0  # the selected frame (frame / up / down), 0 = innermost
    breaks: frozenset[tuple[str, int]] = frozenset()  # (func, pc) of each breakpoint
    pins: tuple[tuple[str, str], ...] = ()  # (pinned line, what it prints now)
    srcdir: str | None = None  # a NetBSD source tree to show real lines from


class Timeline:
    """Collects every step the session takes (Session.on_step), bounded."""

    def __init__(self, keep: int = 600) -> None:
        self.ticks: deque[Tick] = deque(maxlen=keep)
        self.n = 0

    def __call__(self, before: Kernel, after: Kernel, ci: int) -> None:
        self.n += 1
        l = after.curlwp(ci)
        func = l.stack[-1].func if l.stack else "?"
        self.ticks.append(Tick(self.n, ci, who(after, l), func,
                               tuple(diff_events(before, after, ci))))

    def clear(self) -> None:
        self.ticks.clear()
        self.n = 0


def who(k: Kernel, l: Lwp) -> str:
    p = k.proc(l)
    if p.p_pid == 0 and l.l_name:
        return l.l_name
    return f"{p.p_pid}.{l.l_lid} {p.p_comm}"


def where(l: Lwp) -> tuple[str, int]:
    """Innermost function and its source line (inline functions included)."""
    fr = l.stack[-1]
    f = FUNCS[fr.func]
    return fr.func, f.stmts[min(fr.pc, len(f.stmts) - 1)].line

