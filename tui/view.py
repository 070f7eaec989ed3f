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
    ahead: tuple[Tick, ...] = ()  # the plan's steps still to come (`search`, `follow`)


class Timeline:
    """Collects every step the session takes (Session.on_step), bounded.

    It is derived from the session's history: a tick's n is the session's
    step count after it (Session.steps), and after each command sync()
    brings the lanes to that count, so `undo` and `reboot` take them back
    to what a fresh session given the remaining commands would show. The
    lanes as they stood before each command are kept (mark),
    one tuple of at most `keep` ticks each, by the kernel they stood at."""

    def __init__(self, keep: int = 600) -> None:
        self.keep = keep
        self.ticks: deque[Tick] = deque(maxlen=keep)
        self.n = 0
        # id(kernel) -> (the kernel, kept alive so the id stays its own; the
        # lanes as they stood there)
        self._saved: dict[int, tuple[Kernel, tuple[Tick, ...]]] = {}

    def __call__(self, before: Kernel, after: Kernel, ci: int) -> None:
        self.n += 1
        l = after.curlwp(ci)
        func = l.stack[-1].func if l.stack else "?"
        self.ticks.append(Tick(self.n, ci, who(after, l), func,
                               tuple(diff_events(before, after, ci))))

    def mark(self, steps: int, k: Kernel) -> None:
        """Before a command: the session stands at `steps`, kernel k."""
        if steps == self.n and id(k) not in self._saved:
            self._saved[id(k)] = (k, tuple(self.ticks))

    def sync(self, steps: int, k: Kernel) -> None:
        """After a command: the session has taken `steps` transitions since
        boot and stands at k. Where that is not where the lanes end (undo,
        reboot, undo of a reboot): the lanes as they stood at k (a kernel is
        a value: undo gives back the very object), else those up to steps."""
        if steps != self.n:
            kept = self._saved.get(id(k))
            ticks = kept[1] if kept is not None and kept[0] is k else tuple(
                t for t in self.ticks if t.n <= steps)
            self.ticks = deque(ticks, maxlen=self.keep)
        self.n = steps

    def clear(self) -> None:
        self.ticks.clear()
        self._saved.clear()
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

