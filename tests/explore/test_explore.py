"""The explorer: shortest panics, safe proofs on small machines, sound reductions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine import replay
from engine.explore import check_invariants, explore_scenario, schedule_commands
from engine.init_main import boot
from engine.scenario import load, load_text
from tests.conftest import lwp, scenario_text
from tui.cli import main

# Two CPUs, one bound ioctl caller and nothing that plans migrations: safe.
SMALL_SAFE = scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl"))
# The same caller, unbound (a forgotten curlwp_bind): panics.
SMALL_UNBOUND = scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl", bind=False))


def run(text: str, **kw: object):  # type: ignore[no-untyped-def]
    return explore_scenario(load_text(text, "t.toml"), **kw)


@pytest.mark.parametrize("ticks", [0, 1, 2])
def test_reductions_keep_verdicts_and_shortest_lengths(ticks: int) -> None:
    for text, verdict in ((SMALL_SAFE, "safe"), (SMALL_UNBOUND, "panic")):
        plain = run(text, ticks=ticks, por=False)
        reduced = run(text, ticks=ticks, por=True)
        assert plain.verdict == reduced.verdict == verdict
        if verdict == "panic":
            assert plain.steps == reduced.steps
        assert reduced.states <= plain.states


def test_hashing_matches_a_brute_force_tree_search() -> None:
    # One CPU and one clock tick: the unhashed tree stays small enough to walk.
    text = scenario_text(ncpu=1, lwps=lwp(9, 1, "ifconfig", 0, "ioctl", bind=False))
    brute = run(text, ticks=1, por=False, hashing=False)
    hashed = run(text, ticks=1, por=False, hashing=True)
    assert brute.verdict == hashed.verdict == "panic"
    assert brute.steps == hashed.steps


def test_two_runs_give_the_same_schedule_and_counts() -> None:
    a = run(SMALL_UNBOUND, ticks=1)
    b = run(SMALL_UNBOUND, ticks=1)
    assert (a.states, a.transitions, a.steps) == (b.states, b.transitions, b.steps)
    assert schedule_commands(a) == schedule_commands(b)


def test_psref_unbound_scenario_panics_in_the_cpu_local_kassert() -> None:
    res = explore_scenario(load("psref-unbound"))
    assert res.verdict == "panic"
    assert "passive references are CPU-local" in res.message
    assert ", line 303 " in res.message


def test_emitted_schedule_replays_to_the_same_panic(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "shortest.toml"
    assert main(["explore", "psref-unbound", "--emit", str(out)]) == 1
    text = capsys.readouterr().out
    assert "verdict: panic" in text and "cpu0  812.1 ifconfig" in text
    sc = load(str(out))
    res = replay.run(sc, sc.commands)
    assert res.ok and res.session.kernel.panicstr is not None
    first = explore_scenario(load("psref-unbound"))
    assert res.session.kernel.panicstr == first.message


def test_json_and_exit_status_for_a_safe_machine(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "safe.toml"
    path.write_text(SMALL_SAFE)
    assert main(["explore", str(path), "--json", "--ticks", "1"]) == 0
    fig = json.loads(capsys.readouterr().out)
    assert fig["verdict"] == "safe" and fig["states"] > 10 and fig["transitions"] >= fig["states"]


def test_invariants_name_what_is_broken() -> None:
    k = boot(load("seed-race"))
    assert check_invariants(k) is None
    k.cpus[2].runq = k.cpus[0].runq  # the queued hog on two run queues
    assert check_invariants(k) is not None
    k = boot(load("seed-race"))
    k.cpus[0].spc_migrating = 0  # tcpdump runs, it is not queued
    assert check_invariants(k) == "spc_migrating of cpu0 is not queued on cpu0"
    k = boot(load("seed-race"))
    k.cpus[0].psrefs = (0,)
    k.cpus[1].psrefs = (0,)
    assert check_invariants(k) == "psref 0 is on 2 CPU lists"


def test_setaffinity_sleeping_panics_even_with_the_fix_and_names_lwp_migrate() -> None:
    sc = load("setaffinity-sleeping")
    assert sc.fix
    # The clock plays no part on this path; without it the search takes well under a second.
    res = explore_scenario(sc, ticks=0)
    assert res.verdict == "panic"
    assert res.message.endswith("passive reference transferred from CPU 0 to CPU 1")
    from engine.explore import movers

    assert movers(res) and "lwp_migrate() on cpu1 moved 15571.1 (tcpdump)" in movers(res)[0]


def test_the_fix_is_safe_on_a_machine_without_lwp_migrate_callers() -> None:
    # Bound caller, a planned migration already set, preemption by the clock: with
    # the fix no interleaving moves the psref holder.
    text = SMALL_SAFE.replace('program = "ioctl"', 'program = "ioctl"\n')
    sc = load_text(text, "t.toml")
    k = boot(sc, fix=True)
    k.lwps[0].l_target_cpu = 1
    from engine.explore import explore

    fixed = explore(k, ticks=3)
    assert fixed.verdict == "safe"
    k2 = boot(sc, fix=False)
    k2.lwps[0].l_target_cpu = 1
    buggy = explore(k2, ticks=3)
    assert buggy.verdict == "panic"
    assert buggy.message.endswith("transferred from CPU 0 to CPU 1")


@pytest.mark.parametrize("name", ["seed-race", "seed-race-fixed", "psref-unbound",
                                  "setaffinity-sleeping", "seed-race-4x2", "seed-race-3x1"])
def test_every_bundled_scenario_replays_to_its_expectation(name: str) -> None:
    sc = load(name)
    res = replay.run(sc, sc.commands)
    assert res.ok, res.why


@pytest.mark.slow
def test_torture_is_deterministic_and_emits_a_replayable_failure(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "fail.toml"
    args = ["torture", "setaffinity-sleeping", "--runs", "100", "--seed", "1"]
    assert main(args + ["--emit", str(out)]) == 1
    first = capsys.readouterr().out
    assert main(args) == 1
    assert capsys.readouterr().out.splitlines()[1:] == first.splitlines()[1:]
    assert re.search(r"^first failing seed: \d+: panic: ", first, re.M)
    sc = load(str(out))
    assert replay.run(sc, sc.commands).ok


def test_torture_without_a_panic_says_what_that_means(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["torture", "seed-race", "--fix", "--runs", "3", "--seed", "1",
                 "--max-steps", "50"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("0 of 3 runs panicked")
    assert "`ddbstep explore seed-race --fix`" in out


def test_the_search_finds_the_broken_lock_assumptions_itself() -> None:
    # Start from the full discipline (no random warm-up): every unlocked
    # access the search meets weakens it and the search starts again; the
    # verdict and the shortest panic are those of the plain search.
    from engine.explore import explore
    from engine.footprint import Discipline

    k = boot(load_text(SMALL_UNBOUND, "t.toml"))
    learned = explore(k, ticks=1, discipline=Discipline())
    plain = explore(k, ticks=1, por=False)
    assert learned.restarts > 0
    assert learned.verdict == plain.verdict == "panic"
    assert len(learned.schedule) >= plain.steps


@pytest.mark.parametrize("flag", ["--no-por", "--no-hash", "--no-reduce", "--no-sleep"])
def test_each_reduction_can_be_switched_off_from_the_command_line(
        flag: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "unbound.toml"
    path.write_text(scenario_text(ncpu=1, lwps=lwp(9, 1, "ifconfig", 0, "ioctl", bind=False)))
    assert main(["explore", str(path), "--json", "--ticks", "1"]) == 1
    reduced = json.loads(capsys.readouterr().out)
    assert main(["explore", str(path), "--json", "--ticks", "1", flag]) == 1
    plain = json.loads(capsys.readouterr().out)
    assert plain["verdict"] == reduced["verdict"] == "panic"
    assert plain["steps"] == reduced["steps"]


def test_the_same_figures_whatever_python_hash_seed(tmp_path: Path) -> None:
    # Visited states are kept as hashes; str hashes change with PYTHONHASHSEED,
    # the search order and its figures must not.
    import os
    import re
    import subprocess
    import sys

    path = tmp_path / "unbound.toml"
    path.write_text(SMALL_UNBOUND)
    outs = []
    for seed in ("1", "2"):
        p = subprocess.run([sys.executable, "-m", "tui.cli", "explore", str(path), "--ticks", "1"],
                           capture_output=True, text=True, check=False,
                           env={**os.environ, "PYTHONHASHSEED": seed})
        assert p.returncode == 1
        outs.append([re.sub(r"[\d.]+ s$", "", line) for line in p.stdout.splitlines()])
    assert outs[0] == outs[1] and any("verdict: panic" in line for line in outs[0])


# hz = 16: hardscheddiv = hz / 16 = 1 (kern_clock.c l.192), so after its first
# tick an idle CPU's spc_schedticks stays at 1 and a further tick changes
# nothing but the clock budget (at hz = 100 the countdown differs each tick).
TICKLESS_IDLE = "hz = 16"


@pytest.mark.parametrize("text", [
    scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl"), extra=TICKLESS_IDLE),
    scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl", bind=False),
                  extra=TICKLESS_IDLE),
])
def test_a_state_seen_with_more_clock_budget_is_not_searched_again(text: str) -> None:
    # A tick on the idle CPU changes nothing but the budget: that state is
    # subsumed by the one before it, and verdicts and lengths stay put.
    whole = run(text, ticks=2, por=False, subsume=False)
    pruned = run(text, ticks=2, por=False)
    assert (pruned.verdict, pruned.steps) == (whole.verdict, whole.steps)
    assert pruned.states < whole.states
    assert run(text, ticks=2).verdict == whole.verdict


@pytest.mark.parametrize(("rrticks", "note"), [(10, True), (1, False)])
def test_a_verdict_names_its_clock_budget_and_says_when_it_cannot_preempt(
        rrticks: int, note: bool, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Issue 31 point 6: under the kernel's default rrticks (hz / 10) three
    ticks reach no round-robin kernel preemption (sched_tick: SEENRR,
    SHOULDYIELD, then RESCHED_KPREEMPT, one every rrticks ticks): "safe"
    there is vacuous about it, and the output says so; at rrticks 1 the
    verdict still names its budget."""
    text = scenario_text(ncpu=1, lwps=lwp(15571, 1, "tcpdump", 0, "ioctl"),
                         extra=f"rrticks = {rrticks}")
    path = tmp_path / "one.toml"
    path.write_text(text)
    assert main(["explore", str(path), "--ticks", "3"]) == 0
    out = capsys.readouterr().out
    assert f"verdict: safe within 3 clock ticks at rrticks {rrticks}: " in out
    assert ("note: the clock budget (3 ticks) cannot reach a round-robin kernel preemption"
            f" at rrticks {rrticks}" in out) is note
    if note:
        assert f"(--ticks {3 * rrticks} would)" in out
    assert "verdict: safe:" not in out
    assert main(["explore", str(path), "--ticks", "3", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["bounds"] == {"ticks": 3, "rrticks": rrticks, "max_states": 50_000_000,
                                 "max_steps": 10_000, "preemptions": None,
                                 "reaches_kpreempt": not note}
