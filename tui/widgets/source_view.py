"""Source pane: the selected frame's function, as the model writes it or,
with a NetBSD source tree (--src, [kernel] srcdir, $DDBSTEP_SRC), as the
real file has it around the modeled statement.

The gutter: `>` the selected frame's statement, digits the other CPUs
there, `*` a breakpoint. The pane takes the focus (click or Tab): up/down
move a cursor over the statements, `b` or a click on a line sets or
deletes a breakpoint there (a `break`/`delete` line through the console).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message

from engine import symtab
from engine.kern_synch import FIX_OFF, FIX_ON
from engine.machine import FUNCS, Func
from tui.view import View
from tui.widgets.text_pane import TextPane
from tui.widgets.view_pane import ViewPane


def selected(view: View) -> tuple[str, int]:
    """(function, pc) of the view's selected frame."""
    l = view.kernel.curlwp(view.cpu)
    frames = symtab.symbol_frames(l)
    i = frames[max(0, min(view.frame, len(frames) - 1))]
    fr = l.stack[i] if view.frame else l.stack[-1]
    func = FUNCS[fr.func]
    return fr.func, min(fr.pc, len(func.stmts) - 1)


def others_at(view: View, func: str) -> dict[int, list[int]]:
    """pc -> the other CPUs whose innermost frame is in func there."""
    k = view.kernel
    out: dict[int, list[int]] = {}
    for c in k.cpus:
        if c.ci_index == view.cpu:
            continue
        o = k.lwps[c.ci_curlwp].stack[-1]
        if o.func == func:
            out.setdefault(o.pc, []).append(c.ci_index)
    return out


@cache
def _read(path: str) -> tuple[str, ...] | None:
    try:
        return tuple(Path(path).read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return None


def real_lines(srcdir: str | None, func: Func) -> tuple[str, ...] | None:
    if not srcdir or not func.file:
        return None
    return _read(str(Path(srcdir) / func.file))


def window(at: int, prev: int | None, rows: int, lo: int, hi: int) -> int:
    """The first row shown: the previous one while `at` stays inside it with
    a row to spare at each end (the view does not move with every step, as
    in gdb's TUI), else `at` a third of the way down. Rows lo..hi exist."""
    top = max(lo, hi - rows + 1)
    if prev is not None and lo <= prev <= top and prev < at < prev + rows - 1:
        return prev
    return max(lo, min(at - rows // 3, top))


def source_text(view: View, rows: int = 1000, cursor: int | None = None,
                first: int | None = None) -> tuple[str, Text, list[int], int]:
    """(title, text, the pc of each row or -1, the first row shown); first:
    the first row shown last time, kept while the statement is in view."""
    k = view.kernel
    name, pc = selected(view)
    func = FUNCS[name]
    others = others_at(view, name)
    t = Text(no_wrap=True, overflow="ellipsis")
    row_pcs: list[int] = []
    real = real_lines(view.srcdir, func)
    if real is not None:
        return _real_text(view, func, pc, real, rows, others, cursor, first)
    first = window(pc, first, rows, 0, len(func.stmts) - 1)
    for i, stmt in enumerate(func.stmts):
        if not first <= i < first + rows:
            continue
        here = i == pc
        marks = "".join(str(c) for c in others.get(i, []))[:2]
        brk = "*" if (name, i) in view.breaks else " "
        gutter = (">" if here else " ") + brk + f"{marks:>2}"
        t.append(gutter, style="bold yellow" if here else ("bold red" if brk == "*" else "cyan"))
        t.append(f"{stmt.line:5d}  ", style="reverse" if i == cursor else "dim")
        t.append(stmt.source(k.config.fix, k.config.complete), style="reverse bold" if here else "")
        if stmt.fixed:
            t.append(f"   /* {FIX_ON if k.config.fix else FIX_OFF} */", style="dim italic")
        t.append("\n")
        row_pcs.append(i)
    t.rstrip()
    frame = f"  (frame {view.frame})" if view.frame else ""
    return f"{func.name}()  {func.file}{frame}", t, row_pcs, first


def _real_text(view: View, func: Func, pc: int, real: tuple[str, ...], rows: int,
               others: dict[int, list[int]], cursor: int | None, prev: int | None
               ) -> tuple[str, Text, list[int], int]:
    """The real file around the modeled statement's first line."""
    at = func.stmts[pc].line
    by_line: dict[int, int] = {}
    for i, stmt in enumerate(func.stmts):
        by_line.setdefault(stmt.line, i)
    first = window(at, prev, rows, 1, len(real))
    t = Text(no_wrap=True, overflow="ellipsis")
    row_pcs: list[int] = []
    for n in range(first, min(len(real), first + rows - 1) + 1):
        i = by_line.get(n, -1)
        here = n == at
        marks = "".join(str(c) for c in others.get(i, []))[:2] if i >= 0 else ""
        brk = "*" if i >= 0 and (func.name, i) in view.breaks else " "
        t.append((">" if here else " ") + brk + f"{marks:>2}",
                 style="bold yellow" if here else ("bold red" if brk == "*" else "cyan"))
        t.append(f"{n:5d}  ", style="reverse" if (i >= 0 and i == cursor) else
                 ("" if i >= 0 else "dim"))
        t.append(real[n - 1].expandtabs(8), style="reverse bold" if here else (
            "" if i >= 0 else "dim"))
        t.append("\n")
        row_pcs.append(i)
    t.rstrip()
    frame = f"  (frame {view.frame})" if view.frame else ""
    return f"{func.name}()  {func.file} (real source){frame}", t, row_pcs, first


class SourceView(ViewPane, TextPane, can_focus=True):
    """The source around the selected frame's statement."""

    DEFAULT_CSS = """
    SourceView {
        border: round $secondary;
        /* One statement a row: a long one is cut, not folded into the next. */
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    ALLOW_MAXIMIZE = True
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False, id="source_up"),
        Binding("down", "cursor(1)", "Down", show=False, id="source_down"),
        Binding("b", "toggle_break", "Breakpoint", id="source_break"),
    ]

    @dataclass
    class ToggleBreak(Message):
        """Set or delete the breakpoint at func's statement pc (up to the app)."""

        func: str
        pc: int

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)
        self.cursor: int | None = None
        self.rows: list[int] = []
        self.func = ""
        self.first: int | None = None  # the first row shown, kept while in view

    def watch_view(self, view: View | None) -> None:
        if view is None:
            return
        name, pc = selected(view)
        if name != self.func:
            self.func, self.cursor, self.first = name, None, None
        # As many rows as the pane shows (one at 80x24): the window must hold
        # the current statement in the rows on screen.
        title, text, self.rows, self.first = source_text(
            view, max(1, self.content_size.height or 20), self.cursor, self.first)
        self.set_title(title)
        self.set_text(text)

    def on_resize(self, event: events.Resize) -> None:
        if self.view is not None:
            self.first = None
            self.watch_view(self.view)

    def action_cursor(self, delta: int) -> None:
        pcs = [p for p in self.rows if p >= 0]
        if not pcs or self.view is None:
            return
        _, pc = selected(self.view)
        now = self.cursor if self.cursor is not None else pc
        later = [p for p in pcs if (p > now if delta > 0 else p < now)]
        if later:
            self.cursor = min(later) if delta > 0 else max(later)
        self.watch_view(self.view)

    def action_toggle_break(self) -> None:
        if self.view is None:
            return
        name, pc = selected(self.view)
        self.post_message(self.ToggleBreak(name, self.cursor if self.cursor is not None else pc))

    def on_click(self, event: events.Click) -> None:
        row = event.y - (1 if self.styles.border_top[0] else 0)
        if 0 <= row < len(self.rows) and self.rows[row] >= 0:
            self.cursor = self.rows[row]
            self.post_message(self.ToggleBreak(self.func, self.rows[row]))
