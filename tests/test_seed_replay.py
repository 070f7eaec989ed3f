"""The seed report's console output, computed from model state."""

from __future__ import annotations

import subprocess
import sys

from engine import replay
from engine.scenario import load
from tests.conftest import SEED_LINES
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


def test_expectation_failure_exits_1(tmp_path, capsys) -> None:
    script = tmp_path / "s.txt"
    script.write_text("# nothing happens\nps\n")
    assert main(["replay", "seed-race", "--script", str(script)]) == 1
    assert "expected a panic" in capsys.readouterr().err


def test_console_script_runs_in_a_fresh_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tui.cli", "replay", "seed-race"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0
    assert SEED_LINES in proc.stdout
