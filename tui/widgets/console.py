"""Console pane: the ddb transcript and the `db{N}> ` input line.

The input keeps a history (up/down, and ddb's own ctrl-p/ctrl-n), completes
command names and show sub-commands with tab, scrolls the transcript back
with PgUp/PgDn, and submits an empty line as it is: the interpreter
repeats the last command, as ddb does. The transcript re-wraps when the
pane changes width. Outside the input (single-key mode) the input dims
and says how to come back.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.strip import Strip
from textual.widgets import Input, Label, RichLog

from engine.ddb.db_table import TABLES
from tui.widgets.text_pane import BaseStyle


def symbols() -> list[str]:
    from engine.ddb.db_examine import symbols as known

    return sorted({name for _, _, name in known()} | {"curlwp", "curcpu", "curproc", "lwp0"})


def complete(text: str) -> tuple[str, list[str]]:
    """Tab completion: (new text, candidates when ambiguous)."""
    words = text.split(" ")
    command = words[0].split("/")[0]
    base, show = TABLES["base"], TABLES["show"]
    if len(words) == 1:
        pool, prefix, head = list(base), words[0], ""
    elif len(words) == 2 and words[0] in ("show", "sh", "sho"):
        pool, prefix, head = list(show), words[1], words[0] + " "
    elif len(words) == 3 and words[0] in ("show", "sh", "sho") and words[1] == "all":
        pool, prefix, head = list(show), words[2], " ".join(words[:2]) + " "
    elif len(words) >= 2 and command in base and base[command].address:
        # the last word, after any operator: a symbol of the kernel's table
        last = words[-1]
        cut = max(last.rfind(c) for c in "+-*(,") + 1
        pool, prefix = symbols(), last[cut:]
        head = " ".join(words[:-1]) + " " + last[:cut]
        if not prefix:
            return text, []
    else:
        return text, []
    hits = [w for w in pool if w.startswith(prefix)]
    if not hits:
        return text, []
    if len(hits) == 1:
        return head + hits[0] + " ", []
    common = hits[0]
    for h in hits[1:]:
        while not h.startswith(common):
            common = common[:-1]
    return head + common, hits


class CommandInput(Input):
    """ddb's command line, with history and completion."""

    BINDINGS = [
        Binding("up,ctrl+p", "history(-1)", "Previous command", show=False, id="history_prev"),
        Binding("down,ctrl+n", "history(1)", "Next command", show=False, id="history_next"),
        Binding("tab", "complete", "Complete", show=False, priority=True, id="complete"),
        Binding("pageup", "page(-1)", "Scroll back", show=False, id="page_up"),
        Binding("pagedown", "page(1)", "Scroll on", show=False, id="page_down"),
    ]

    @dataclass
    class Candidates(Message):
        """Several completions: the console lists them."""

        words: list[str]

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.history: list[str] = []
        self.at = 0

    def remember(self, line: str) -> None:
        # ddb stores neither empty lines nor a repeat of the line just recalled.
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
        self.at = len(self.history)

    def action_history(self, delta: int) -> None:
        if not self.history:
            return
        self.at = max(0, min(len(self.history), self.at + delta))
        self.value = self.history[self.at] if self.at < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_page(self, direction: int) -> None:
        log = self.screen.query_one("#transcript", RichLog)
        if direction < 0:
            log.scroll_page_up(animate=False)
        else:
            log.scroll_page_down(animate=False)

    def action_complete(self) -> None:
        new, cands = complete(self.value)
        self.value = new
        self.cursor_position = len(new)
        if cands:
            self.post_message(self.Candidates(cands))


class Transcript(BaseStyle, RichLog):
    """The RichLog of the console, without a screen layout per line.

    A RichLog's virtual_size is a layout reactive: each write grows it and
    Textual lays the whole screen out again, which costs more than the step
    itself. The pane's own size never changes with its content, so a new
    virtual size only moves its scrollbar: a layout is asked for only when
    the scrollbar appears or goes.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        shown = (self.show_vertical_scrollbar, self.show_horizontal_scrollbar)
        self._refresh_scrollbars()
        if (self.show_vertical_scrollbar, self.show_horizontal_scrollbar) != shown:
            self.refresh(layout=True)
            return
        self._scroll_update(size)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        """A pane that shrinks (a panic's status rows take rows from the
        console) keeps its scroll offset, and its last lines fall out of
        sight: a transcript that was at its end stays at its end."""
        was = getattr(self, "_height", 0)
        at_end = self.scroll_y >= self.virtual_size.height - was
        self._height = event.size.height
        super().on_resize(event)
        if was and at_end and event.size.height != was and self._size_known:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def write(self, content: object, width: int | None = None, expand: bool = False,
              shrink: bool = True, scroll_end: bool | None = None,
              animate: bool = False) -> Transcript:
        """RichLog.write, scrolled to the end at once, so that the new output
        is in the same frame as the panes (RichLog scrolls only after the
        next refresh, a frame later), and again after that refresh, in case
        the layout has changed the pane's height (a panic adds status rows)."""
        follow = self.auto_scroll if scroll_end is None else scroll_end
        if width is None and self._size_known:
            # Wrapped as if the scrollbar were there: it appears once the
            # transcript outgrows the pane, and would hide the last column.
            width = max(10, self.size.width - 1)
        super().write(content, width, expand, shrink, scroll_end=follow, animate=animate)
        if follow and self._size_known:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        return self

    def render_line(self, y: int) -> Strip:
        # RichLog.render_line, with the base style kept (text_pane.BaseStyle).
        scroll_x, scroll_y = self.scroll_offset
        line = self._render_line(scroll_y + y, scroll_x, self.scrollable_content_region.width)
        return line.apply_style(self.base_style)


class Console(Vertical):
    """Transcript above, prompt and input below."""

    DEFAULT_CSS = """
    Console #transcript {
        height: 1fr;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }

    Console #prompt-line {
        height: 1;
    }

    Console #prompt {
        width: auto;
        text-style: bold;
    }

    Console #command {
        border: none;
        height: 1;
        padding: 0;
    }

    /* Single-key mode: the input dims and says how to come back. */
    Console.keys-mode #prompt-line {
        opacity: 50%;
    }

    Console.keys-mode #command {
        text-style: italic;
    }
    """

    ALLOW_MAXIMIZE = True
    keys_mode: reactive[bool] = reactive(False)
    KEEP = 5000  # transcript lines kept for re-wrapping

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.lines: list[tuple[str, str]] = []
        self._width = 0

    @dataclass
    class Submitted(Message):
        """A command line to run (messages go up to the app)."""

        line: str

    def compose(self) -> ComposeResult:
        yield Transcript(id="transcript", wrap=True, markup=False, auto_scroll=True)
        with Horizontal(id="prompt-line"):
            yield Label("db{0}> ", id="prompt")
            yield CommandInput(id="command", placeholder="ddb command (help, s, c, bt ...)")

    def set_prompt(self, prompt: str) -> None:
        label = self.query_one("#prompt", Label)
        if str(label.render()) != prompt:
            label.update(prompt)

    def write(self, text: str, style: str = "") -> None:
        self.write_parts([(text, style)])

    def write_parts(self, parts: list[tuple[str, str]]) -> None:
        """Lines of text, each part in its style: one RichLog write for them
        all (one render, one new virtual size)."""
        self.query_one("#transcript", RichLog).write(
            Text("\n").join(Text(text, style=style) for text, style in parts))
        for text, style in parts:
            self.lines.extend((line, style) for line in text.split("\n"))
        del self.lines[:-self.KEEP]

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            log = self.query_one("#transcript", RichLog)
            log.clear()
            # One write for all of it (a write a line would scroll a line).
            if self.lines:
                log.write(Text("\n").join(Text(line, style=style)
                                          for line, style in self.lines))
            log.scroll_end(animate=False)

    def watch_keys_mode(self, keys: bool) -> None:
        self.set_class(keys, "keys-mode")
        inp = self.query_one(CommandInput)
        inp.placeholder = (
            "single-key mode: i or : to type a command, ? for the keys" if keys
            else "ddb command (help, s, c, bt ...)")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inp = self.query_one(CommandInput)
        inp.remember(event.value)
        inp.value = ""
        self.post_message(self.Submitted(event.value))

    def on_command_input_candidates(self, event: CommandInput.Candidates) -> None:
        self.write("  ".join(event.words), style="dim")
