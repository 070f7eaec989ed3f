"""The keys, and where the ddb command list is."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = """\
[b]The race in three commands[/b]  (type them in the console)
  search        find a schedule from here that panics (the explorer, Ctrl-C
                stops it); it prints the race's events and becomes the plan
  follow/a      walk the plan to the panic (follow: to its next race event;
                the steps ahead show dimmed on the timeline; show plan)
  bt            the panic's backtrace; k goes to the KASSERT's frame
Or run `ddbstep demo`, which narrates a recorded race command by command.

[b]ddbstep keys[/b]  (the console has the focus at start: type a ddb command, Enter)
Escape closes this help.

  Escape        leave the console: single-key mode (the input dims and says so)
  0-9           select a CPU            (mach cpu N)
  s / n         step / next             (s, n)
  c / a         continue / continue all (c, c/a)
  b             backtrace               (bt)
  u             undo the last command   (undo)
  r             reboot the scenario     (reboot; u takes it back)
  f             toggle the fix, reboot  (fix; u takes it back)
  t             timeline: show or hide it (small screens: show it in the middle)
  v             small screens: next pane in the middle (source, bt, LWPs, timeline)
  z             zoom the focused pane to the whole screen, again to come back
  <  >          up / down a frame (frame, up, down): source and locals follow
  k             at a panic: the frame whose KASSERT fired
  i  :  Enter   back to the console
  ?             this help          q  quit (or type quit or exit)
  ctrl+s        save an SVG picture of the screen in the current directory
                (or $DDBSTEP_SHOTS); the console says where

In the source pane (click it or Tab to it): up/down move a cursor, b or a
click sets or deletes a breakpoint on a statement (* in the gutter).
Clicking a CPU selects it; Enter or a click on an LWP row shows it.

Everywhere, the console included:
  F3 step   F4 next   (F11, F10 too)   F5 continue   F6 continue all
  F7 undo   F8 zoom
  F1 command palette (ctrl+p too, outside the console)
  Ctrl-C        break into a running command (c, c/a, n, until, s,N,
                search, follow) at the next statement, as BREAK on a ddb
                console; undo takes the whole command back

In the console: up/down or ctrl-p/ctrl-n for history, tab completes
command names, show sub-commands and symbols after break/p/x, PgUp/PgDn
scroll the transcript, an
empty Enter repeats the last command. Lines typed while a command runs
wait their turn. `help` lists ddb's commands, then ddbstep's extensions.

The panes: the status line (fix, CPU, progress, the panic), the CPUs (the
selected one highlighted, a panicked one red), the race (the LWPs that
hold a psref, have l_target_cpu set, sit in spc_migrating, or run on the
selected CPU: P, T, M, * say which; then every psref and the pinned
lines), the source (the selected frame's function, `>` its statement, `*`
a breakpoint, digits: other CPUs there; --src: the real file), bt (the
selected frame marked, its locals below),
all LWPs (yellow: what the last command changed), the timeline (a lane a
CPU, a letter an LWP; T target set, B bind, A psref taken, M
spc_migrating, > migrated, R released, ! KASSERT), the console.
"""


class HelpScreen(ModalScreen[None]):

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }

    HelpScreen #help-box {
        width: 84;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="close_help")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(KEYS)
