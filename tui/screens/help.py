"""The keys, and where the ddb command list is."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = """\
[b]ddbstep keys[/b]  (the console has the focus at start: type a ddb command, Enter)

  Escape        leave the console; then single keys act:
  0-9           select a CPU            (mach cpu N)
  s / n         step / next             (s, n)
  c / a         continue / continue all (c, c/a)
  b             backtrace               (bt)
  u             undo the last command   (undo)
  r / f         restart / toggle the fix and restart
  t             show or hide the timeline
  i  :  Enter   back to the console
  ?             this help          q  quit
  ctrl+s        save an SVG picture of the screen

Everywhere, the console included:
  F11 step   F10 next   F5 continue   F6 continue all   F7 undo
  F1 command palette (ctrl+p too, outside the console)

In the console: up/down or ctrl-p/ctrl-n for history, tab completes
command names and show sub-commands, an empty Enter repeats the last
command. `help` lists ddb's commands; the model's extras are marked.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="close_help")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(KEYS)
