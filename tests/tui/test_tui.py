"""The terminal app, driven with Pilot at a fixed size."""

from __future__ import annotations

import html
import random
import re
from pathlib import Path

import pytest
from textual.command import CommandPalette

from engine import replay
from engine.scenario import load
from tui.app import DdbstepApp
from tui.screens.help import HelpScreen
from tui.widgets.console import CommandInput, complete
from tui.widgets.cpu_panel import CpuPanel
from tui.widgets.timeline import TimelineView

SIZE = (120, 40)
FAST = {"maxsteps": 300}


def make(**kw: object) -> DdbstepApp:
    kw.setdefault("blink", False)
    kw.setdefault("srcdir", "")  # never the environment's tree
    kw.setdefault("variables", FAST)
    return DdbstepApp(load(kw.pop("scenario", "seed-race")), **kw)  # type: ignore[arg-type]


def commands(app: DdbstepApp) -> list[str]:
    return [line for line in app.transcript if line.startswith("db{")]


async def type_line(pilot, line: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*[c if c != " " else "space" for c in line], "enter")
    await pilot.app.settle()
    await pilot.pause()


async def run(app: DdbstepApp, pilot, *lines: str) -> None:  # type: ignore[no-untyped-def]
    for line in lines:
        app.run_ddb(line)
    await app.settle()
    await pilot.pause()


def screen_text(app: DdbstepApp) -> str:
    """What the terminal shows: the text of an SVG export of the screen."""
    svg = app.export_screenshot()
    rows = re.findall(r'<text[^>]*>(.*?)</text>', svg)
    return html.unescape("".join(rows)).replace("\xa0", " ")


def on_screen(app: DdbstepApp, needle: str) -> bool:
    """needle is shown, whatever rows it wraps over."""
    return re.sub(r"\s+", "", needle) in re.sub(r"\s+", "", screen_text(app))


async def test_starts_with_console_focused_and_every_pane() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.focused, CommandInput)
        for pane in ("#status", "#cpus", "#race", "#source", "#stack", "#lwps", "#timeline",
                     "#console"):
            assert app.query_one(pane).display
        await type_line(pilot, "mach cpu 1")
        assert app.transcript[-2:] == ["db{0}> mach cpu 1", "using CPU 1"]
        assert str(app.query_one("#prompt").render()) == "db{1}> "


@pytest.mark.parametrize(("key", "line"), [
    ("f11", "s"), ("f10", "n"), ("f5", "c"), ("f6", "c/a"), ("f7", "undo"),
])
async def test_function_keys_act_in_the_console(key: str, line: str) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        assert isinstance(app.focused, CommandInput)
        assert commands(app)[-1] == f"db{{0}}> {line}"
        await app.settle()


@pytest.mark.parametrize(("key", "line"), [
    ("s", "s"), ("n", "n"), ("c", "c"), ("a", "c/a"), ("b", "bt"), ("u", "undo"),
    ("0", "mach cpu 0x0"), ("3", "mach cpu 0x3"), ("9", "mach cpu 0x9"),
])
async def test_single_keys_act_after_escape(key: str, line: str) -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        assert isinstance(app.focused, CpuPanel)
        await pilot.press(key)
        assert commands(app)[-1].endswith(f"> {line}")
        await app.settle()


async def test_single_keys_type_into_the_console_when_it_has_focus() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "n")
        assert app.query_one(CommandInput).value == "sn"
        assert app.transcript == []


async def test_cpu_key_selects_cpu_and_card() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "2")
        await pilot.pause()
        assert app.session.cpu == 2
        assert app.query_one("#cpu2").has_class("selected")
        assert not app.query_one("#cpu0").has_class("selected")


async def test_reboot_fix_timeline_help_focus_quit() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "s", "s")
        assert len(app.commands) == 2
        stepped = app.session.kernel.key()
        await pilot.press("r")  # ddb's reboot: the scenario boots again
        assert app.commands[-1] == "reboot"
        assert app.session.kernel.lwps[0].stack[-1].pc == 0
        await pilot.press("u")  # ... and undo takes it back
        assert app.session.kernel.key() == stepped
        await pilot.press("f")
        assert app.fix and app.session.kernel.config.fix and app.commands[-2:] == ["undo", "fix"]
        assert "fix on" in str(app.query_one("#status").render())
        await pilot.press("u")
        assert not app.fix and app.session.kernel.key() == stepped
        tl = app.query_one(TimelineView)
        await pilot.press("t")
        assert not tl.display
        await pilot.press("t")
        assert tl.display
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("i")
        assert isinstance(app.focused, CommandInput)
        await pilot.press("escape", "colon")
        assert isinstance(app.focused, CommandInput)
        await pilot.press("escape", "q")
    assert app.return_value == 0


async def test_palette_opens_with_f1_everywhere_and_ctrl_p_outside_console() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette)
        await pilot.press("escape", "ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"show psref", "enter")
        await pilot.pause()
        assert commands(app)[-1] == "db{0}> show psref"


async def test_svg_key_saves_a_screenshot(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
    svgs = list(tmp_path.glob("*.svg"))
    assert len(svgs) == 1 and svgs[0].read_text().startswith("<svg")


async def test_console_history_completion_and_repeat() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        inp = app.query_one(CommandInput)
        await type_line(pilot, "mach cpu 1")
        await type_line(pilot, "s")
        await pilot.press("up")
        assert inp.value == "s"
        await pilot.press("ctrl+p")
        assert inp.value == "mach cpu 1"
        await pilot.press("ctrl+n")
        assert inp.value == "s"
        await pilot.press("down")
        assert inp.value == ""
        before = app.session.kernel.curlwp(1).stack
        await pilot.press("enter")  # empty line: ddb repeats `s`
        assert app.session.kernel.curlwp(1).stack != before
        assert commands(app)[-1] == "db{1}>"
        await pilot.press("s", "h", "tab")
        assert inp.value == "show "
        await pilot.press("p", "s", "tab")
        assert inp.value == "show psref "
        inp.value = "show pa"
        await pilot.press("tab")
        assert inp.value == "show pa"  # page, pages, panic: listed, not guessed
        assert "panic" in app.query_one("#transcript").lines[-1].text


def test_complete_function() -> None:
    assert complete("brea") == ("break ", [])
    assert complete("show all lw") == ("show all lwp", ["lwp", "lwps"])
    new, cands = complete("s")
    assert "s" in cands and "show" in cands


async def test_undo_k_steps_returns_to_the_start() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        start = app.session.kernel.key()
        await pilot.press(*["f11"] * 7)
        assert app.session.kernel.key() != start
        await pilot.press(*["f7"] * 7)
        assert app.session.kernel.key() == start
        assert any("undid 1: s" in line for line in app.transcript)


async def test_panic_prints_block_prompt_and_words() -> None:
    app = make(variables={})
    sc = load("seed-race")
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, *sc.commands[:-2])
        assert str(app.query_one("#prompt").render()) == "db{3}> "
        assert app.query_one("#cpu3").has_class("panicked")
        log = [s.text for s in app.query_one("#transcript").lines]
        assert "=> the psref tcpdump took on CPU 0 is released on CPU 3" in log


async def test_fix_toggle_then_same_commands_do_not_panic() -> None:
    app = make(variables={})
    sc = load("seed-race")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "f")
        await run(app, pilot, *sc.commands)
        assert app.session.kernel.panicstr is None
        assert app.session.kernel.lwps[0].l_target_cpu == 3  # stale


async def test_demo_narrates_each_output_then_plays_the_fixed_twin_truthfully() -> None:
    """The narration explains the output on screen (the command just run);
    `f` at the end plays the fixed twin's own commands and narration, and
    each ending is a verdict computed from the state."""
    app = make(demo=True, variables={})
    sc = app.scenario
    n = len(sc.commands)
    async with app.run_test(size=SIZE) as pilot:
        assert not isinstance(app.focused, CommandInput)
        narration = app.query_one("#narration")
        assert "Space or Enter: run `mach cpu 1`" in str(narration.render())
        await pilot.press("space")
        await app.settle()
        assert commands(app) == ["db{0}> mach cpu 1"]
        assert str(narration.render()).startswith(f"[1/{n}] `mach cpu 1`: {sc.narration[0]}")
        for _ in range(n - 1):
            await pilot.press("enter")
            await app.settle()
        assert app.session.kernel.panicstr is not None
        text = str(narration.render())
        assert "panic on CPU 3: the psref tcpdump took on CPU 0 is released on CPU 3" in text
        assert "Press f to watch the same race with the fix" in text
        await pilot.press("f")
        await app.settle()
        twin = load("seed-race-fixed")
        assert app.fix and app.commands[-1] == "fix on"
        assert str(narration.render()).startswith(twin.title)
        for i in range(len(twin.commands)):
            await pilot.press("space")
            await app.settle()
            said = str(narration.render())
            assert twin.narration[i] in said
            assert not any(line in said for line in sc.narration
                           if line and line not in twin.narration)
        assert app.session.kernel.panicstr is None
        text = str(narration.render())
        assert "fixed kernel (LP_BOUND guard in mi_switch): no panic:" in text
        assert "l_target_cpu cpu3 left stale" in text
        assert "without the fix" in text


async def test_record_then_replay_is_identical(tmp_path: Path) -> None:
    out = tmp_path / "rec.toml"
    app = make(record=str(out), variables={})
    async with app.run_test(size=SIZE) as pilot:
        for line in ("mach cpu 1", "break sched_takecpu", "c", "n", "s", "", "bt",
                     "show lwp 0t15571.1"):
            await type_line(pilot, line)
        await pilot.press("escape", "0", "s", "b")
        await app.settle()
    res = replay.run(load(str(out)), load(str(out)).commands)
    assert res.transcript == "\n".join(app.transcript) + "\n"
    assert res.ok


async def test_small_terminal_stays_usable() -> None:
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.has_class("narrow") and app.screen.has_class("short")
        await type_line(pilot, "s")
        assert commands(app)[-1] == "db{0}> s"
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not app.screen.has_class("narrow")


MONKEY_KEYS = (["s", "n", "c", "a", "b", "u", "r", "f", "t", "0", "1", "2", "3", "4", "escape",
                "i", "enter", "space", "tab", "up", "down", "f11", "f10", "f5", "f6", "f7",
                "question_mark", "x", "slash", "comma", "backspace"])
MONKEY_LINES = ["s", "n", "until", "c", "c/a", "bt", "ps", "show lwp", "show psref",
                "show all lwps", "hardclock,3", "intr wm0", "undo,2", "mach cpu 3",
                "break wm_ioctl",
                "delete wm_ioctl", "p/x curlwp->l_pflag", "x/x curlwp->l_pflag", "foo", ",", "s,",
                "show sched_qs", "set $seed = 0t7", "trace/t 0t15571", "help"]


@pytest.mark.slow
async def test_monkey_2000_keys_and_commands() -> None:
    rng = random.Random(2018)
    app = make()
    # The small terminal: the collapsed layout takes the beating too.
    async with app.run_test(size=(80, 24)) as pilot:
        for i in range(2000):
            if isinstance(app.screen, (HelpScreen, CommandPalette)):
                await pilot.press("escape")
            if rng.random() < 0.2:
                app.run_ddb(rng.choice(MONKEY_LINES))
            else:
                await pilot.press(rng.choice(MONKEY_KEYS))
            if i % 50 == 0:
                await app.settle()
                await pilot.pause()
        await app.settle()
        while not isinstance(app.screen.focused, CommandInput) and isinstance(
                app.screen, (HelpScreen, CommandPalette)):
            await pilot.press("escape")
        await run(app, pilot, "mach cpu 0")
        assert app.transcript[-1] == "using CPU 0"
        assert not any("internal error" in line for line in app.transcript)


# -- issue 13: every size shows the race; long runs stay live ----------------------------

SIZES = [(80, 24), (120, 40), (200, 60)]


@pytest.mark.parametrize("size", SIZES)
async def test_race_is_on_screen_at_every_size(size: tuple[int, int]) -> None:
    """No key pressed: tcpdump's row shows LP_BOUND and its target cpu3; after
    the panic and bt, the panic string and psref_release's frame are on screen."""
    app = make(variables={})
    sc = load("seed-race")
    cmds = list(sc.commands)
    async with app.run_test(size=size) as pilot:
        await run(app, pilot, *cmds[:cmds.index("show psref") + 1])
        text = screen_text(app)
        row = next(line for line in str(app.query_one("#race").render()).splitlines()
                   if "tcpdump" in line)
        assert "LP_BOUND" in row and "cpu3" in row
        assert row.split("cpu3")[0].strip() in text  # the row as the terminal shows it
        assert "LP_RUNNING|LP_BOUND" in text
        for ci in range(4):
            assert f"cpu{ci}" in text
        last_bt = len(cmds) - 1 - cmds[::-1].index("bt")  # the report's, after the panic
        await run(app, pilot, *cmds[cmds.index("show psref") + 1:last_bt + 1])
        assert on_screen(app, app.session.kernel.panicstr or "?")
        assert on_screen(app, "psref_release() at netbsd:psref_release+0x25c")
        assert on_screen(app, "=> the psref tcpdump took on CPU 0 is released on CPU 3")


OTHER = """
[[lwp]]
pid = 4242
lid = 3
comm = "ifwatch"
cpu = 1
program = "ioctl"
"""


async def test_a_scenario_with_other_pids_shows_its_own_race_lwps() -> None:
    from engine.scenario import load_text
    from tests.conftest import scenario_text

    sc = load_text(scenario_text(ncpu=2, lwps=OTHER), "other.toml")
    app = DdbstepApp(sc, blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await run(app, pilot, "mach cpu 1", "break wm_ioctl", "c")
        race = str(app.query_one("#race").render())
        assert "4242.3" in race and "ifwatch" in race and "LP_BOUND" in race
        assert "tcpdump" not in race
        assert "psref wm0" in race and "holder 4242.3 on cpu1" in race


async def test_long_run_stays_live_breaks_in_and_undoes() -> None:
    """c/a on the fixed kernel runs in a worker: progress shows, a line typed
    meanwhile waits its turn, Ctrl-C stops it at a statement with only the
    Stopped line, and undo restores the state before c/a."""
    app = make(fix=True, variables={"maxsteps": 100_000_000})
    async with app.run_test(size=SIZE) as pilot:
        before = app.session.kernel.key()
        app.run_ddb("c/a")
        for _ in range(100):
            await pilot.pause(0.02)
            if app._steps > 500:
                break
        assert app.running and app._steps > 500
        await pilot.pause(0.15)
        assert "running `c/a`" in str(app.query_one("#status").render())
        await type_line_nowait(pilot, "ps")
        await pilot.press("ctrl+c")
        await app.settle()
        await pilot.pause()
        out = app.transcript
        i = out.index("db{0}> c/a")
        assert out[i + 1].startswith("Stopped in pid ")  # no trap lines, no After
        assert out[i + 2] == "db{0}> ps"
        await run(app, pilot, "undo")
        assert app.transcript[-1] == "undid 1: c/a"
        assert app.session.kernel.key() == before


async def type_line_nowait(pilot, line: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*[c if c != " " else "space" for c in line], "enter")


async def test_single_key_mode_is_obvious_and_pgup_scrolls_back() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, *["help"] * 4)
        log = app.query_one("#transcript")
        bottom = log.scroll_y
        await pilot.press("pageup")
        await pilot.pause()
        assert log.scroll_y < bottom
        await pilot.press("escape")
        await pilot.pause()
        assert app.query_one("#console").has_class("keys-mode")
        assert "single keys" in str(app.query_one("#status").render())
        assert "single-key mode" in app.query_one(CommandInput).placeholder


async def test_compact_layout_cycles_panes_and_zooms() -> None:
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.has_class("compact")
        assert app.query_one("#source").display and not app.query_one("#stack").display
        await pilot.press("escape", "v")
        assert app.query_one("#stack").display and not app.query_one("#source").display
        await pilot.press("i", "f8")
        assert app.screen.maximized is app.query_one("#console")
        await pilot.press("f8")
        assert app.screen.maximized is None
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert all(app.query_one(f"#{p}").display for p in ("source", "stack", "lwps", "timeline"))


# -- issue 14: frames, the real source, gutter breakpoints, palette, keymap, pins --------



async def test_one_key_at_the_panic_shows_the_kassert_and_frames_move() -> None:
    app = make(variables={})
    sc = load("seed-race")
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, *sc.commands[:-2])
        src = app.query_one("#source")
        assert src.border_title.startswith("breakpoint()")
        await pilot.press("escape", "k")
        await app.settle()
        await pilot.pause()
        assert app.transcript[-2] == "db{3}> frame 3"
        assert src.border_title.startswith("psref_release()  sys/kern/subr_psref.c")
        here = next(line for line in str(src.render()).splitlines() if line.startswith(">"))
        assert "KASSERTMSG((psref->psref_cpu == curcpu())" in here
        assert "> psref_release() at netbsd:psref_release+0x25c" in str(
            app.query_one("#stack").render())
        await pilot.press("less_than_sign")  # up: the caller
        await app.settle()
        assert app.session.frame == 4 and src.border_title.startswith("doifioctl()")
        await pilot.press("greater_than_sign", "greater_than_sign")
        await app.settle()
        assert app.session.frame == 2
        await run(app, pilot, "mach cpu 0")
        assert app.session.frame == 0  # another CPU: its innermost frame


async def test_src_shows_the_real_lines_around_the_statement(netbsd_src: Path) -> None:
    app = make(variables={}, srcdir=str(netbsd_src))
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "mach cpu 1", "break sched_takecpu", "c")
        src = app.query_one("#source")
        assert src.border_title == "sched_takecpu()  sys/kern/kern_runq.c (real source)"
        text = str(src.render())
        real = (netbsd_src / "sys" / "kern" / "kern_runq.c").read_text().splitlines()
        line = next(s.line for s in __import__("engine.machine", fromlist=["FUNCS"]).FUNCS[
            "sched_takecpu"].stmts[:1])
        here = next(t for t in text.splitlines() if t.startswith(">"))
        assert here.split(None, 2)[1] == str(line)
        assert real[line - 1].strip() in here
        assert real[line].strip() in text  # the lines around it too
        # transcripts never depend on it
        plain = make(variables={})
        async with plain.run_test(size=SIZE) as p2:
            await run(plain, p2, "mach cpu 1", "break sched_takecpu", "c")
            assert plain.transcript == app.transcript


async def test_gutter_breakpoints_by_key_and_click_and_clicks_select() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "s", "s")
        src = app.query_one("#source")
        src.focus()
        await pilot.press("down", "b")
        await app.settle()
        assert app.transcript[-1].startswith("db{0}> break ")
        assert len(app.session.breaks) == 1
        assert "*" in "".join(line[:4] for line in str(src.render()).splitlines())
        await pilot.press("b")  # again: deleted
        await app.settle()
        assert app.transcript[-1].startswith("db{0}> delete ") and not app.session.breaks
        await pilot.click("#source", offset=(10, 2))
        await app.settle()
        assert app.transcript[-1].startswith("db{0}> break ") and len(app.session.breaks) == 1
        await pilot.click("#cpu2")
        await app.settle()
        assert app.transcript[-2:] == ["db{0}> mach cpu 0x2", "using CPU 2"]
        table = app.query_one("#lwps")
        table.focus()
        await pilot.press("enter")
        await app.settle()
        assert app.transcript[-2].startswith("db{2}> show lwp 0t15571.0t1")


async def test_palette_prefills_argument_commands_and_runs_app_actions() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1", *"break", "enter")
        await pilot.pause()
        inp = app.query_one(CommandInput)
        assert inp.value == "break " and isinstance(app.focused, CommandInput)
        assert app.transcript == []  # not run: "Address missing" never appears
        await pilot.press(*"sched_ta", "tab")
        assert inp.value == "break sched_takecpu "  # symbols complete after break
        inp.value = ""
        await pilot.press("f1", *"app: toggle the fix", "enter")
        await app.settle()
        await pilot.pause()
        assert app.fix and app.transcript[-2] == "db{0}> fix"


async def test_keymap_file_remaps_a_key(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "ddbstep").mkdir()
    (tmp_path / "ddbstep" / "keymap.toml").write_text('[keys]\nstep = "j"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "j")
        await app.settle()
        assert commands(app)[-1] == "db{0}> s"
        await pilot.press("s")  # the old key no longer steps
        await app.settle()
        assert len(commands(app)) == 1


async def test_pinned_lines_are_re_evaluated_after_every_command() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await run(app, pilot, "pin p/x curlwp->l_pflag")
        race = app.query_one("#race")
        assert "pin p/x curlwp->l_pflag => 20000000" in str(race.render())
        await run(app, pilot, "s,0t8")  # through curlwp_bind: LP_BOUND set
        assert "pin p/x curlwp->l_pflag => a0000000" in str(race.render())
        await run(app, pilot, "unpin 0")
        assert "pin " not in str(race.render())
