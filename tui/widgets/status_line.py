"""Status line: what must stay on screen at every width.

The fix state and the selected CPU always; while a long command runs, its
progress and how to break in; after a panic, the panic string and the
panic explained in one line. It grows by rows (it wraps), never by hiding.
"""

from __future__ import annotations

from typing import Any

import attrs
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from engine.events import explain_panic
from tui.view import View
from tui.widgets.view_pane import ViewPane


@attrs.frozen
class Progress:
    """A long command as it runs: the line, statements so far, where."""

    line: str
    steps: int = 0
    cpu: int = 0
    func: str = ""
    searched: str = ""  # the explorer's figures while `search` runs


def status_text(view: View, progress: Progress | None, mode: str) -> Text:
    """First row: cut to the width (no_wrap); the panic rows wrap."""
    k = view.kernel
    t = Text()
    if k.panicstr is not None:
        t.append(f" PANIC cpu{k.paniccpu} ", style="bold white on red")
        t.append(" ")
    t.append(f"fix {'on' if view.fix else 'off'}",
             style="bold black on green" if view.fix else "bold black on yellow")
    t.append(f"  db{{{view.cpu}}}", style="bold")
    t.append(f"  {mode}", style="dim")
    if progress is not None and progress.searched:
        t.append(f"  running `{progress.line}`: {progress.searched}", style="bold cyan")
        t.append("  Ctrl-C breaks in", style="bold")
    elif progress is not None:
        t.append(f"  running `{progress.line}`: {progress.steps:,} statements,"
                 f" cpu{progress.cpu} in {progress.func or '?'}", style="bold cyan")
        t.append("  Ctrl-C breaks in", style="bold")
    elif k.panicstr is None:
        t.append(f"  {view.scenario}", style="italic")
    return t


def panic_text(view: View) -> Text:
    k = view.kernel
    t = Text()
    if k.panicstr is not None:
        t.append(f"panic: {k.panicstr}", style="bold red")
        t.append("\n")
        t.append(f"=> {explain_panic(k)}", style="bold")
    return t


class StatusLine(ViewPane, Widget):
    """The app's first rows (height: auto)."""

    DEFAULT_CSS = """
    StatusLine {
        height: auto;
        max-height: 6;
        padding: 0 1;
        background: $boost;
    }
    """

    progress: reactive[Progress | None] = reactive(None, always_update=True)
    mode: reactive[str] = reactive("console")

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._first = Text()
        self._rest = Text()

    def _update(self) -> None:
        """A progress tick repaints one row; only the panic rows appearing or
        changing lay the screen out again."""
        if self.view is None:
            return
        first = status_text(self.view, self.progress, self.mode)
        rest = panic_text(self.view)
        if rest.plain != self._rest.plain:
            self._first, self._rest = first, rest
            self.refresh(layout=True)
        elif first != self._first:
            self._first = first
            self.refresh()

    def render(self) -> Text:
        first = self._first.copy()
        first.truncate(max(1, self.content_size.width or 80), overflow="ellipsis")
        if not self._rest.plain:
            return first
        return Text("\n").join([first, self._rest])

    def watch_view(self) -> None:
        self._update()

    def watch_progress(self) -> None:
        self._update()

    def watch_mode(self) -> None:
        self._update()

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        if not self._rest.plain:
            return 1
        return 1 + len(self._rest.wrap(self.app.console, max(1, width)))
