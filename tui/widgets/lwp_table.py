"""LWPs pane: every LWP's scheduling state; what the last command changed stands out."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from engine.kernel import Kernel, Lwp
from engine.param import LP_BOUND, LP_NAMES, LS_NAMES, LW_NAMES, bits
from tui.view import View
from tui.widgets.view_pane import ViewPane

COLUMNS = ("pid.lid", "comm", "l_stat", "l_cpu", "l_flag", "l_pflag", "l_target_cpu")


def cells(k: Kernel, l: Lwp) -> tuple[str, ...]:
    p = k.proc(l)
    return (
        f"{p.p_pid}.{l.l_lid}",
        l.l_name or p.p_comm,
        LS_NAMES.get(l.l_stat, "?"),
        f"cpu{l.l_cpu}",
        bits(l.l_flag, LW_NAMES),
        bits(l.l_pflag, LP_NAMES),
        "NULL" if l.l_target_cpu is None else f"cpu{l.l_target_cpu}",
    )


class LwpTable(ViewPane, DataTable[Text]):

    DEFAULT_CSS = """
    LwpTable {
        border: round $secondary;
        /* Scrolls with the keys; a scrollbar would be repainted on every step. */
        scrollbar-size: 0 0;
    }
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for name in COLUMNS:
            self.add_column(name, key=name)
        self._shown: dict[int, tuple[str, ...]] = {}
        self._hot: set[tuple[int, int]] = set()

    def watch_view(self, view: View | None) -> None:
        if view is None:
            return
        k = view.kernel
        prev = {l.idx: l for l in view.prev.lwps} if view.prev else {}
        hot = set()
        for l in k.lwps:
            old = prev.get(l.idx)
            if (l.idx in self._shown and old is not None and old.key() == l.key()
                    and not any((l.idx, c) in self._hot for c in range(len(COLUMNS)))):
                continue  # unchanged since the last command, nothing lit to clear
            now = cells(k, l)
            was = cells(view.prev, old) if view.prev is not None and old is not None else now
            styled = []
            for col, (a, b) in enumerate(zip(now, was, strict=True)):
                style = ""
                if a != b:
                    style = "bold black on yellow"
                    hot.add((l.idx, col))
                if col == 5 and l.l_pflag & LP_BOUND:
                    style = style or "bold red"
                styled.append(Text(a, style=style))
            key = str(l.idx)
            if l.idx not in self._shown:
                self.add_row(*styled, key=key)
            elif self._shown[l.idx] != now or any(
                (l.idx, c) in hot or (l.idx, c) in self._hot for c in range(len(COLUMNS))
            ):
                for col, name in enumerate(COLUMNS):
                    self.update_cell(key, name, styled[col])
            self._shown[l.idx] = now
        self._hot = hot
