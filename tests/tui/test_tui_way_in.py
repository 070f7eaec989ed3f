"""The app: the race one command away, the screen showing the state, keys
that do what the screen says (Pilot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.events import race_events
from engine.scenario import load
from tests.tui.test_tui import make, on_screen, run, screen_text, type_line
from tui.app import WAY_IN, DdbstepApp
from tui.widgets.console import CommandInput
from tui.widgets.cpu_panel import CpuCard
from tui.widgets.source_view import SourceView

SMALL = (80, 24)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
async def test_the_first_screen_says_how_to_reach_the_race(size: tuple[int, int]) -> None:
    app = make()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert (WAY_IN, "bold") in app.query_one("#console").lines  # type: ignore[attr-defined]
        for words in ("To reach the race: type `search`", "then `follow/a`", "then `bt`",
                      "`ddbstep demo` narrates it."):
            assert on_screen(app, words)
        assert on_screen(app, "f1 Palette")  # F1 is shown at 80 columns too


async def test_search_follow_bt_at_80x24_leave_the_panic_and_the_kassert_frame() -> None:
    app = make(variables={})
    async with app.run_test(size=SMALL) as pilot:
        for line in ("search", "follow/a", "bt"):
            await type_line(pilot, line)
        assert on_screen(app, 'panic: kernel diagnostic assertion "(psref->psref_cpu =='
                              ' curcpu())" failed')
        assert re.search(r"psref_release\(\) at netbsd:psref_release\+0x[0-9a-f]+",
                         screen_text(app))
        # k: the frame whose KASSERT fired, its line in the one-row source pane
        await pilot.press("escape", "k")
        await app.settle()
        await pilot.pause()
        src = app.query_one(SourceView)
        assert src.func == "psref_release"
        assert re.search(r">\s+315  KASSERTMSG\(\(psref->psref_cpu == curcpu\(\)\)",
                         screen_text(app))


async def test_the_one_row_source_pane_shows_the_current_statement() -> None:
    app = make()
    async with app.run_test(size=SMALL) as pilot:
        await run(app, pilot, "break wm_ioctl", "c", "s")
        k = app.session.kernel
        fr = k.curlwp(app.session.cpu).stack[-1]
        from engine.machine import FUNCS

        line = FUNCS[fr.func].stmts[fr.pc].line
        assert re.search(rf">\s+{line}  ", screen_text(app)), screen_text(app)


def _ticks(app: DdbstepApp) -> list[tuple[int, int, str, str, tuple[str, ...]]]:
    return [(t.n, t.cpu, t.who, t.func, tuple(e.text for e in t.events))
            for t in app.timeline.ticks]


async def test_the_timeline_after_undo_is_a_fresh_sessions_of_what_remains() -> None:
    # undo x3 takes back s,3, the reboot and s,7: the lanes are those of
    # mach cpu 1, s,5, mach cpu 0 and the s,2 after, numbered from 1 on.
    lines = ["mach cpu 1", "s,5", "mach cpu 0", "s,7", "reboot", "s,3"]
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await run(app, pilot, *lines)
        assert [t[0] for t in _ticks(app)] == [1, 2, 3]
        await run(app, pilot, "undo", "undo")
        assert [t[0] for t in _ticks(app)] == list(range(1, 13))  # the reboot undone
        await run(app, pilot, "undo", "s,2")
        after = _ticks(app)
    fresh = make()
    async with fresh.run_test(size=(120, 40)) as pilot:
        await run(fresh, pilot, "mach cpu 1", "s,5", "mach cpu 0", "s,2")
        assert _ticks(fresh) == after
        assert [t[0] for t in after] == list(range(1, 8))


async def test_the_plan_ahead_shows_on_the_timeline_and_follow_walks_it() -> None:
    app = make(variables={})
    async with app.run_test(size=(120, 40)) as pilot:
        await run(app, pilot, "search")
        plan = app.session.plan
        assert plan is not None
        view = app.view()
        assert len(view.ahead) == min(len(plan.moves), 400)
        assert view.ahead[0].n == 1
        assert on_screen(app, "next on the plan:")
        await run(app, pilot, "follow")
        assert app.view().ahead[0].n == app.session.steps + 1
        assert app.session.steps == app.session.plan_at


async def test_a_recording_writes_refused_lines_as_comments_and_replays(tmp_path: Path) -> None:
    from engine import replay

    out = tmp_path / "rec.toml"
    app = make(record=str(out))
    async with app.run_test(size=(120, 40)) as pilot:
        await run(app, pilot, "mach cpu 1", "brake sched_idle", "e", "s,3")
    text = out.read_text()
    assert '# "brake sched_idle" refused: No such command: brake' in text
    assert '# "e" refused: Ambiguous command: e' in text
    sc = load(str(out))
    assert sc.commands == ("mach cpu 1", "s,3")
    assert replay.run(sc, sc.commands).session.kernel.key() == app.session.kernel.key()


async def test_clicking_a_cpu_keeps_typing_in_the_console() -> None:
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click(CpuCard, offset=(2, 1))
        await app.settle()
        await pilot.pause()
        assert isinstance(app.focused, CommandInput)
        assert app.query_one("#status").render().plain.find("console") >= 0
        await pilot.press("f1")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.focused, CommandInput)
        assert "console" in app.query_one("#status").render().plain


@pytest.mark.parametrize("word", ["quit", "exit"])
async def test_quit_and_exit_at_the_prompt_leave_the_app(word: str) -> None:
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_line(pilot, "mach cpu 1")
        assert app.return_code is None  # a ddb line does not leave
        await type_line(pilot, word)
        assert app.return_code == 0  # left, running nothing (ddb's quit is `c`)
    assert app.session.kernel.panicstr is None and app.session.steps == 0
    assert app.commands == ["mach cpu 1"]


async def test_z_without_a_zoomable_pane_zooms_the_console() -> None:
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("escape")  # the CPU panel has the focus: it does not zoom
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is not None and app.screen.maximized.id == "console"


async def test_an_unknown_id_in_keymap_toml_is_reported_with_file_and_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "ddbstep"
    cfg.mkdir()
    (cfg / "keymap.toml").write_text('[keys]\nstep = "j"\n\nstepp = "x"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.pause()
        said = [line for line, _ in app.query_one("#console").lines]  # type: ignore[attr-defined]
        assert any(line.startswith(f"# {cfg / 'keymap.toml'}:4: no key binding has the id"
                                   " 'stepp'") for line in said), said
        assert app._keymap["step"] == "j"  # the known id is taken


async def test_ctrl_s_writes_its_svg_where_it_says(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDBSTEP_SHOTS", str(tmp_path))
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("escape", "ctrl+s")
        await pilot.pause()
        said = [line for line, _ in app.query_one("#console").lines  # type: ignore[attr-defined]
                if line.startswith("# screenshot saved to ")]
        assert len(said) == 1
        path = Path(said[0].removeprefix("# screenshot saved to "))
        assert path.parent == tmp_path.resolve() and path.read_text().startswith("<svg")


async def test_demo_fix_narrates_only_what_the_fixed_kernel_does() -> None:
    """No narration line of `demo --fix` names a migration, or a release on
    another CPU, that the fixed kernel's state does not show."""
    app = DdbstepApp(load("seed-race"), fix=True, demo=True, blink=False, srcdir="")
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.fix and app.scenario.fix
        boot_cpu = {l.idx: l.l_cpu for l in app.session.kernel.lwps}
        said: list[str] = []
        for _ in range(len(app.demo_state.script.commands) + 1):
            await pilot.press("space")
            await app.settle()
            await pilot.pause()
            text = str(app.query_one("#narration").render())
            said.append(text)
            k = app.session.kernel
            for m in re.finditer(r"moves? (\w+) to CPU (\d)|migrated to CPU (\d)", text):
                cpu = int(m.group(2) or m.group(3))
                assert any(l.l_cpu == cpu != boot_cpu[l.idx] for l in k.lwps), text
            for m in re.finditer(r"released on CPU (\d)", text):
                # where it was taken, or where the kernel panicked releasing it
                cpu = int(m.group(1))
                assert any(p.psref_cpu == cpu for p in k.psrefs) or k.paniccpu == cpu, text
        assert "fixed kernel" in said[-1] and "no panic" in said[-1]


def test_race_events_name_the_switches_of_the_lwps_the_race_is_about() -> None:
    from engine.init_main import boot
    from engine.machine import step

    k = boot(load("seed-race"))
    assert all(e.kind != "switch" for ci in range(4) for e in race_events(k, step(k, ci), ci))


def test_the_status_line_says_searching_only_for_search() -> None:
    from tui.widgets.status_line import Progress, status_text

    view = make().view()
    started = status_text(view, Progress("c"), "console").plain
    assert "running `c`: 0 statements" in started and "searching" not in started
    search = status_text(view, Progress("search", searched="searching"), "console").plain
    assert "running `search`: searching" in search and "Ctrl-C breaks in" in search
