"""Bad scenarios and bad command lines: one clear line, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ddb.db_command import Session
from engine.scenario import load
from tests.conftest import lwp, scenario_text
from tui.cli import main

GOOD_LWPS = lwp(10, 1, "tcpdump", 0, "ioctl") + lwp(0, 1, "system", 1, "uvm_scheduler")

BAD = [
    # (name, file text, expected line, message fragment)
    ("not-toml", "[scenario\ntitle = 1\n", 1, "not valid TOML"),
    ("unknown-key", scenario_text(lwps=GOOD_LWPS).replace("ncpu = 4", "ncpu = 4\nturbo = true"),
     8, "unknown key 'turbo' in [kernel]"),
    ("missing-key", scenario_text(lwps=GOOD_LWPS).replace('srcroot = "/usr/src"\n', ""),
     6, "missing key 'srcroot' in [kernel]"),
    ("wrong-type", scenario_text(lwps=GOOD_LWPS).replace("ncpu = 4", 'ncpu = "four"'),
     7, "'ncpu' in [kernel] must be an integer"),
    ("bool-not-int", scenario_text(lwps=GOOD_LWPS).replace("ncpu = 4", "ncpu = true"),
     7, "'ncpu' in [kernel] must be an integer"),
    ("cpu-out-of-range", scenario_text(lwps=lwp(10, 1, "tcpdump", 4, "ioctl")),
     None, "cpu 4 out of range: ncpu is 4"),
    ("absurd-ncpu", scenario_text(ncpu=100000, lwps=GOOD_LWPS), 7, "ncpu 100000 out of range"),
    ("duplicate-lwp", scenario_text(lwps=GOOD_LWPS + lwp(10, 1, "tcpdump", 2, "hog")),
     None, "duplicate LWP 10.1"),
    ("unknown-program", scenario_text(lwps=lwp(10, 1, "x", 0, "fork_bomb")),
     None, "unknown program 'fork_bomb'"),
    ("unknown-table", scenario_text(lwps=GOOD_LWPS) + "\n[extra]\nx = 1\n", None,
     "unknown table 'extra'"),
    ("comm-mismatch", scenario_text(lwps=GOOD_LWPS + lwp(10, 2, "other", 2, "hog")),
     None, "pid 10 is 'tcpdump', not 'other'"),
    ("no-lwps", scenario_text(lwps=""), 0, "missing [[lwp]]"),
    ("bad-lid", scenario_text(lwps=lwp(10, 0, "tcpdump", 0, "ioctl")), None, "lid 0 out of range"),
    ("user-in-pid0", scenario_text(lwps=lwp(0, 2, "system", 0, "hog")), None,
     "program 'hog' is a user program"),
    ("narration-count", scenario_text(
        lwps=GOOD_LWPS, replay='[replay]\ncommands = ["s"]\nnarration = ["a", "b"]\n'),
     None, "2 narration lines for 1 commands"),
    ("multiline-command", scenario_text(
        lwps=GOOD_LWPS, replay='[replay]\ncommands = ["s\\nbt"]\n'),
     None, "commands must be single-line strings"),
    ("bad-iface", scenario_text(lwps=GOOD_LWPS) + '\n[[interface]]\nname = "lo0"\n', None,
     "only wm(4) interfaces are modeled"),
]


@pytest.mark.parametrize(("name", "text", "line", "frag"), BAD, ids=[b[0] for b in BAD])
def test_bad_scenario_is_one_line_exit_2(tmp_path: Path, capsys, name, text, line, frag) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    m = re.match(rf"ddbstep: {re.escape(str(path))}(:(\d+))?: (.*)\n$", err)
    assert m, err
    assert frag in m.group(3)
    if line == 0:
        assert m.group(2) is None  # a missing table has no line to name
    elif line is not None:
        assert m.group(2) == str(line)
    else:
        assert m.group(2) is not None  # every key-level error names a line


def test_missing_and_binary_files_and_unknown_names(tmp_path: Path, capsys) -> None:
    assert main(["replay", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert main(["replay", str(binary)]) == 2
    assert "not a text file" in capsys.readouterr().err
    assert main(["replay", "no-such-scenario"]) == 2
    assert "no such scenario" in capsys.readouterr().err


def test_bad_scenario_in_a_fresh_process_has_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[kernel]\nncpu = [1, 2]\n")
    proc = subprocess.run([sys.executable, "-m", "tui.cli", "replay", str(path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"ddbstep: {path}")


def test_scenario_text_is_never_executed(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "pwned"
    text = scenario_text(lwps=GOOD_LWPS).replace(
        'srcroot = "/usr/src"', f'srcroot = "__import__(\'os\').system(\'touch {marker}\')"')
    path = tmp_path / "evil.toml"
    path.write_text(text + '[replay]\ncommands = ["p __import__(\'os\')"]\n')
    main(["replay", str(path)])
    assert not marker.exists()
    assert "Symbol not found" in capsys.readouterr().out  # db_term(): not a symbol, not a number


command_lines = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
    st.builds(
        lambda name, mod, arg, count: f"{name}{mod}{arg}{count}",
        st.sampled_from(["s", "n", "c", "b", "bt", "trace", "ps", "p", "x", "show", "mach",
                         "set", "break", "delete", "until", "undo", "hardclock", "intr",
                         "help", "examine", "show lwp", "show proc", "mach cpu"]),
        st.sampled_from(["", "/", "/a", "/x", "/zz", "/?", "/p", "/t"]),
        st.sampled_from(["", " ", " 0", " 0t15571", " $radix", " curlwp->", " curlwp->l_pflag",
                         " ((", " 0x", " sched_idle+", " wm0", " -1", " 1.", " $seed = -5"]),
        st.sampled_from(["", ",", ",0", ",1", ",zz", ",0t3", ", 2"]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(line=command_lines)
def test_malformed_command_lines_never_raise(line: str) -> None:
    s = Session.start(load("seed-race"))
    s.vars["maxsteps"] = 200
    out = s.execute(line)
    assert isinstance(out, str)
    assert "internal error" not in out
    assert "\t" not in out
    # The session goes on.
    assert s.execute("mach cpu 0") == "using CPU 0"


def test_a_reader_that_goes_away_gets_no_traceback() -> None:
    # `ddbstep explore ... | head`: the pipe closes early; ddbstep stops quietly.
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-m", "tui.cli", "explore", "psref-unbound"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert p.returncode in (1, 141)


@pytest.mark.parametrize("args", [["--ticks", "-1"], ["--max-states", "-5"],
                                  ["--max-steps", "many"]])
def test_a_count_out_of_range_gets_one_line(args: list[str], capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["explore", "psref-unbound", *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"ddbstep explore: error: argument {args[0]}")


def test_a_clock_budget_past_two_bytes_is_searched(capsys: pytest.CaptureFixture[str]) -> None:
    # The frontier keeps each state's clock budget: any count fits.
    assert main(["explore", "psref-unbound", "--ticks", "70000", "--max-states", "50",
                 "--no-first", "--json"]) == 3
    assert '"verdict": "limit"' in capsys.readouterr().out
