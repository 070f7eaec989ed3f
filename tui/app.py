"""The ddbstep terminal app: a ddb session you can see.

The app owns one engine Session. Every action -- a typed line, a key, a
palette entry, a demo step -- becomes a ddb command line run through the
same interpreter (run_ddb); the console shows it after its prompt, so the
transcript is always a replay script. Panes only receive Views.
"""

from __future__ import annotations

from pathlib import Path

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Static

from engine.ddb.db_command import Session
from engine.events import explain_panic
from engine.scenario import Scenario, dump
from tui.commands import DdbCommands
from tui.screens.help import HelpScreen
from tui.view import Timeline, View
from tui.widgets.console import CommandInput, Console
from tui.widgets.cpu_panel import CpuPanel
from tui.widgets.lwp_table import LwpTable
from tui.widgets.psref_view import PsrefView
from tui.widgets.source_view import SourceView
from tui.widgets.stack_view import StackView
from tui.widgets.timeline import TimelineView


def _cpu_bindings() -> list[Binding]:
    return [Binding(str(n), f"cpu({n})", f"cpu{n}", show=False, id=f"cpu{n}") for n in range(10)]


class DdbstepApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "ddbstep"
    COMMANDS = App.COMMANDS | {DdbCommands}
    BINDINGS = [
        # Everywhere, the console included.
        Binding("f11", "ddb('s')", "Step", priority=True, id="step_everywhere"),
        Binding("f10", "ddb('n')", "Next", priority=True, id="next_everywhere"),
        Binding("f5", "ddb('c')", "Cont", priority=True, id="continue_everywhere"),
        Binding("f6", "ddb('c/a')", "Cont all", priority=True, id="continue_all_everywhere"),
        Binding("f7", "ddb('undo')", "Undo", priority=True, id="undo_everywhere"),
        Binding("f1", "command_palette", "Palette", priority=True, id="palette_everywhere"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="palette"),
        Binding("escape", "leave_input", "Keys", show=False, id="leave_input"),
        # Outside the console: single keys.
        Binding("s", "ddb('s')", "step", show=False, id="step"),
        Binding("n", "ddb('n')", "next", show=False, id="next"),
        Binding("c", "ddb('c')", "continue", show=False, id="continue"),
        Binding("a", "ddb('c/a')", "all", show=False, id="continue_all"),
        Binding("b", "ddb('bt')", "bt", show=False, id="backtrace"),
        Binding("u", "ddb('undo')", "undo", show=False, id="undo"),
        Binding("r", "restart", "Restart", id="restart"),
        Binding("f", "toggle_fix", "Fix", id="toggle_fix"),
        Binding("t", "timeline", "Timeline", id="timeline"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit_app", "Quit", id="quit"),
        Binding("i,colon", "focus_input", "Console", show=False, id="focus_input"),
        Binding("enter,space", "demo_next", "Next", show=False, id="demo_next"),
        Binding("ctrl+s", "screenshot_svg", "SVG", show=False, id="screenshot"),
        *_cpu_bindings(),
    ]

    def __init__(
        self,
        scenario: Scenario,
        fix: bool | None = None,
        demo: bool = False,
        record: str | None = None,
        blink: bool = True,
        variables: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self.variables = dict(variables or {})  # ddb variables set on every (re)start
        self.fix = scenario.fix if fix is None else fix
        self.demo = demo
        self.record = record
        self.blink = blink
        self.timeline = Timeline()
        self.session = self._new_session()
        self.commands: list[str] = []  # since the last restart: the recorded script
        self.transcript: list[str] = []  # what `ddbstep replay` of them prints
        self.demo_at = 0

    # -- the engine side -------------------------------------------------------

    def _new_session(self) -> Session:
        s = Session.start(self.scenario, self.fix)
        s.vars.update(self.variables)
        s.on_step = self.timeline
        return s

    def run_ddb(self, line: str) -> str:
        """Run one ddb line exactly as typed; show it and update every pane."""
        console = self.query_one(Console)
        shown = (self.session.prompt + line).rstrip()
        console.write(shown, style="bold")
        was_panicked = self.session.kernel.panicstr is not None
        out = self.session.execute(line)
        self.commands.append(line)
        self.transcript.append(shown)
        if out:
            console.write(out)
            self.transcript.append(out)
        if not was_panicked and self.session.kernel.panicstr is not None:
            console.write("=> " + explain_panic(self.session.kernel), style="bold red")
        self._record()
        self.refresh_view()
        return out

    def _record(self) -> None:
        if not self.record:
            return
        k = self.session.kernel
        Path(self.record).write_text(dump(
            self.scenario, self.commands, self.fix,
            panic=k.panicstr is not None, message=k.panicstr))

    def view(self) -> View:
        s = self.session
        return View(s.kernel, s.prev_kernel, s.cpu, self.fix, tuple(self.timeline.ticks),
                    self.scenario.title)

    def refresh_view(self) -> None:
        v = self.view()
        self.sub_title = (f"{self.scenario.title}  [fix {'on' if self.fix else 'off'}]"
                          + ("  PANIC" if v.kernel.panicstr else ""))
        self.query_one(Console).set_prompt(self.session.prompt)
        for pane in (CpuPanel, SourceView, StackView, LwpTable, PsrefView):
            self.query_one(pane).view = v
        tl = self.query_one(TimelineView)
        if tl.display:
            tl.view = v

    # -- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="db")
        yield CpuPanel(self.scenario.ncpu, id="cpus")
        with Horizontal(id="middle"):
            yield SourceView(id="source")
            yield StackView(id="stack")
        with Horizontal(id="lower"):
            yield LwpTable(id="lwps")
            with Vertical(id="side"):
                yield PsrefView(id="psrefs")
                yield TimelineView(id="timeline")
        yield Static(id="narration")
        yield Console(id="console")
        yield Footer()

    def on_mount(self) -> None:
        for pane_id, title in (("cpus", "CPUs"), ("stack", "bt"), ("psrefs", "psrefs"),
                               ("lwps", "LWPs"), ("timeline", "timeline"),
                               ("console", "console")):
            self.query_one(f"#{pane_id}").border_title = title
        inp = self.query_one(CommandInput)
        inp.cursor_blink = self.blink
        narration = self.query_one("#narration", Static)
        narration.display = self.demo
        if self.demo:
            self.query_one(CpuPanel).focus()
            self._show_narration()
        else:
            inp.focus()
        self._layout_for(self.size.width, self.size.height)
        self.refresh_view()

    def on_resize(self, event: events.Resize) -> None:
        self._layout_for(event.size.width, event.size.height)

    def _layout_for(self, width: int, height: int) -> None:
        # Small terminals: the secondary panes collapse, the console stays.
        self.screen.set_class(width < 100, "narrow")
        self.screen.set_class(height < 32, "short")

    # -- messages up ---------------------------------------------------------------

    @on(Console.Submitted)
    def _submitted(self, event: Console.Submitted) -> None:
        self.run_ddb(event.line)

    # -- actions -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "demo_next":
            return self.demo and not isinstance(self.focused, CommandInput) or (
                not self.demo and not isinstance(self.focused, CommandInput))
        return True

    def action_ddb(self, line: str) -> None:
        self.run_ddb(line)

    def action_cpu(self, n: int) -> None:
        self.run_ddb(f"mach cpu {n:#x}")

    def action_restart(self) -> None:
        self.session = self._new_session()
        self.timeline.clear()
        self.commands, self.transcript = [], []
        self.query_one(Console).write(
            f"# restart: {self.scenario.title}, fix {'on' if self.fix else 'off'}", style="dim")
        self.demo_at = 0
        if self.demo:
            self._show_narration()
        self._record()
        self.refresh_view()

    def action_toggle_fix(self) -> None:
        self.fix = not self.fix
        self.action_restart()

    def action_timeline(self) -> None:
        tl = self.query_one(TimelineView)
        tl.display = not tl.display
        self.refresh_view()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_quit_app(self) -> None:
        self.exit(0)

    def action_leave_input(self) -> None:
        if isinstance(self.focused, CommandInput):
            self.query_one(CpuPanel).focus()

    def action_focus_input(self) -> None:
        self.query_one(CommandInput).focus()

    def action_demo_next(self) -> None:
        if not self.demo:
            self.action_focus_input()
            return
        cmds = self.scenario.commands
        if self.demo_at < len(cmds):
            self.run_ddb(cmds[self.demo_at])
            self.demo_at += 1
        self._show_narration()

    def _show_narration(self) -> None:
        cmds, words = self.scenario.commands, self.scenario.narration
        box = self.query_one("#narration", Static)
        n = len(cmds)
        if self.demo_at < n:
            say = words[self.demo_at] if self.demo_at < len(words) else ""
            box.update(f"[{self.demo_at + 1}/{n}] next: {cmds[self.demo_at]}    {say}\n"
                       "Space or Enter: run it")
        else:
            other = "without" if self.fix else "with"
            box.update(f"End of the scenario ({'fix on' if self.fix else 'fix off'}). "
                       f"Press f to watch the same run {other} the fix, q to quit.")

    def action_screenshot_svg(self) -> None:
        name = self.save_screenshot(path=".")
        self.query_one(Console).write(f"# screenshot saved to {name}", style="dim")
