"""search, follow, show plan: the race reached from any state, walked at one's pace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import replay
from engine.ddb.db_command import Session
from engine.scenario import load, load_text
from tests.conftest import drive, lwp, scenario_text
from tui.cli import main

PANIC = re.compile(r'^panic: kernel diagnostic assertion "\(psref->psref_cpu == curcpu\(\)\)"'
                   r' failed: file "[^"]+/sys/kern/subr_psref\.c", line 317 passive reference'
                   r" transferred from CPU (\d+) to CPU (\d+)$", re.M)


def replay_script(tmp_path: Path, capsys, scenario: str, *lines: str,  # type: ignore[no-untyped-def]
                  fix: bool = False) -> tuple[int, str]:
    script = tmp_path / "script.txt"
    script.write_text("\n".join(lines) + "\n")
    rc = main(["replay", scenario, "--script", str(script)] + (["--fix"] if fix else []))
    return rc, capsys.readouterr().out


def test_search_follow_bt_reach_the_seed_panic_and_replay_byte_identical(
        tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out = replay_script(tmp_path, capsys, "seed-race", "search", "follow/a", "bt")
    assert rc == 0
    m = PANIC.search(out)
    assert m is not None and m.group(1) != m.group(2)
    assert re.search(r"^Stopped in pid 15571\.1 \(tcpdump\) at\s+netbsd:breakpoint\+0x10:", out,
                     re.M)
    assert re.search(r"^psref_release\(\) at netbsd:psref_release\+0x[0-9a-f]+$", out, re.M)
    # search said what it found: a length, the CPUs, the race's events in order
    head = out.split("db{0}> follow/a")[0]
    assert "a panic" in head and "CPUs that move:" in head
    kinds = re.findall(r"^  step \d+\s+cpu\d  (\S+)", head, re.M)
    for earlier, later in (("target", "LP_BOUND"), ("LP_BOUND", "psref"),
                           ("psref", "migrating"), ("migrating", "migrated"),
                           ("migrated", "KASSERT")):
        assert kinds.index(earlier) < kinds.index(later)
    assert kinds[-1] == "KASSERT"
    rc2, again = replay_script(tmp_path, capsys, "seed-race", "search", "follow/a", "bt")
    assert again == out and rc2 == rc


@pytest.mark.slow
def test_search_on_the_fixed_seed_finds_no_panic_and_says_it_is_a_bound(
        tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out = replay_script(tmp_path, capsys, "seed-race", "set $searchstates = 0t3000",
                            "search", fix=True)
    assert rc == 0
    assert "panic:" not in out
    said = out.split("db{0}> search\n")[1]
    assert "a bound, not a proof" in said and "3000 states" in said
    assert "safe" not in said and "proved" not in said


# Two CPUs, a bound ioctl caller, nothing that plans a migration: the
# explorer ends, so search can prove it.
SMALL_SAFE = scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl"))


def test_search_proves_no_panic_only_when_the_search_was_exhaustive() -> None:
    s = Session.start(load_text(SMALL_SAFE, "t.toml"), True)
    out = s.execute("search")
    assert "no panic is reachable from here: proved" in out
    assert re.search(r"proved, \d+ states explored \(3 clock interrupts at most", out)
    assert s.plan is None
    t = Session.start(load_text(SMALL_SAFE, "t.toml"), True)
    t.execute("set $searchstates = 0t5")
    bounded = t.execute("search")
    assert "no panic found within 5 states: a bound, not a proof" in bounded
    assert "proved" not in bounded and "safe" not in bounded


# Other machines: other CPU counts, pids, comms; the race must be found and
# walked to its panic as on the seed.
MACHINES = [
    pytest.param(3, lwp(4242, 1, "sshd", 1, "ioctl") + lwp(300, 1, "burn", 1, "hog")
                 + lwp(0, 1, "system", 2, "uvm_scheduler"), (4242, 1, "sshd"), 1,
                 id="3cpu-sshd"),
    pytest.param(3, lwp(61, 2, "dhcpcd", 2, "ioctl") + lwp(70, 1, "spin", 2, "hog")
                 + lwp(0, 1, "system", 0, "uvm_scheduler"), (61, 2, "dhcpcd"), 2,
                 id="3cpu-dhcpcd-lid2"),
]


@pytest.mark.parametrize(("ncpu", "lwps", "who", "victim"), MACHINES)
def test_search_and_follow_on_other_machines(ncpu: int, lwps: str, who: tuple[int, int, str],
                                             victim: int) -> None:
    sc = load_text(scenario_text(ncpu=ncpu, lwps=lwps), "other.toml")
    res = replay.run(sc, ["search", "follow/a", "bt"])
    out = res.transcript
    pid, lid, comm = who
    m = PANIC.search(out)
    assert m is not None, out
    assert int(m.group(1)) == victim and int(m.group(2)) != victim
    assert re.search(rf"^Stopped in pid {pid}\.{lid} \({comm}\) at", out, re.M)
    k = res.session.kernel
    assert k.panicstr is not None and k.paniccpu == int(m.group(2))
    assert res.session.cpu == k.paniccpu  # the prompt is the panicking CPU's
    assert re.search(r"^psref_release\(\) at netbsd:psref_release\+0x[0-9a-f]+$", out, re.M)


def test_follow_stops_at_each_race_event_on_the_cpu_that_moved() -> None:
    s = Session.start(load("seed-race"))
    s.execute("search")
    plan = s.plan
    assert plan is not None and plan.kernels[-1].panicstr is not None
    stops = plan.stops()
    out = s.execute("follow")
    assert s.plan_at == stops[0] + 1
    assert s.cpu == plan.moves[stops[0]].cpu
    assert "fatal trace trap in supervisor mode" in out
    assert re.search(r"^Stopped in pid \d+\.\d+ \(\S+\) at\s+netbsd:", out, re.M)
    assert f"[ddbstep] plan {stops[0] + 1}/{len(plan.moves)}: " in out
    s.execute("follow,2")
    assert s.plan_at == stops[2] + 1
    listing = s.execute("show plan")
    assert f"{len(plan.moves)} steps" in listing and f"{s.plan_at} walked" in listing
    assert len([ln for ln in listing.splitlines() if ln.startswith(">")]) == 1


def test_a_command_off_the_plan_ends_it_and_undo_brings_it_back() -> None:
    s = Session.start(load("seed-race"))
    s.execute("search")
    s.execute("follow")
    at = s.plan_at
    # A clock tick on CPU 2 (the hog's) where the plan has none next: off it.
    nxt = s.plan.moves[s.plan_at]  # type: ignore[union-attr]
    assert (nxt.kind, nxt.cpu) != ("hardclock", 2)
    out = drive(s, "mach cpu 2", "hardclock")
    assert "[ddbstep] the plan ends: this command left it" in out
    assert s.plan is None
    assert "no plan" in s.execute("follow")
    s.execute("undo")  # the follow above refused, nothing to undo there: the hardclock
    assert s.plan is not None and s.plan_at == at
    out = s.execute("follow/a")
    assert s.kernel.panicstr is not None and "the end of the plan" in out


def test_a_step_along_the_plan_keeps_it() -> None:
    s = Session.start(load("seed-race"))
    s.execute("search")
    plan = s.plan
    assert plan is not None
    mv = plan.moves[0]
    drive(s, f"mach cpu {mv.cpu}", "s" if mv.kind == "step" else mv.kind)
    assert s.plan is plan and s.plan_at == 1


def test_search_after_a_panic_and_ddbs_memory_search_say_why_not() -> None:
    s = Session.start(load("seed-race"))
    assert "is not modeled" in s.execute("search 0xffffffff80000000 5")
    assert s.execute("search/q") == "Bad modifier"
    s.execute("search")
    s.execute("follow/a")
    assert "the kernel has panicked" in s.execute("search")
    assert "walked to its end" in s.execute("follow")


def test_a_misspelt_script_line_stops_the_replay_with_file_and_line(
        tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out = replay_script(tmp_path, capsys, "seed-race", "mach cpu 1", "# a comment",
                            "brake sched_idle")
    err = capsys.readouterr().err
    assert rc == 2 and out == ""
    then = tmp_path / "then.txt"
    then.write_text("bt\nfolow\n")
    assert main(["replay", "seed-race", "--then", str(then)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"ddbstep: {then}:2: No such command: folow"


def test_replay_takes_a_path_and_a_bad_svg_path_is_one_line(
        tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (sub / "m.toml").write_text(SMALL_SAFE)
    assert main(["replay", str(sub / "m.toml")]) == 0
    capsys.readouterr()
    assert main(["replay", "psref-unbound", "--svg", str(tmp_path / "no" / "x.svg")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"ddbstep: {tmp_path / 'no' / 'x.svg'}: cannot write: No such file or"
                   " directory"]


def test_a_refused_interrupt_names_the_lock_its_cpu_and_lwp() -> None:
    """deliver() refuses a handler that would spin on a spin mutex another
    CPU holds (machine.deliver_into): the refusal names it, its CPU and
    that CPU's LWP, as `show mutexes` does. hardclock -> schedclock ->
    sched_schedclock takes lwp_lock(l) (sched_4bsd.c l.416) at tick 0."""
    s = Session.start(load("seed-race"))
    k = s.kernel.copy()
    k.locks[k.lwps[0].l_mutex] = 1  # tcpdump's lwp lock, held by CPU 1 (lwp0)
    s.kernel = k
    assert s.execute("hardclock") == (
        "hardclock: refused: it would spin on cpu0: cpu0.spc_lwplock, held by cpu1"
        " (curlwp 0.1 swapper), taken before this session looked")
    assert s.steps == 0
    masked = Session.start(load("seed-race"))
    k = masked.kernel.copy()
    k.cpus[0].ci_ilevel = 7
    masked.kernel = k
    assert masked.execute("hardclock") == "hardclock: cpu0 is at ilevel 0x7: interrupt masked"
