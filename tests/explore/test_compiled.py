"""The compiled step cache (engine/_stepcache.c) against the Python it
compiles: the same states, kept in the same order at the same costs, the
same transitions, verdicts and schedules. The Python is the oracle.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from engine import stepcache
from engine.explore import explore
from engine.init_main import boot
from engine.kernel import Kernel
from engine.scenario import load, load_text
from tests.explore.test_explore_speed import BOUND, THREE, UNBOUND

ROOT = Path(__file__).resolve().parents[2]


def test_the_core_is_built_where_a_compiler_is() -> None:
    # `pip install .` builds it wherever a C compiler is (CI's machines):
    # a build that broke would otherwise only make every search slower.
    if os.environ.get("DDBSTEP_PURE", "") not in ("", "0"):
        assert stepcache._C is None and "DDBSTEP_PURE" in stepcache.core()
    elif shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc"):
        assert stepcache._C is not None, stepcache.core()
        assert stepcache.core().startswith("compiled")


@pytest.fixture
def pure(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The searches in its scope run engine/stepcache.py alone."""
    monkeypatch.setattr(stepcache, "_C", None)
    yield


def _search(k0: Kernel, **kw: Any) -> tuple[Any, ...]:
    kept: list[tuple[object, int]] = []
    r = explore(k0, on_store=lambda key, cost: kept.append((key, cost)), **kw)
    return (r.verdict, r.steps, r.states, r.transitions, r.depth, r.message, r.first_steps,
            r.restarts, [mv for mv, _, _ in r.schedule], [mv for mv, _, _ in r.best_schedule],
            kept)


def _both(k0: Kernel, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> tuple[Any, Any]:
    if stepcache._C is None:
        pytest.fail(f"no compiled core to compare: {stepcache.core()}")
    compiled = _search(k0.copy(), **kw)
    with monkeypatch.context() as m:
        m.setattr(stepcache, "_C", None)
        oracle = _search(k0.copy(), **kw)
    return compiled, oracle


@pytest.mark.parametrize(("text", "ticks"), [(UNBOUND, 1), (BOUND, 3), (THREE, 0), (THREE, 2)])
def test_small_machines_search_the_same(text: str, ticks: int,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    k0 = boot(load_text(text, "t.toml"))
    compiled, oracle = _both(k0, monkeypatch, ticks=ticks)
    assert compiled == oracle
    assert compiled[2] > 1  # (a search, not a start state)


@pytest.mark.parametrize("states", [300, 3_000, 20_000])
def test_prefixes_of_the_three_cpu_race_search_the_same(states: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    k0 = boot(load("seed-race-3x1"))
    compiled, oracle = _both(k0, monkeypatch, max_states=states, first=False)
    assert compiled == oracle
    assert compiled[0] == "limit" and compiled[2] == states


def test_the_fast_search_and_the_shortest_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    k0 = boot(load("seed-race-3x1"))
    compiled, oracle = _both(k0, monkeypatch, max_states=2_000)
    assert compiled == oracle
    assert compiled[6] is not None and compiled[9]  # (a first panic, shortened)


def test_a_preemption_bound_and_a_fix_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    k0 = boot(load("seed-race-3x1"))
    compiled, oracle = _both(k0, monkeypatch, preemptions=1, max_states=5_000)
    assert compiled == oracle
    fixed = boot(load("seed-race"), fix=True)
    compiled, oracle = _both(fixed, monkeypatch, max_states=5_000)
    assert compiled == oracle


def test_pure_python_prints_the_same_bytes(tmp_path: Path) -> None:
    # DDBSTEP_PURE=1 (as a machine without a compiler runs): the same
    # output, byte for byte; only the version line says which ran.
    path = tmp_path / "bound.toml"
    path.write_text(BOUND)
    outs = {}
    for pure in ("0", "1"):
        env = {**os.environ, "DDBSTEP_PURE": pure}
        p = subprocess.run([sys.executable, "-m", "tui.cli", "explore", str(path),
                            "--ticks", "2"], capture_output=True, text=True, env=env,
                           cwd=ROOT, check=False)
        assert p.returncode == 0, p.stderr
        v = subprocess.run([sys.executable, "-m", "tui.cli", "--version"], capture_output=True,
                           text=True, env=env, cwd=ROOT, check=False)
        outs[pure] = (p.stdout, v.stdout)
    assert outs["0"][0] == outs["1"][0] and "safe" in outs["0"][0]
    assert "pure Python (DDBSTEP_PURE)" in outs["1"][1]
    assert "pure Python" not in outs["0"][1] or stepcache._C is None


def test_packed_states_are_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The frontier's packed states, packed and unpacked by each, along a
    # random walk of the three-CPU race (and with a clock past two bytes).
    from engine import intr
    from engine.explore import traced_moves
    from engine.footprint import KNOWN
    from engine.stepcache import StepCache

    if stepcache._C is None:
        pytest.fail(f"no compiled core to compare: {stepcache.core()}")
    k0 = boot(load("seed-race-3x1"))
    sc = StepCache(KNOWN)
    k = sc.intern(k0.copy())
    rng = intr.SplitMix64(7)
    like = sc.intern(k0.copy())
    packs = 0
    for i in range(300):
        if i == 150:
            k.hardclock_ticks = 70_000
            k._fp = k._tl = None  # (hashed afresh)
        compiled = sc.pack(k)
        with monkeypatch.context() as m:
            m.setattr(stepcache, "_C", None)
            oracle = sc.pack(k)
            back_oracle = sc.unpack(compiled, like)
        assert compiled == oracle
        back = sc.unpack(oracle, like)
        assert back.key() == k.key() == back_oracle.key()
        assert back.fingerprint() == k.fingerprint() == back_oracle.fingerprint()
        assert back.tail_hash() == k.tail_hash()
        # (The hashes the compiled code computed, against the Python's afresh.)
        again = attrs.evolve(k)
        assert (again.fingerprint(), again.tail_hash()) == (k.fingerprint(), k.tail_hash())
        packs += 1
        succ = traced_moves(k, 3, KNOWN, None, sc)
        if not succ or k.panicstr is not None:
            break
        k = succ[rng.below(len(succ))][1]
    assert packs > 100


def test_without_the_core_the_python_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a machine where pip could not build it: the import fails, the
    # Python runs, and `--version` says why.
    monkeypatch.setitem(sys.modules, "_ddbstep_stepcache", None)  # (import raises)
    monkeypatch.delenv("DDBSTEP_PURE", raising=False)
    assert stepcache._compiled() is None
    monkeypatch.setattr(stepcache, "_C", None)
    assert stepcache.core() == "pure Python (_ddbstep_stepcache not built)"
    monkeypatch.setenv("DDBSTEP_PURE", "1")
    assert stepcache.core() == "pure Python (DDBSTEP_PURE)"
