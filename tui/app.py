"""The ddbstep terminal app: a ddb session you can see.

The app owns one engine Session. Every action -- a typed line, a key, a
palette entry, a demo step -- becomes a ddb command line run through the
same interpreter (run_ddb); the console shows it after its prompt, so the
transcript is always a replay script. Panes only receive Views.

A command that can run long (s,N, n, until, c, c/a) runs in a thread
worker on a fork of the session; the screen stays live with its progress,
Ctrl-C breaks in at the next statement, and lines typed meanwhile run
after it in order. Restart and the fix toggle are ddb lines too (`reboot`,
`fix`), so `undo` takes them back.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from pathlib import Path

import attrs
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.timer import Timer
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from engine.ddb.db_command import Session, parse
from engine.ddb.db_session import Entry
from engine.events import explain_panic
from engine.scenario import Scenario
from tui.commands import DdbCommands
from tui.demo import Demo, twin
from tui.keymap import keymap_path, read_keymap
from tui.record import recording
from tui.screens.help import HelpScreen
from tui.view import Tick, Timeline, View, who
from tui.widgets.console import CommandInput, Console
from tui.widgets.cpu_panel import CpuCard, CpuPanel
from tui.widgets.lwp_table import LwpTable
from tui.widgets.race_view import RaceView
from tui.widgets.source_view import SourceView
from tui.widgets.stack_view import StackView
from tui.widgets.status_line import Progress, StatusLine
from tui.widgets.timeline import TimelineView
from tui.widgets.view_pane import ViewPane

PANES = ("source", "stack", "lwps", "timeline")  # what the compact layout cycles through
KEYS_MODE = "single keys: s n c a b u 0-9 . i or : to type"
# What the first screen says, at every size: the way to the race.
WAY_IN = ("To reach the race: type `search` (finds a schedule from here that panics),"
          " then `follow/a` (walks it to the panic), then `bt`. `help` and ? say the rest;"
          " `ddbstep demo` narrates it.")


def plan_ahead(s: Session, most: int = 400) -> tuple[Tick, ...]:
    """The plan's steps still to come, as timeline ticks numbered after the
    session's (the timeline shows them dimmed)."""
    plan = s.plan
    if plan is None:
        return ()
    out = []
    for i in range(s.plan_at, min(len(plan.moves), s.plan_at + most)):
        mv = plan.moves[i]
        k = plan.kernels[i + 1]
        l = k.curlwp(mv.cpu)
        out.append(Tick(s.steps + i - s.plan_at + 1, mv.cpu, who(k, l),
                        l.stack[-1].func if l.stack else "?",
                        tuple(e for e in plan.events[i] if e.kind != "switch")))
    return tuple(out)


def _cpu_bindings() -> list[Binding]:
    return [Binding(str(n), f"cpu({n})", f"cpu{n}", show=False, id=f"cpu{n}") for n in range(10)]


class DdbstepApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "ddbstep"
    COMMANDS = App.COMMANDS | {DdbCommands}
    BINDINGS = [
        # Everywhere, the console included.
        # F3/F4 are free in common terminals; F11/F10 (gdb's, often taken by
        # the terminal for full screen and its menu) stay as aliases.
        Binding("f1", "command_palette", "Palette", priority=True, id="palette_everywhere"),
        Binding("f3,f11", "ddb('s')", "Step", priority=True, id="step_everywhere"),
        Binding("f4,f10", "ddb('n')", "Next", priority=True, id="next_everywhere"),
        Binding("f5", "ddb('c')", "Cont", priority=True, id="continue_everywhere"),
        Binding("f6", "ddb('c/a')", "Cont all", priority=True, id="continue_all_everywhere"),
        Binding("f7", "ddb('undo')", "Undo", priority=True, id="undo_everywhere"),
        Binding("f8", "zoom", "Zoom", priority=True, id="zoom_everywhere"),
        Binding("ctrl+c", "break_in", "Break", priority=True, show=False, id="break_in"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="palette"),
        Binding("escape", "leave_input", "Keys", show=False, id="leave_input"),
        # Outside the console: single keys.
        Binding("s", "ddb('s')", "step", show=False, id="step"),
        Binding("n", "ddb('n')", "next", show=False, id="next"),
        Binding("c", "ddb('c')", "continue", show=False, id="continue"),
        Binding("a", "ddb('c/a')", "all", show=False, id="continue_all"),
        Binding("b", "ddb('bt')", "bt", show=False, id="backtrace"),
        Binding("u", "ddb('undo')", "undo", show=False, id="undo"),
        Binding("r", "ddb('reboot')", "Reboot", id="restart"),
        Binding("f", "ddb('fix')", "Fix", id="toggle_fix"),
        Binding("t", "timeline", "Timeline", id="timeline"),
        Binding("v", "cycle_pane", "Pane", id="cycle_pane"),
        Binding("less_than_sign", "ddb('up')", "Up frame", show=False, id="frame_up"),
        Binding("greater_than_sign", "ddb('down')", "Down frame", show=False, id="frame_down"),
        Binding("k", "assert_frame", "KASSERT frame", id="assert_frame"),
        Binding("z", "zoom", "Zoom", show=False, id="zoom"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit_app", "Quit", id="quit"),
        Binding("i,colon", "focus_input", "Console", show=False, id="focus_input"),
        Binding("enter,space", "demo_next", "Next", show=False, id="demo_next"),
        Binding("ctrl+s", "screenshot_svg", "SVG", show=False, id="screenshot"),
        *_cpu_bindings(),
    ]

    ALLOW_IN_MAXIMIZED_VIEW = "#status, Footer"

    def __init__(
        self,
        scenario: Scenario,
        fix: bool | None = None,
        demo: bool = False,
        record: str | None = None,
        blink: bool = True,
        variables: dict[str, int] | None = None,
        srcdir: str | None = None,
    ) -> None:
        super().__init__()
        if demo and fix is not None and fix != scenario.fix:
            # `demo --fix` tells the other kernel's story: the twin scenario's
            # commands and narration, where the scenario names one.
            scenario = twin(scenario, fix)
        self.scenario = scenario
        # A NetBSD source tree for the source pane: --src, else $DDBSTEP_SRC,
        # else the scenario's [kernel] srcdir. Transcripts never depend on it.
        self.srcdir = srcdir or os.environ.get("DDBSTEP_SRC") or scenario.srcdir
        self.variables = dict(variables or {})  # ddb variables set on every (re)start
        self.demo = demo
        self.record = record
        self.blink = blink
        self.timeline = Timeline()
        self.session = self._new_session(scenario.fix if fix is None else fix)
        self.commands: list[str] = []  # since the start: the recorded script
        self.refused: dict[int, str] = {}  # index in commands -> ddb's refusal
        self.transcript: list[str] = []  # what `ddbstep replay` of them prints
        self.demo_state = Demo(scenario)  # what the demo plays (the twin after `f`)
        self.compact_pane = "source"
        # A long command in its worker: (fork, line, was it panicked before).
        self.job: tuple[Session, str, bool] | None = None
        self.pending: list[str] = []  # lines typed while it runs, in order
        self._break = threading.Event()
        self._steps = 0
        self._where = (0, "")
        self._searched = ""  # the explorer's progress while `search` runs
        self._progress_timer: Timer | None = None
        self.shots = 0  # ctrl+s pictures saved

    @property
    def fix(self) -> bool:
        return self.session.kernel.config.fix

    # -- the engine side -------------------------------------------------------

    def _new_session(self, fix: bool) -> Session:
        s = Session.start(self.scenario, fix)
        s.vars.update(self.variables)
        s.on_step = self.timeline
        return s

    @property
    def running(self) -> bool:
        return self.job is not None

    def _run_entry(self, line: str) -> Entry | None:
        """The command table's row of a line that may run statements for
        long (a worker's job), as the parser reads it; None otherwise."""
        parsed = parse(self.session, line)
        if parsed is None:
            return None
        cmd, entry = parsed
        if entry.count_runs:
            # one statement is quick; s,N is not
            return entry if cmd.count not in (None, 1) else None
        return entry if entry.runs else None

    def _is_run(self, line: str) -> bool:
        return self._run_entry(line) is not None

    def run_ddb(self, line: str) -> str:
        """Run one ddb line exactly as typed; show it and update every pane.

        A run command starts a worker and returns ""; its output follows
        when it stops. While one runs, a line waits its turn.
        """
        console = self.query_one(Console)
        if self.running:
            self.pending.append(line)
            console.write(f"(after the running command) {line}", style="dim")
            return ""
        if line.strip() in ("quit", "exit"):
            # In ddb these continue the kernel; typed here they leave the app,
            # as in gdb (ddb's own `c` continues).
            self.action_quit_app()
            return ""
        shown = (self.session.prompt + line).rstrip()
        self.commands.append(line)
        self.transcript.append(shown)
        self.timeline.mark(self.session.steps, self.session.kernel)
        was_panicked = self.session.kernel.panicstr is not None
        entry = self._run_entry(line) if self.is_running else None
        if entry is not None:
            console.write(shown, style="bold")
            self._start(line, was_panicked, entry)
            return ""
        out = self.session.execute(line)
        self._done(out, was_panicked, echo=shown)
        return out

    def _note_refusal(self, error: str | None) -> None:
        """The last command's refusal, for the recording (a comment there)."""
        if error is not None and self.commands:
            self.refused[len(self.commands) - 1] = error

    def _done(self, out: str, was_panicked: bool, echo: str | None = None) -> None:
        # The echoed line, the output and the panic's explanation in one
        # write: one new transcript size, one repaint.
        parts = [] if echo is None else [(echo, "bold")]
        if out:
            parts.append((out, ""))
            self.transcript.append(out)
        if not was_panicked and self.session.kernel.panicstr is not None:
            parts.append(("=> " + explain_panic(self.session.kernel), "bold red"))
        if parts:
            self.query_one(Console).write_parts(parts)
        self._note_refusal(self.session.last_error)
        self.timeline.sync(self.session.steps, self.session.kernel)
        self._record()
        self.refresh_view()
        if self.demo:
            self._show_narration()

    # -- long commands -----------------------------------------------------------

    def _start(self, line: str, was_panicked: bool, entry: Entry) -> None:
        work = self.session.fork()
        self._break.clear()
        self._steps = 0
        work.break_in = self._break.is_set
        work.on_step = self._count
        work.on_search = self._search_progress
        self._searched = "searching" if entry.name == "search" else ""
        self.job = (work, line, was_panicked)
        self.query_one(StatusLine).progress = Progress(line, searched=self._searched)
        self._progress_timer = self.set_interval(0.1, self._show_progress)
        self.run_worker(lambda: work.execute(line), thread=True, exclusive=True,
                        group="ddb", exit_on_error=False)

    def _count(self, before: object, after: object, ci: int) -> None:
        """Session.on_step in the worker thread: the timeline and the progress."""
        self.timeline(before, after, ci)  # type: ignore[arg-type]
        self._steps += 1
        self._where = (ci, self.timeline.ticks[-1].func if self.timeline.ticks else "")

    def _search_progress(self, states: int, transitions: int, depth: int, secs: float,
                         best: int | None) -> None:
        """Session.on_search in the worker thread: the explorer's figures."""
        known = f", a panic in {best} steps known" if best is not None else ""
        self._searched = f"{states:,} states, no panic in fewer than {depth} steps{known}"

    def _show_progress(self) -> None:
        if self.job is not None:
            ci, func = self._where
            self.query_one(StatusLine).progress = Progress(self.job[1], self._steps, ci, func,
                                                           self._searched)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if self.job is None or event.state not in (
                WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        work, line, was_panicked = self.job
        self.job = None
        if self._progress_timer is not None:
            self._progress_timer.stop()
        self.query_one(StatusLine).progress = None
        if event.state is WorkerState.SUCCESS:
            out = str(event.worker.result)
        else:
            out = f"ddbstep: `{line}` did not finish: {event.worker.error!r}"
        work.break_in = None
        work.on_step = self.timeline
        work.on_search = None
        self.session = work
        self._done(out, was_panicked)
        queued, self.pending = self.pending, []
        for i, next_line in enumerate(queued):
            self.run_ddb(next_line)
            if self.running:
                self.pending = queued[i + 1:] + self.pending
                break

    def _load_keymap(self) -> None:
        """Keys from keymap.toml (tui/keymap.py); what is wrong, on the console."""
        path = keymap_path()
        keys, notes = read_keymap(path, {b.id for b in self._all_bindings() if b.id})
        for text, style in notes:
            self.call_after_refresh(self.query_one(Console).write, text, style)
        if keys is not None:
            self.set_keymap(keys)
            self.keymap_file = str(path)

    def _all_bindings(self) -> list[Binding]:
        """Every binding of the app and its widgets (what a keymap can name)."""
        from tui.screens.help import HelpScreen as _Help
        from tui.widgets.source_view import SourceView as _Source

        out = [b for b in self.BINDINGS if isinstance(b, Binding)]
        for cls in (CommandInput, _Source, _Help):
            out += [b for b in cls.BINDINGS if isinstance(b, Binding)]
        return out

    def do_action(self, action: str) -> None:
        """An app action by name (the palette's entries of the app's own)."""
        self.call_later(self.run_action, action)

    async def settle(self) -> None:
        """Wait until no command runs and none waits (tests, pictures)."""
        while self.running or self.pending:
            await self.workers.wait_for_complete()
            await asyncio.sleep(0.01)

    def action_break_in(self) -> None:
        """Ctrl-C: break into a running command, as BREAK on the console does."""
        if self.running:
            self._break.set()
        else:
            self.notify("Nothing is running. q quits.", timeout=2)

    # -- the view -----------------------------------------------------------------

    def _record(self) -> None:
        if self.record:
            Path(self.record).write_text(recording(
                self.scenario, self.commands, self.refused, self.session.kernel))

    def view(self) -> View:
        from engine.ddb.db_table import pinned_value

        s = self.session
        return View(s.kernel, s.prev_kernel, s.cpu, self.fix, tuple(self.timeline.ticks),
                    self.scenario.title, frame=s.frame,
                    breaks=frozenset((b.func, b.pc) for b in s.breaks),
                    pins=tuple((p, pinned_value(s, p)) for p in s.pins),
                    srcdir=self.srcdir, ahead=plan_ahead(s))

    def refresh_view(self) -> None:
        v = self.view()
        self.query_one(CpuPanel).panicked = v.kernel.panicstr is not None
        self.query_one(Console).set_prompt(self.session.prompt)
        # Attributes down: every pane gets the View; a hidden one (the
        # compact layout's other panes, the timeline) waits until it shows.
        for pane in self.query("*").results(ViewPane):
            if pane.display or isinstance(pane, (StatusLine, CpuPanel, RaceView)):
                pane.view = v

    # -- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield CpuPanel(self.scenario.ncpu, id="cpus")
        yield RaceView(id="race")
        with Grid(id="panes"):
            yield SourceView(id="source")
            yield StackView(id="stack")
            yield LwpTable(id="lwps")
            yield TimelineView(id="timeline")
        yield Static(id="narration")
        yield Console(id="console")
        yield Footer()

    def on_mount(self) -> None:
        # A step allocates a few thousand short-lived objects; with the
        # default thresholds the collector runs inside most frames and now
        # and then walks everything the app has built. What exists once the
        # app is up lives as long as it: out of the collector's way, and
        # young collections less often.
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        self._load_keymap()
        for pane_id, title in (("cpus", "CPUs"), ("stack", "bt"), ("race", "race"),
                               ("lwps", "LWPs"), ("timeline", "timeline"),
                               ("console", "console")):
            self.query_one(f"#{pane_id}").border_title = title
        inp = self.query_one(CommandInput)
        inp.cursor_blink = self.blink
        if not self.demo:
            self.query_one(Console).write(WAY_IN, style="bold")
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
        # Small terminals: one pane at a time in the middle (v cycles), CPU
        # rows instead of cards; the race pane and the status line stay.
        compact = width < 100 or height < 32
        self.screen.set_class(width < 100, "narrow")
        self.screen.set_class(height < 32, "short")
        self.screen.set_class(compact, "compact")
        self.query_one(CpuPanel).compact = compact
        self._show_panes()
        self.refresh_view()

    def _show_panes(self) -> None:
        compact = self.screen.has_class("compact")
        for name in PANES:
            self.query_one(f"#{name}").display = (not compact) or name == self.compact_pane
        grid = self.query_one("#panes", Grid)
        grid.styles.grid_size_columns = 1 if compact else 2
        grid.styles.grid_size_rows = 1 if compact else 2
        src = self.query_one(SourceView)
        src.border_subtitle = "v: next pane" if compact else ""

    def action_cycle_pane(self) -> None:
        if not self.screen.has_class("compact"):
            self.action_zoom()
            return
        self.compact_pane = PANES[(PANES.index(self.compact_pane) + 1) % len(PANES)]
        self._show_panes()
        self.refresh_view()

    def action_zoom(self) -> None:
        """Zoom the focused pane to the whole screen (again: back)."""
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        target = self.focused
        if target is None or isinstance(target, CommandInput) or not target.allow_maximize:
            # (The CPU panel does not zoom: it is on screen at every size.)
            target = self.query_one(Console)
        self.screen.maximize(target)

    # -- messages up ---------------------------------------------------------------

    @on(Console.Submitted)
    def _submitted(self, event: Console.Submitted) -> None:
        self.run_ddb(event.line)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._mode()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.call_after_refresh(self._mode)

    def _mode(self) -> None:
        if len(self.screen_stack) > 1:
            # The palette or the help is up: the mode is the main screen's,
            # and focus comes back where it was when it closes.
            return
        typing = isinstance(self.focused, CommandInput)
        self.query_one(Console).keys_mode = not typing
        self.query_one(StatusLine).mode = "console" if typing else KEYS_MODE

    # -- actions -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "demo_next":
            return self.demo and not isinstance(self.focused, CommandInput) or (
                not self.demo and not isinstance(self.focused, CommandInput))
        return True

    def action_ddb(self, line: str) -> None:
        if self.demo and line == "fix":
            self._demo_other_kernel()
            return
        self.run_ddb(line)

    def _demo_other_kernel(self) -> None:
        """The demo's `f`: the same race on the other kernel (tui/demo.py)."""
        want = not self.fix
        script = self.demo_state.other_kernel(want)
        self.session.scenario = attrs.evolve(script, narration=())  # the machine to boot
        self.run_ddb(f"fix {'on' if want else 'off'}")
        self._show_narration()

    def action_assert_frame(self) -> None:
        """At a panic: select the frame of the function whose KASSERT fired."""
        from engine.ddb.db_trace import assert_frame

        n = assert_frame(self.session)
        if n is None:
            self.notify("No panic frame to go to: the stack is not in panic().", timeout=2)
            return
        self.run_ddb(f"frame {n}")

    @on(SourceView.ToggleBreak)
    def _toggle_break(self, event: SourceView.ToggleBreak) -> None:
        from engine import symtab

        have = [b for b in self.session.breaks if (b.func, b.pc) == (event.func, event.pc)]
        if have:
            # by the address it was set at: `break doifioctl` stands on +0x7c
            self.run_ddb(f"delete {have[0].pc_addr:#x}")
        else:
            self.run_ddb(f"break {symtab.sym(event.func, event.pc).removeprefix('netbsd:')}")

    def on_cpu_card_selected(self, event: CpuCard.Selected) -> None:
        # (CpuPanel.FOCUS_ON_CLICK is off: typing stays where it was.)
        self.run_ddb(f"mach cpu {event.ci:#x}")

    @on(LwpTable.RowSelected)
    def _lwp_row(self, event: LwpTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None:
            return
        l = self.session.kernel.lwps[int(key)]
        self.run_ddb(f"show lwp 0t{self.session.kernel.proc(l).p_pid}.0t{l.l_lid}")

    def prefill(self, text: str) -> None:
        """Put a command in the console for its argument (the palette)."""
        inp = self.query_one(CommandInput)
        inp.value = text
        inp.cursor_position = len(text)
        inp.focus()

    def action_cpu(self, n: int) -> None:
        self.run_ddb(f"mach cpu {n:#x}")

    def action_timeline(self) -> None:
        if self.screen.has_class("compact"):
            self.compact_pane = "timeline" if self.compact_pane != "timeline" else "source"
            self._show_panes()
        else:
            tl = self.query_one(TimelineView)
            tl.display = not tl.display
        self.refresh_view()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_quit_app(self) -> None:
        if self.running:
            self._break.set()
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
        line = self.demo_state.next_command()
        if line is not None and not self.running:
            self.demo_state.before = self.session.kernel
            self.run_ddb(line)
            self.demo_state.at += 1
        self._show_narration()

    def _show_narration(self) -> None:
        self.query_one("#narration", Static).update(
            self.demo_state.narration(self.session, self.running))

    def action_screenshot_svg(self) -> None:
        """ctrl+s: an SVG of the screen in the current directory (or
        $DDBSTEP_SHOTS), named after the scenario; the console says where."""
        self.shots += 1
        folder = Path(os.environ.get("DDBSTEP_SHOTS") or ".")
        name = f"ddbstep-{self.scenario.name}-{os.getpid()}-{self.shots}.svg"
        try:
            path = self.save_screenshot(filename=name, path=str(folder))
        except OSError as e:
            self.query_one(Console).write(f"# screenshot not saved: {folder}: {e.strerror}",
                                          style="bold red")
            return
        self.query_one(Console).write(f"# screenshot saved to {Path(path).resolve()}",
                                      style="dim")
