"""The command palette: every ddb command, ddbstep's extensions and the
app's own actions, each with what it does.

A command that takes an argument (break, x, p, show proc ...) is not run
from the palette: its name is put in the console, ready for the argument.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from engine.ddb.db_table import palette_lines

if TYPE_CHECKING:
    from tui.app import DdbstepApp

def escape(text: str) -> str:
    """Literal text in Textual markup (ddb's help says [/u] and [,count])."""
    return text.replace("[", r"\[")


# (palette text, description, app action) of the app's own actions.
ACTIONS = (
    ("app: reboot the scenario", "ddb's reboot: boot again (undo takes it back)", "ddb('reboot')"),
    ("app: toggle the fix", "reboot with mi_switch's LP_BOUND guard in or reverted", "ddb('fix')"),
    ("app: timeline", "show or hide the timeline of the last steps per CPU", "timeline"),
    ("app: zoom the focused pane", "the pane fills the screen; again to come back", "zoom"),
    ("app: next pane (small screens)", "source, bt, LWPs, timeline in the middle", "cycle_pane"),
    ("app: go to the KASSERT's frame", "at a panic: the frame whose KASSERT fired", "assert_frame"),
    ("app: break in", "stop the running command at the next statement (Ctrl-C)", "break_in"),
    ("app: keys and panes", "the help screen", "help"),
    ("app: save an SVG picture", "of the screen as it is", "screenshot_svg"),
)


def palette_entries(ncpu: int) -> list[tuple[str, str, bool]]:
    """(command line, description, prefill rather than run): the command
    table's rows (engine.ddb.db_table.palette_lines), then the CPUs."""
    out = palette_lines()
    out += [(f"mach cpu {i}", f"select CPU {i} (the one s, n, until and c drive)", False)
            for i in range(min(ncpu, 16))]
    return out


class DdbCommands(Provider):
    """Runs the chosen line through the same interpreter as the console, or
    prefills it; the app's actions run as the keys do."""

    @property
    def ddb_app(self) -> DdbstepApp:
        # The app type only annotates: tui.app imports this module.
        return cast("DdbstepApp", self.app)

    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.ddb_app
        out: list[tuple[str, str, Callable[[], object]]] = []
        for line, help_text, prefill in palette_entries(len(app.session.kernel.cpus)):
            act = partial(app.prefill, line + " ") if prefill else partial(app.run_ddb, line)
            out.append((line, escape(help_text), act))
        for text, help_text, action in ACTIONS:
            out.append((text, escape(help_text), partial(app.do_action, action)))
        return out

    async def discover(self) -> Hits:
        for line, help_text, act in self._entries():
            yield DiscoveryHit(line, act, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for line, help_text, act in self._entries():
            score = matcher.match(line)
            if score > 0:
                yield Hit(score, matcher.highlight(line), act, help=help_text)
