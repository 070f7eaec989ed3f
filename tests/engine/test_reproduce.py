"""`ddbstep reproduce LOG`: a console log's panic block becomes a machine,
a schedule and a scenario that replays to the same panic block."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine import replay
from engine.explore import explore, schedule_commands
from engine.init_main import boot
from engine.reproduce import LogError, parse, search
from engine.scenario import load_text
from tests.conftest import ROOT, SEED_LINES, lwp, scenario_text
from tui.cli import main


def email(block: str, width: int = 70) -> str:
    """The block as the report quotes it: indented, wrapped by the mailer."""
    out = []
    for line in block.splitlines():
        parts = textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
        out.append("  " + parts[0])
        out += parts[1:]
    return "\n".join(out)


NOISE_BEFORE = """\
[   1.000000] Copyright (c) 1996, 1997, 1998, 1999, 2000, 2001, 2002, 2003, 2004, 2005,
[   1.000000] NetBSD 8.99.25 (GENERIC) #0: Tue Nov 13 09:11:58 UTC 2018
[   1.000000] total memory = 8191 MB
"""


def test_the_seed_report_gives_a_scenario_that_prints_its_14_lines(tmp_path: Path,
                                                                     capsys: pytest.
                                                                     CaptureFixture[str]
                                                                     ) -> None:
    """Acceptance 1: the report's console output, as quoted (indented,
    wrapped), with the lines around it."""
    report = ROOT.parent / "shared" / "seed" / "panic-report.txt"
    text = (report.read_text() if report.is_file() else
            "I have been encountering the following panic\n\n" + email(SEED_LINES)
            + "\n\nThe panic indicates ...\n")
    log = tmp_path / "seed.log"
    log.write_text(NOISE_BEFORE + text)
    out = tmp_path / "repro.toml"
    assert main(["reproduce", str(log), "--emit", str(out)]) == 0
    said = capsys.readouterr().out
    assert "  = Stopped in pid 15571.1 (tcpdump) at     netbsd:breakpoint+0x10: leave" in said
    res = replay.run(replay.load(str(out)), list(replay.load(str(out)).commands))
    assert SEED_LINES in res.transcript and res.ok


def _log_of(text: str, boot_cpus: int | None) -> tuple[str, str]:
    """A machine the test defines, the explorer's panic on it replayed, and
    its panic block in a log with boot noise: (log, the block)."""
    sc = load_text(text, "machine.toml")
    res = explore(boot(sc), ticks=3, max_states=200_000, stop_at_best=True)
    assert res.verdict == "panic"
    transcript = replay.run(sc, schedule_commands(res)).transcript
    lines = transcript.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("panic: "))
    block = "\n".join(lines[start:])
    cpus = "".join(f"[   1.0{i}] cpu{i} at mainbus0 apid {i}: Intel(R) Xeon(R)\n"
                   for i in range(boot_cpus or 0))
    return NOISE_BEFORE + cpus + "[  12.5] wm0: link state UP\n" + block + "\nrebooting\n", block


MACHINES = {
    # 3 CPUs, the victim on cpu1 with lid 2, lwp0 on cpu0, a deep source root.
    "3cpu-dhcpcd": (scenario_text(ncpu=3, lwps=(
        lwp(812, 2, "dhcpcd", 1, "ioctl", addr=0xFFFFE40025ABD000, kstack=0xFFFF800033400000)
        + lwp(1301, 1, "hog", 1, "hog")
        + lwp(0, 1, "system", 0, "uvm_scheduler", name="swapper"))).replace(
        'srcroot = "/usr/src"', 'srcroot = "/home/build/src"'), None),
    # 4 CPUs named by the boot lines; the victim on cpu2, the target cpu0.
    "4cpu-sshd": (scenario_text(ncpu=4, lwps=(
        lwp(4242, 1, "sshd", 2, "ioctl") + lwp(900, 1, "hog", 2, "hog")
        + lwp(0, 1, "system", 3, "uvm_scheduler", name="swapper")
        + lwp(901, 1, "hog", 1, "hog"))), 4),
    # 4 CPUs, the victim on cpu3, two hogs behind it.
    "4cpu-named": (scenario_text(ncpu=4, lwps=(
        lwp(777, 3, "named", 3, "ioctl") + lwp(2000, 1, "hog", 3, "hog")
        + lwp(2001, 1, "hog", 3, "hog")
        + lwp(0, 1, "system", 0, "uvm_scheduler", name="swapper")
        + lwp(2002, 1, "hog", 2, "hog"))), None),
}


@pytest.mark.parametrize("name", list(MACHINES))
def test_logs_of_other_machines_get_a_scenario_with_the_same_panic_block(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Acceptance 2: the reproducer's replay prints the log's panic line,
    Stopped line and bt frames, on machines reproduce never saw."""
    text, boot_cpus = MACHINES[name]
    log, block = _log_of(text, boot_cpus)
    (tmp_path / "m.log").write_text(log)
    out = tmp_path / "r.toml"
    assert main(["reproduce", str(tmp_path / "m.log"), "--emit", str(out)]) == 0
    assert "reproducer:" in capsys.readouterr().out
    sc = replay.load(str(out))
    got = replay.run(sc, list(sc.commands)).transcript.splitlines()
    want = block.splitlines()
    panic_line = want[0]
    stopped = next(l for l in want if l.startswith("Stopped in"))
    frames = want[want.index(next(l for l in want if "> bt" in l)):]
    assert panic_line in got and stopped in got
    i = got.index(frames[0])
    assert got[i:i + len(frames)] == frames


def test_two_runs_on_the_same_log_are_byte_identical(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    log, _ = _log_of(MACHINES["3cpu-dhcpcd"][0], None)
    (tmp_path / "m.log").write_text(log)
    outs = []
    for _ in range(2):
        assert main(["reproduce", str(tmp_path / "m.log"), "--emit",
                     str(tmp_path / "r.toml")]) == 0
        outs.append((capsys.readouterr().out, (tmp_path / "r.toml").read_text()))
    assert outs[0] == outs[1]


def test_no_reproducer_on_two_cpus_writes_nothing(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """On 2 CPUs the race cannot happen (sched_takecpu keeps tcpdump home):
    what was searched is said, exit 0, nothing written."""
    block = SEED_LINES.replace("to CPU 3", "to CPU 1").replace("db{3}", "db{1}")
    boot_lines = "cpu0 at mainbus0 apid 0\ncpu1 at mainbus0 apid 1\n"
    (tmp_path / "two.log").write_text(boot_lines + block)
    out = tmp_path / "r.toml"
    assert main(["reproduce", str(tmp_path / "two.log"), "--emit", str(out),
                 "--max-states", "3000"]) == 0
    cap = capsys.readouterr()
    assert "2 CPUs: the log's boot lines" in cap.out
    assert cap.out.rstrip().endswith("no reproducer found")
    assert not out.exists() and "not written" in cap.err


@pytest.mark.parametrize(("data", "words"), [
    (b"\x7fELF\x00\x01\x02", "not a console log: binary data"),
    (b"", "empty log: no panic block"),
    (b"boot\nwm0: link up\n", "no panic block in the log"),
    (b"uvm_fault(0xffffffff80f6b4a8, 0x0, 1) -> e\nfatal page fault in supervisor mode\n",
     "a panic block of another kind"),
    (b'panic: kernel diagnostic assertion "(l->l_stat == LSONPROC)" failed: file'
     b' "/usr/src/sys/kern/kern_synch.c", line 520\n', "a panic of another kind"),
    (SEED_LINES.replace("to CPU 3", "to CPU 300").replace("db{3}", "db{300}").encode(),
     "the model has at most 256"),
])
def test_bad_logs_get_one_line(data: bytes, words: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.log").write_bytes(data)
    assert main(["reproduce", str(tmp_path / "x.log")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err


def test_the_goal_is_read_from_a_wrapped_block() -> None:
    g = parse("noise\n" + email(SEED_LINES) + "\n")
    assert (g.src_cpu, g.dst_cpu, g.cpu, g.pid, g.lid, g.comm) == (0, 3, 3, 15571, 1, "tcpdump")
    assert g.srcroot == "/(hidden)" and g.cr2 == 0x7F7FF7B0E020
    assert len(g.frames) == 8
    with pytest.raises(LogError):
        parse(SEED_LINES.split("db{3}")[0])  # no bt


def test_search_reports_each_line() -> None:
    m = search(parse(SEED_LINES))
    assert m.found and all(mark == "=" for mark, _, _ in m.lines)
