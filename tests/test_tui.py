"""The terminal app, driven with Pilot at a fixed size."""

from __future__ import annotations

import random
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
    kw.setdefault("variables", FAST)
    return DdbstepApp(load(kw.pop("scenario", "seed-race")), **kw)  # type: ignore[arg-type]


def commands(app: DdbstepApp) -> list[str]:
    return [line for line in app.transcript if line.startswith("db{")]


async def type_line(pilot, line: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*[c if c != " " else "space" for c in line], "enter")


async def test_starts_with_console_focused_and_every_pane() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.focused, CommandInput)
        for pane in ("#cpus", "#source", "#stack", "#lwps", "#psrefs", "#timeline", "#console"):
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


async def test_restart_fix_timeline_help_focus_quit() -> None:
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "s", "s")
        assert len(app.commands) == 2
        await pilot.press("r")
        assert app.commands == [] and app.session.kernel.lwps[0].stack[-1].pc == 0
        await pilot.press("f")
        assert app.fix and app.session.kernel.config.fix
        assert "[fix on]" in app.sub_title
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
        for line in sc.commands[:-2]:
            app.run_ddb(line)
        await pilot.pause()
        assert str(app.query_one("#prompt").render()) == "db{3}> "
        assert app.query_one("#cpu3").has_class("panicked")
        log = [s.text for s in app.query_one("#transcript").lines]
        assert "=> the psref tcpdump took on CPU 0 is released on CPU 3" in log


async def test_fix_toggle_then_same_commands_do_not_panic() -> None:
    app = make(variables={})
    sc = load("seed-race")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "f")
        for line in sc.commands:
            app.run_ddb(line)
        assert app.session.kernel.panicstr is None
        assert app.session.kernel.lwps[0].l_target_cpu == 3  # stale


async def test_demo_plays_narrated_steps_then_offers_the_fix() -> None:
    app = make(demo=True, variables={})
    n = len(app.scenario.commands)
    async with app.run_test(size=SIZE) as pilot:
        assert not isinstance(app.focused, CommandInput)
        narration = app.query_one("#narration")
        assert "[1/" in str(narration.render())
        await pilot.press("space")
        assert commands(app) == ["db{0}> mach cpu 1"]
        await pilot.press(*["enter"] * (n - 1))
        assert app.session.kernel.panicstr is not None
        assert "Press f to watch the same run with the fix" in str(narration.render())
        await pilot.press("f")
        assert app.fix and app.commands == []
        await pilot.press(*["space"] * n)
        assert app.session.kernel.panicstr is None
        assert "without the fix" in str(narration.render())


async def test_record_then_replay_is_identical(tmp_path: Path) -> None:
    out = tmp_path / "rec.toml"
    app = make(record=str(out), variables={})
    async with app.run_test(size=SIZE) as pilot:
        for line in ("mach cpu 1", "break sched_takecpu", "c", "n", "s", "", "bt",
                     "show lwp 0t15571.1"):
            await type_line(pilot, line)
        await pilot.press("escape", "0", "s", "b")
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
            if i % 200 == 0:
                await pilot.pause()
        while not isinstance(app.screen.focused, CommandInput) and isinstance(
                app.screen, (HelpScreen, CommandPalette)):
            await pilot.press("escape")
        app.run_ddb("mach cpu 0")
        assert app.transcript[-1] == "using CPU 0"
        assert not any("internal error" in line for line in app.transcript)
