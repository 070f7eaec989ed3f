"""Source pane: the selected CPU's current function, as the model writes it.

The current statement is highlighted; the gutter marks where the other
CPUs are when they run the same function.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from engine.kern_synch import FIX_OFF, FIX_ON
from engine.machine import FUNCS
from tui.view import View
from tui.widgets.text_pane import TextPane


def source_text(view: View, rows: int = 1000) -> tuple[str, Text, int]:
    k = view.kernel
    l = k.curlwp(view.cpu)
    fr = l.stack[-1]
    func = FUNCS[fr.func]
    others: dict[int, list[int]] = {}
    for c in k.cpus:
        if c.ci_index == view.cpu:
            continue
        o = k.lwps[c.ci_curlwp].stack[-1]
        if o.func == fr.func:
            others.setdefault(o.pc, []).append(c.ci_index)
    t = Text(no_wrap=True, overflow="ellipsis")
    first = max(0, min(fr.pc - rows // 3, len(func.stmts) - rows))
    for i, stmt in enumerate(func.stmts):
        if not first <= i < first + rows:
            continue
        here = i == fr.pc
        marks = "".join(str(c) for c in others.get(i, []))[:3]
        gutter = (">" if here else " ") + f"{marks:>3}"
        t.append(gutter, style="bold yellow" if here else "cyan")
        t.append(f"{stmt.line:5d}  ", style="dim")
        t.append(stmt.source(k.config.fix), style="reverse bold" if here else "")
        if stmt.fixed:
            t.append(f"   /* {FIX_ON if k.config.fix else FIX_OFF} */", style="dim italic")
        t.append("\n")
    t.rstrip()
    return f"{func.name}()  {func.file}", t, fr.pc


class SourceView(TextPane):
    """The modeled source around the selected CPU's current statement."""

    view: reactive[View | None] = reactive(None, always_update=True)

    def watch_view(self, view: View | None) -> None:
        if view is None:
            return
        title, text, _ = source_text(view, max(3, self.content_size.height or 20))
        self.border_title = title
        self.set_text(text)
