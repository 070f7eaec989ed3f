"""CPUs pane: every CPU, its curlwp and where it runs, in a grid.

Compact (small terminals): one row a CPU, two or more a line, so that 8
CPUs fit in 4 rows at 80 columns. Roomy: three rows a card, with
spc_migrating and the run queue. The selected CPU stands out; a panicked
one is red.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import reactive

from engine.kernel import Kernel
from tui.view import View, where, who
from tui.widgets.text_pane import TextPane
from tui.widgets.view_pane import ViewPane

CARD_WIDTH = {True: 37, False: 29}  # compact, roomy: cells a card takes, its gap included


def card_text(k: Kernel, ci: int, compact: bool = False) -> Text:
    cpu = k.cpus[ci]
    l = k.lwps[cpu.ci_curlwp]
    func, line = where(l)
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"cpu{ci}", style="bold")
    if k.paniccpu == ci:
        t.append(" PANIC", style="bold")
    if compact:
        t.append(f" {who(k, l)} ")
        t.append(f"{func}:{line}", style="italic")
        if cpu.spc_migrating is not None:
            t.append(" migr " + who(k, k.lwps[cpu.spc_migrating]).split(" ")[0],
                     style="bold magenta")
        return t
    t.append(" " + who(k, l) + "\n")
    t.append(f"{func}:{line}\n", style="italic")
    mig = "-" if cpu.spc_migrating is None else who(k, k.lwps[cpu.spc_migrating]).split(" ")[0]
    t.append("migr ", style="dim")
    t.append(mig, style="bold magenta" if cpu.spc_migrating is not None else "")
    q = ",".join(who(k, k.lwps[i]).split(" ")[0] for i in cpu.runq) or "-"
    t.append("  runq ", style="dim")
    t.append(q)
    return t


class CpuCard(TextPane):
    """One CPU; a click selects it (mach cpu N, through the app)."""

    @dataclass
    class Selected(Message):
        ci: int

    def __init__(self, ci: int) -> None:
        super().__init__(id=f"cpu{ci}", classes="cpu-card")
        self.ci = ci
        self._shown: tuple[object, ...] | None = None

    def on_click(self) -> None:
        self.post_message(self.Selected(self.ci))

    def show(self, view: View, compact: bool) -> None:
        k = view.kernel
        cpu = k.cpus[self.ci]
        # What card_text() reads: the card is built again only when it moved
        # (a step changes one CPU's card; 64 CPUs would cost a frame).
        shown = (compact, k.paniccpu, cpu.ci_curlwp, where(k.lwps[cpu.ci_curlwp]),
                 cpu.spc_migrating, cpu.runq)
        if shown != self._shown:
            self._shown = shown
            self.set_text(card_text(k, self.ci, compact))
        self.set_class(view.cpu == self.ci, "selected")
        self.set_class(k.paniccpu == self.ci, "panicked")


class CpuPanel(ViewPane, VerticalScroll, can_focus=True):
    """The grid of CPU cards. Focusable: it holds the focus when the console
    lets go (the single-key mode). A click selects a CPU and leaves the
    focus, and so where typing goes, as it was."""

    DEFAULT_CSS = """
    CpuPanel {
        layout: grid;
        grid-gutter: 0 1;
        border: round $primary;
    }

    /* panicked on a small screen: no border (see panicked below). */
    CpuPanel.bare {
        border: none;
    }

    CpuCard {
        height: 3;
        background: $surface;
    }

    CpuCard.selected {
        background: $primary 40%;
        text-style: bold;
    }

    CpuCard.panicked {
        background: $error;
        color: $text;
    }
    """

    FOCUS_ON_CLICK = False

    compact: reactive[bool] = reactive(False)
    # After a panic on a small screen the status line says PANIC and holds
    # the panic string: the CPU rows give up their border to the console,
    # where `bt` prints the frame whose KASSERT fired.
    panicked: reactive[bool] = reactive(False)

    def __init__(self, ncpu: int, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.ncpu = ncpu

    def compose(self) -> ComposeResult:
        for ci in range(self.ncpu):
            yield CpuCard(ci)

    def columns(self, width: int) -> int:
        return max(1, min(self.ncpu, (width + 1) // CARD_WIDTH[self.compact]))

    def on_resize(self) -> None:
        self._relayout()

    def watch_compact(self) -> None:
        self._relayout()
        self.watch_view(self.view)

    def watch_panicked(self) -> None:
        self._relayout()

    def _relayout(self) -> None:
        cols = self.columns(self.content_size.width or 76)
        self.styles.grid_size_columns = cols
        rows = (self.ncpu + cols - 1) // cols
        card = 1 if self.compact else 3
        bare = self.compact and self.panicked
        self.set_class(bare, "bare")
        # Every CPU stays visible up to 8 of them; more scroll.
        self.styles.height = min(rows, 8 if self.compact else 4) * card + (0 if bare else 2)

    def watch_view(self, view: View | None) -> None:
        if view is None:
            return
        cards = getattr(self, "_cards", None)
        if cards is None:
            cards = self._cards = list(self.query(CpuCard))
        for card in cards:
            card.show(view, self.compact)
        if view.cpu != getattr(self, "_selected", None):
            self._selected = view.cpu
            selected = self.query(f"#cpu{view.cpu}")
            if selected:
                self.scroll_to_widget(selected.first(), animate=False)
