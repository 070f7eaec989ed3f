"""The seed report's console output, computed from model state."""

from __future__ import annotations

import subprocess
import sys

from engine import replay
from engine.scenario import load
from tests.conftest import ROOT, SEED_LINES
from tui.cli import main


def test_seed_race_prints_the_report_lines_consecutively(capsys) -> None:
    assert main(["replay", "seed-race"]) == 0
    out = capsys.readouterr().out
    assert SEED_LINES in out
    # ddb never emits a TAB or a trailing blank.
    assert "\t" not in out
    assert all(line == line.rstrip() for line in out.splitlines())


def test_seed_race_with_fix_has_no_panic(capsys) -> None:
    assert main(["replay", "seed-race", "--fix"]) == 0
    out = capsys.readouterr().out
    assert "panic:" not in out
    # Breakpoint stops print trap_print()'s lines; the panic's int3 never comes.
    assert "breakpoint+0x10" not in out and "vpanic" not in out


def test_seed_race_fixed_shows_stale_target_and_finishes_on_cpu0(capsys) -> None:
    assert main(["replay", "seed-race-fixed"]) == 0
    out = capsys.readouterr().out
    assert "panic:" not in out
    last_lwp = out[out.rindex("db{0}> show lwp 0t15571.1"):]
    assert "l_target_cpu  cpu3" in last_lwp  # stale, as in the real kernel
    assert "l_pflag       0x20000000 (LP_RUNNING)" in last_lwp  # unbound again
    assert "l_cpu         cpu0" in last_lwp


def test_show_lwp_at_end_of_fixed_run_shows_stale_target() -> None:
    sc = load("seed-race")
    res = replay.run(sc, list(sc.commands) + ["show lwp 0t15571.1"], fix=True)
    assert res.ok
    tail = res.transcript[res.transcript.rindex("show lwp 0t15571.1"):]
    assert "l_target_cpu  cpu3" in tail


def test_replay_is_byte_identical_twice() -> None:
    sc = load("seed-race")
    a = replay.run(sc, sc.commands).transcript
    b = replay.run(sc, sc.commands).transcript
    assert a == b


def test_replay_of_random_interleaving_is_deterministic() -> None:
    sc = load("seed-race")
    cmds = ["set $seed = 0t1234", "set $maxsteps = 0t3000", "c/a", "show all lwps", "bt"]
    assert replay.run(sc, cmds).transcript == replay.run(sc, cmds).transcript


def test_transcript_replays_as_a_script(tmp_path, capsys) -> None:
    sc = load("seed-race")
    first = replay.run(sc, sc.commands).transcript
    script = tmp_path / "session.txt"
    script.write_text(first)
    assert main(["replay", "seed-race", "--script", str(script)]) == 0
    assert capsys.readouterr().out == first


def test_expectation_applies_only_to_the_scenarios_own_replay(tmp_path, capsys) -> None:
    script = tmp_path / "s.txt"
    script.write_text("# nothing happens\nps\n")
    assert main(["replay", "seed-race", "--script", str(script)]) == 0
    err = capsys.readouterr().err
    assert "expected" not in err
    assert err.strip().endswith("unfixed kernel (mi_switch without the LP_BOUND guard): no panic:"
                                " no psref was taken")
    assert main(["replay", "seed-race", "--fix"]) == 0  # [expect] panic_with_fix = false
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "scenarios" / "seed-race.toml").read_text()
                   .replace('[expect]\npanic = true', '[expect]\npanic = false'))
    assert main(["replay", str(bad)]) == 1
    assert "expected no panic" in capsys.readouterr().err


def test_then_runs_a_script_at_the_end_and_replay_says_its_verdict(tmp_path, capsys) -> None:
    then = tmp_path / "then.txt"
    then.write_text("show panic\nps\n")
    assert main(["replay", "seed-race", "--then", str(then)]) == 0
    cap = capsys.readouterr()
    assert SEED_LINES in cap.out
    assert "db{3}> show panic\nPanic string: kernel diagnostic assertion" in cap.out
    assert cap.err.strip() == (
        "ddbstep: seed-race.toml: unfixed kernel (mi_switch without the LP_BOUND guard):"
        " panic on CPU 3: the psref tcpdump took on CPU 0 is released on CPU 3")


def test_fix_markdown_is_titled_for_the_kernel_that_ran(capsys) -> None:
    assert main(["replay", "seed-race", "--fix", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### ddbstep: seed-race's commands on the fixed kernel\n")
    assert "The seed report" not in out.split("```")[0].split("\n")[0]
    assert "**no panic**: tcpdump 15571.1 released its psref on CPU 0" in out
    assert "l_target_cpu cpu3 left stale" in out


def test_version(capsys) -> None:
    import pytest

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("ddbstep 0.")


def test_a_misspelt_replay_command_is_caught_at_load(tmp_path, capsys) -> None:
    text = (ROOT / "scenarios" / "seed-race.toml").read_text()
    bad = tmp_path / "brake.toml"
    bad.write_text(text.replace('"break wm_ioctl"', '"brake wm_ioctl"'))
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "brake" in t)
    assert main(["replay", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == f"ddbstep: {bad}:{line}: No such command: brake"


def test_console_script_runs_in_a_fresh_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tui.cli", "replay", "seed-race"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0
    assert SEED_LINES in proc.stdout
