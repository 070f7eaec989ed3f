"""CPUs pane: one card per CPU; the selected one stands out, a panicked one is red."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import HorizontalScroll
from textual.reactive import reactive

from engine.kernel import Kernel
from tui.view import View, where, who
from tui.widgets.text_pane import TextPane


def card_text(k: Kernel, ci: int) -> Text:
    cpu = k.cpus[ci]
    l = k.lwps[cpu.ci_curlwp]
    func, line = where(l)
    t = Text()
    t.append(f"cpu{ci}", style="bold")
    if k.paniccpu == ci:
        t.append("  PANIC", style="bold")
    t.append("\n")
    t.append(who(k, l) + "\n")
    t.append(f"{func}:{line}\n", style="italic")
    mig = "-" if cpu.spc_migrating is None else who(k, k.lwps[cpu.spc_migrating])
    t.append("migr ", style="dim")
    t.append(mig + "\n", style="bold magenta" if cpu.spc_migrating is not None else "")
    q = ", ".join(who(k, k.lwps[i]).split(" ")[0] for i in cpu.runq) or "-"
    t.append("runq ", style="dim")
    t.append(q)
    return t


class CpuCard(TextPane):
    """One CPU."""

    def __init__(self, ci: int) -> None:
        super().__init__(id=f"cpu{ci}", classes="cpu-card")
        self.ci = ci

    def show(self, view: View) -> None:
        self.set_text(card_text(view.kernel, self.ci))
        self.set_class(view.cpu == self.ci, "selected")
        self.set_class(view.kernel.paniccpu == self.ci, "panicked")


class CpuPanel(HorizontalScroll, can_focus=True):
    """The row of CPU cards. Focusable: it holds the focus when the console lets go."""

    view: reactive[View | None] = reactive(None, always_update=True)

    def __init__(self, ncpu: int, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.ncpu = ncpu

    def compose(self) -> ComposeResult:
        for ci in range(self.ncpu):
            yield CpuCard(ci)

    def watch_view(self, view: View | None) -> None:
        if view is None:
            return
        for card in self.query(CpuCard):
            card.show(view)
        if view.cpu != getattr(self, "_selected", None):
            self._selected = view.cpu
            selected = self.query(f"#cpu{view.cpu}")
            if selected:
                self.scroll_to_widget(selected.first(), animate=False)
