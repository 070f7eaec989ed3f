"""Timeline pane: per-CPU lanes over the last steps, with the race's events.

Each column is one step; the lanes fill from the left and page by half a
pane when full. A lane shows a letter for the LWP that ran on
that CPU (legend below) and a mark for the race's events: T target set,
B bind, A psref acquired, M spc_migrating set, > migrated, R psref
released, ! KASSERT. The plan `search` found shows dimmed after the last
step: the steps `follow` will take, with their events.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from tui.view import View
from tui.widgets.text_pane import TextPane
from tui.widgets.view_pane import ViewPane

MARK = {"target": "T", "bind": "B", "unbind": "b", "acquire": "A", "release": "R",
        "migrating": "M", "migrated": ">", "panic": "!"}
AHEAD = "italic grey50"  # the plan's steps to come
STYLE = {"T": "bold yellow", "B": "bold cyan", "b": "cyan", "A": "bold green",
         "R": "green", "M": "bold magenta", ">": "bold magenta", "!": "bold white on red"}


def timeline_text(view: View, width: int) -> Text:
    k = view.kernel
    # The lanes page rather than slide: a step adds one column to one lane
    # and the other rows stay as they are; when the newest column reaches
    # the right edge the window jumps half a pane.
    cols = max(10, width - 8)
    ticks = list(view.ticks)
    if ticks:
        n = ticks[-1].n + 1  # steps so far
        half = max(1, cols // 2)
        first = 0 if n <= cols else ((n - cols + half - 1) // half) * half
        ticks = [tick for tick in ticks[-cols:] if tick.n >= first]
    ahead = list(view.ahead[:max(0, cols - len(ticks))])
    nnow = len(ticks)
    ticks = ticks + ahead
    letters: dict[str, str] = {}
    for tick in ticks:
        if tick.who not in letters:
            letters[tick.who] = "abcdefghijklmnopqrstuvwxyz0123456789"[len(letters) % 36]
    t = Text()
    # One string a lane, styled by runs: a Text.append a tick would cost a
    # frame on a machine of 64 CPUs.
    mine: dict[int, list[tuple[int, str, str]]] = {}  # cpu -> (column, char, style)
    for i, tick in enumerate(ticks):
        marks = [MARK[e.kind] for e in tick.events if e.kind in MARK]
        if i >= nnow:  # the plan ahead: dimmed, its marks too
            mine.setdefault(tick.cpu, []).append(
                (i, marks[-1] if marks else letters[tick.who], AHEAD))
            continue
        mine.setdefault(tick.cpu, []).append(
            (i, marks[-1], STYLE.get(marks[-1], "")) if marks else (i, letters[tick.who], "dim"))
    for ci in range(len(k.cpus)):
        t.append(f"cpu{ci:<3}", style="bold" if ci == view.cpu else "")
        t.append("|")
        cells = mine.get(ci, [])
        lane = [" "] * len(ticks)
        for i, ch, _ in cells:
            lane[i] = ch
        start = len(t)
        t.append("".join(lane).rstrip())  # no trailing blanks: an idle lane stays as it is
        run = None  # (first column, last column, style) of consecutive cells
        for i, _, style in cells + [(-2, "", "")]:
            if run is not None and (i != run[1] + 1 or style != run[2]):
                if run[2]:
                    t.stylize(run[2], start + run[0], start + run[1] + 1)
                run = None
            if i >= 0:
                run = (run[0] if run else i, i, style)
        t.append("\n")
    if letters:
        t.append("  ".join(f"{v}={w}" for w, v in letters.items()), style="dim")
        t.append("\n")
    events = [(tick.n, e) for tick in view.ticks for e in tick.events][-8:]
    for n, e in events:
        t.append(f"#{n:<6} cpu{e.cpu}  {MARK.get(e.kind, ' ')} {e.text}\n",
                 style=STYLE.get(MARK.get(e.kind, ""), ""))
    nxt = next(((tick.n, e) for tick in view.ahead for e in tick.events), None)
    if nxt is not None:
        n, e = nxt
        t.append(f"#{n:<6} cpu{e.cpu}  {MARK.get(e.kind, ' ')} next on the plan: {e.text}\n",
                 style=AHEAD)
    if not ticks:
        t.append("no steps yet", style="dim")
    return t


class TimelineText(TextPane):
    """The timeline's text: a new layout only when its number of rows changes
    (Static.update would lay the whole screen out again on every step)."""

    AUTO_HEIGHT = True


class TimelineView(ViewPane, VerticalScroll, can_focus=True):
    """Scrolls from the keyboard (up/down, PgUp/PgDn) when focused; lays
    its lanes out again for the new width on a resize."""

    DEFAULT_CSS = """
    TimelineView {
        border: round $secondary;
        padding: 0 1;
    }

    TimelineText {
        text-wrap: nowrap;
        text-overflow: clip;
    }

    TimelineView:focus {
        border: round $accent;
    }
    """

    ALLOW_MAXIMIZE = True

    def compose(self) -> ComposeResult:
        yield TimelineText(id="timeline-text")

    def watch_view(self, view: View | None) -> None:
        if view is not None:
            width = max(20, (self.content_size.width or self.size.width or 80) - 1)
            text = timeline_text(view, width)
            text.no_wrap = True
            text.overflow = "crop"
            self.query_one(TimelineText).set_text(text)

    def on_resize(self) -> None:
        self.watch_view(self.view)
