"""The explorer's speed-ups change nothing it answers: the step cache, the
packed frontier, and the fast first panic before the shortest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import replay
from engine.explore import ample_chain, explore, replay_moves, traced_moves
from engine.footprint import KNOWN, Discipline, traced_step
from engine.init_main import boot
from engine.scenario import Scenario, load, load_text
from engine.stepcache import StepCache
from tests.conftest import lwp, scenario_text
from tui.cli import main

# Two CPUs: an unbound ioctl caller and a hog (panics); the same bound (safe).
UNBOUND = scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl", bind=False)
                        + lwp(20, 1, "hog", 1, "hog"))
BOUND = scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl")
                      + lwp(20, 1, "hog", 1, "hog"))


# Three CPUs, the bound caller and two hogs, one queued behind it: safe, and
# room for edges that commute.
THREE = scenario_text(ncpu=3, lwps=lwp(9, 1, "ifconfig", 0, "ioctl")
                      + lwp(20, 1, "hog", 1, "hog") + lwp(21, 1, "hog", 0, "hog"))


def scenario(name_or_text: str) -> Scenario:
    """A bundled scenario by name, or one from its text."""
    return load(name_or_text) if "\n" not in name_or_text else load_text(name_or_text, "t.toml")


def figures(name_or_text: str, **kw: object) -> tuple[str, int, int, int]:
    r = explore(boot(scenario(name_or_text)), **kw)  # type: ignore[arg-type]
    return r.verdict, r.steps, r.states, r.transitions


@pytest.mark.parametrize("text", [UNBOUND, BOUND])
@pytest.mark.parametrize("ticks", [0, 2])
def test_the_cache_keeps_every_count(text: str, ticks: int) -> None:
    cached = figures(text, ticks=ticks, cache=True, first=False)
    plain = figures(text, ticks=ticks, cache=False, first=False)
    assert cached == plain
    assert cached[0] == ("panic" if text is UNBOUND else "safe")


def test_the_cache_keeps_every_count_on_a_bundled_race() -> None:
    # setaffinity-sleeping without the clock: lwp_migrate's race, ~1 s.
    assert (figures("setaffinity-sleeping", ticks=0, cache=True, first=False)
            == figures("setaffinity-sleeping", ticks=0, cache=False, first=False))


def test_a_cached_transition_is_the_transition() -> None:
    # Every transition of many states, from the cache (a second time, so
    # from a hit) and computed afresh, gives the same kernel and footprint.
    k0 = boot(load_text(UNBOUND, "t.toml"))
    sc = StepCache(KNOWN)
    k = sc.intern(k0.copy())
    todo, seen = [k], set()
    while todo and len(seen) < 400:
        k = todo.pop()
        if k.fingerprint() in seen:
            continue
        seen.add(k.fingerprint())
        for ci in range(len(k.cpus)):
            for _ in range(2):
                n, fp = sc.step(k, ci)
            m, gp = traced_step(k, ci, KNOWN)
            assert n.key() == m.key() and (n is k) == (m is k)
            # The fingerprint the cache carried along is the one computed afresh.
            assert n.fingerprint() == sc.unpack(sc.pack(n), k0).fingerprint()
            assert (fp.visible, fp.violation, fp.acc, fp.wr) == (gp.visible, gp.violation,
                                                                 gp.acc, gp.wr)
            if n is not k and n.panicstr is None:
                todo.append(n)
    assert sc.hits >= sc.misses > 0


def test_the_packed_state_round_trips_every_state_of_a_search() -> None:
    k0 = boot(load_text(UNBOUND, "t.toml"))
    sc = StepCache(KNOWN)
    k = sc.intern(k0.copy())
    todo, seen = [(k, 2)], set()
    while todo:
        k, t = todo.pop()
        if (k.fingerprint(), t) in seen:
            continue
        seen.add((k.fingerprint(), t))
        back = sc.unpack(sc.pack(k), k0)
        assert back.key() == k.key() and back.fingerprint() == k.fingerprint()
        assert back.msgbuf == k.msgbuf
        todo += [(n, nt) for _, n, nt in traced_moves(k, t, KNOWN, None, sc)
                 if n.panicstr is None]
    assert len(seen) > 100


def test_a_traced_statement_may_not_walk_the_lock_table() -> None:
    # Reads the tracer cannot name would make the cache answer wrongly.
    from engine import footprint, machine

    k = boot(load_text(UNBOUND, "t.toml"))
    saved = machine._exec

    def walks(n, ci):  # type: ignore[no-untyped-def]
        list(n.locks.items())
        return saved(n, ci)

    machine._exec = walks  # type: ignore[assignment]
    try:
        with pytest.raises(TypeError, match="look up a lock by its name"):
            footprint.traced_step(k, 0, Discipline())
    finally:
        machine._exec = saved
    traced_step(k, 0, Discipline())  # (and all is as before)


def test_the_first_panic_comes_first_and_bounds_the_shortest() -> None:
    sc = load_text(UNBOUND, "t.toml")
    seen = []
    full = explore(boot(sc), ticks=1, on_first=seen.append)
    plain = explore(boot(sc), ticks=1, first=False)
    assert full.verdict == plain.verdict == "panic"
    assert full.steps == plain.steps  # the bound changes nothing found
    assert len(seen) == 1 and seen[0].verdict == "panic"
    assert full.first_steps == seen[0].steps >= full.steps
    # The first schedule is real: replayed from boot, it panics the same way.
    out = replay_moves(boot(sc), [mv for mv, _, _ in seen[0].schedule])
    assert out and out[-1][2].panicstr == seen[0].message == full.message


def test_the_fast_search_is_bounded_by_counts_not_time() -> None:
    from engine.explore import first_search

    k0 = boot(load_text(BOUND, "t.toml"))
    sc = StepCache(KNOWN)
    k, pre = ample_chain(sc.intern(k0.copy()), 1, KNOWN, cache=sc)
    assert first_search(k, 1, KNOWN, sc, budget=50)[1] <= 50
    mvs, states, _ = first_search(k, 1, KNOWN, sc)
    assert mvs is None and states > 50  # the fixed caller: nothing to find


def test_the_swarm_finds_the_race_in_a_few_thousand_states() -> None:
    """seed-race-3x1: the fast search finds a panic in at most 5,000 states
    (the single depth-first order that tries CPU 0 first needed 1,573; the
    uniform-cost search needs 408,564 for the shortest), before any warm-up
    walk, and the schedule replays from boot to the same panic."""
    seen = []
    res = explore(boot(load("seed-race-3x1")), first_only=True, on_first=seen.append)
    assert res.verdict == "panic" and res.restarts == 0
    assert len(seen) == 1 and seen[0].states <= 5_000
    out = replay_moves(boot(load("seed-race-3x1")), [mv for mv, _, _ in res.schedule])
    assert out and out[-1][2].panicstr == res.message
    assert "passive reference transferred" in res.message


def test_the_fast_search_keeps_below_its_limit() -> None:
    """first_search(limit=L) finds only schedules of fewer than L steps: at
    the shortest length the plain search proves, it finds none."""
    from engine.explore import first_search

    sc_ = load_text(UNBOUND, "t.toml")
    shortest = explore(boot(sc_), ticks=1, por=False, first=False).steps
    sc = StepCache(KNOWN)
    k0 = sc.intern(boot(sc_).copy())
    k, pre = ample_chain(k0, 1, KNOWN, cache=sc)
    mvs, _, _ = first_search(k, 1, KNOWN, sc)
    assert mvs is not None and len(pre) + len(mvs) >= shortest
    found, _, _ = first_search(k, 1, KNOWN, sc, limit=shortest - len(pre))
    assert found is None
    mvs, _, _ = first_search(k, 1, KNOWN, sc, limit=shortest - len(pre) + 1)
    assert mvs is not None and len(pre) + len(mvs) == shortest
    out = replay_moves(boot(sc_), pre + mvs)
    assert out and out[-1][2].panicstr is not None


def test_the_first_panic_is_shortened_before_the_shortest_search() -> None:
    """seed-race-3x1: the fast search's first panic (a depth-first find,
    an ioctl of tcpdump's loop more than it needs) is shortened by the same
    search bounded below it; the shorter schedule is real (it replays to
    the same panic), comes after the first, and is what a search stopped
    by its bound reports."""
    firsts, shorter = [], []
    res = explore(boot(load("seed-race-3x1")), max_states=200,
                  on_first=firsts.append, on_shorter=shorter.append)
    assert res.verdict == "limit"
    assert len(firsts) == len(shorter) == 1
    assert shorter[0].steps < firsts[0].steps == res.first_steps
    assert res.best_schedule == shorter[0].schedule
    out = replay_moves(boot(load("seed-race-3x1")), [mv for mv, _, _ in shorter[0].schedule])
    assert out and len(out) == shorter[0].steps
    assert out[-1][2].panicstr == shorter[0].message == firsts[0].message
    # --first stops at the first: nothing is shortened.
    again: list[object] = []
    only = explore(boot(load("seed-race-3x1")), first_only=True, on_shorter=again.append)
    assert only.steps == firsts[0].steps and not again


def test_the_key_set_is_a_set() -> None:
    from engine.explore import KeySet
    from engine.intr import SplitMix64

    rng = SplitMix64(7)
    keys = [0, 1, 2, 1 << 63, (1 << 64) - 1] + [rng.next() for _ in range(5000)]
    # (Some keys land on one another's slots: the low bits of a few repeat.)
    keys += [k ^ (1 << 40) for k in keys[:300]]
    ks, ref = KeySet(8), set()
    for i, k in enumerate(keys):
        assert (k in ks) == (k in ref or (k == 1 and 0 in ref) or (k == 0 and 1 in ref))
        ks.add(k)
        ref.add(k)
        if i % 7 == 0:
            ks.add(k)  # (again: no change)
    assert all(k in ks for k in ref)
    assert len(ks) == len(ref) - 1  # 0 and 1 are one key
    assert not any(rng.next() in ks for _ in range(1000))


def test_cli_first_then_shortest_emit_and_identical_runs(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "unbound.toml"
    path.write_text(UNBOUND)
    out = tmp_path / "best.toml"
    assert main(["explore", str(path), "--ticks", "1", "--emit", str(out)]) == 1
    text = capsys.readouterr().out
    assert text.index("first panic found (") < text.index("shortest panic (")
    assert main(["explore", str(path), "--ticks", "1"]) == 1
    assert capsys.readouterr().out == text  # byte for byte (times go to stderr)
    sc = load(str(out))
    res = replay.run(sc, sc.commands)
    assert res.ok and res.session.kernel.panicstr is not None
    assert main(["explore", str(path), "--ticks", "1", "--first", "--json"]) == 1
    fig = json.loads(capsys.readouterr().out)
    assert fig["verdict"] == "panic" and fig["steps"] == fig["first_steps"]
    assert main(["explore", str(path), "--ticks", "1", "--json"]) == 1
    fig2 = json.loads(capsys.readouterr().out)
    assert fig2["first_steps"] == fig["first_steps"] and fig2["steps"] <= fig2["first_steps"]
    assert fig2["first_seconds"] <= fig2["seconds"]


def test_fingerprints_do_not_collide_over_a_whole_search(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A fingerprint is a sum of the structures' hashes; Python's tuple hash
    # changes by the same amount for the same change wherever it is, so the
    # raw hashes summed collided (3 times in this search) and made the
    # search's counts depend on where objects happened to live.
    import engine.explore as E
    import engine.explore.expand as expand

    fps: dict[int, object] = {}
    collisions = []
    traced = E.traced_moves

    def watching(k, t, d, *rest):  # type: ignore[no-untyped-def]
        out = traced(k, t, d, *rest)
        for x in [k] + [n for _, n, _ in out]:
            key = x.key()
            if fps.setdefault(x.fingerprint(), key) != key:
                collisions.append(x.fingerprint())
        return out

    monkeypatch.setattr(expand, "traced_moves", watching)
    res = E.explore(boot(load("seed-race-3x1")), ticks=1, first=False)
    assert res.verdict == "safe" and len(fps) > 50_000
    assert collisions == []


@pytest.mark.slow
def test_the_same_counts_in_every_process() -> None:
    import os
    import subprocess
    import sys

    outs = set()
    for seed in ("1", "2", "3"):
        p = subprocess.run([sys.executable, "-m", "tui.cli", "explore", "seed-race-3x1",
                            "--ticks", "1", "--json"], capture_output=True, text=True,
                           check=False, env={**os.environ, "PYTHONHASHSEED": seed})
        assert p.returncode == 0, p.stderr
        fig = json.loads(p.stdout)
        outs.add((fig["verdict"], fig["states"], fig["transitions"]))
    assert len(outs) == 1


def kept(text: str, **kw: object) -> tuple[tuple[str, int, int, int], dict[object, int]]:
    """figures(), and the cost each state was kept at."""
    costs: dict[object, int] = {}
    r = explore(boot(scenario(text)), on_store=costs.__setitem__, **kw)  # type: ignore[arg-type]
    return (r.verdict, r.steps, r.states, r.transitions), costs


@pytest.mark.parametrize(("text", "ticks"), [(BOUND, 3), (THREE, 0), (THREE, 2)])
def test_sleep_sets_keep_every_state_at_its_cost(text: str, ticks: int) -> None:
    # (Without subsumption: whether a state is subsumed depends on what was
    # put before it, and sleep sets change that order; see below.)
    plain, plain_costs = kept(text, ticks=ticks, first=False, sleep=False, subsume=False)
    slept, slept_costs = kept(text, ticks=ticks, first=False, sleep=True, subsume=False)
    assert plain[0] == slept[0] == "safe"
    # The same states, each at the same least cost: only moves are saved.
    assert slept_costs == plain_costs
    assert slept[1:3] == plain[1:3]
    assert slept[3] < plain[3]
    # With subsumption the same answer, fewer moves still.
    plain, _ = kept(text, ticks=ticks, first=False, sleep=False)
    slept, _ = kept(text, ticks=ticks, first=False, sleep=True)
    assert plain[:2] == slept[:2] and slept[3] < plain[3]


@pytest.mark.parametrize(("text", "ticks"), [(UNBOUND, 3), ("psref-unbound", 3),
                                             ("setaffinity-sleeping", 0)])
def test_sleep_sets_keep_the_shortest_panic(text: str, ticks: int) -> None:
    sc = scenario(text)
    plain = explore(boot(sc), ticks=ticks, first=False, sleep=False)
    slept = explore(boot(sc), ticks=ticks, first=False, sleep=True)
    assert plain.verdict == slept.verdict == "panic"
    assert plain.steps == slept.steps
    assert plain.message == slept.message
    assert slept.transitions < plain.transitions
    # A schedule of the search's own moves, replayed from boot.
    out = replay_moves(boot(sc), [mv for mv, _, _ in slept.schedule])
    assert out is not None and out[-1][2].panicstr == slept.message


def test_the_packed_state_holds_a_clock_past_two_bytes() -> None:
    # Two bytes a number while every number fits; a clock past 65535 packs in four.
    k0 = boot(load_text(UNBOUND, "t.toml"))
    sc = StepCache(KNOWN)
    small = sc.pack(sc.intern(k0.copy()))
    k = sc.intern(k0.copy())
    k.hardclock_ticks = 1 << 20
    big = sc.pack(k)
    # (Each ends with the state's two 8-byte hashes.)
    assert len(big) - 16 == 2 * (len(small) - 16)
    back = sc.unpack(big, k0)
    assert back.hardclock_ticks == 1 << 20 and back.key() == k.key()
    fresh = sc.intern(back.copy())
    assert back.fingerprint() == fresh.fingerprint() != sc.unpack(small, k0).fingerprint()


def test_an_open_state_comes_back_as_it_was_kept() -> None:
    from engine.explore import move
    from engine.explore.visited import _Seen

    seen = _Seen()
    sleepers = ((move("step", 1), 0b101, 0b1), (move("hardclock", 0), 1 << 70, 0))
    seen.put(7, 12, b"\x01\x02\x03\x04", 2, b"\x05\x81\x01", sleepers)
    seen.put(8, 300_000, b"\xff" * 8, 0, b"", ())
    assert seen.cost_of(7) == 12 and seen.open_cost(8) == 300_000
    seen.put(7, 11, b"\x01\x02\x03\x04", 3, b"\x05", sleepers)  # cheaper
    assert seen.close(7) == (11, b"\x01\x02\x03\x04", 3, b"\x05", sleepers, 0)
    assert seen.open_cost(7) is None and seen.cost_of(7) is not None
    # Without a step cache the kernel itself is kept.
    k = object()
    seen.put(9, 5, k, 1, b"\x02", ())
    assert seen.close(9) == (5, k, 1, b"\x02", ())[:5] + (0,)
    # A preemption-bounded search keeps the preemptions left.
    seen.put(10, 6, b"\x07", 2, b"", (), 3)
    assert seen.close(10) == (6, b"\x07", 2, b"", (), 3)
