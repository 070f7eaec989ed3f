"""The search in several processes (engine/explore/jobs.py) against the
one-process search: the same states, kept in the same order at the same
costs, the same transitions, verdicts, schedules and restarts, whatever
the number of processes, the compiled core or the pure Python.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import stepcache
from engine.explore import explore, search
from engine.footprint import Discipline
from engine.init_main import boot
from engine.kernel import Kernel
from engine.scenario import load, load_text
from tests.explore.test_explore_speed import BOUND, THREE, UNBOUND

ROOT = Path(__file__).resolve().parents[2]


def _search(k0: Kernel, **kw: Any) -> tuple[Any, ...]:
    kept: list[tuple[object, int]] = []
    r = explore(k0.copy(), on_store=lambda key, cost: kept.append((key, cost)), **kw)
    return (r.verdict, r.steps, r.states, r.transitions, r.depth, r.message, r.first_steps,
            r.restarts, [mv for mv, _, _ in r.schedule], [mv for mv, _, _ in r.best_schedule],
            kept)


@pytest.fixture
def alone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Searches in its scope take the slices in this one process."""
    monkeypatch.setattr(search, "_SLICES_ALONE", True)
    yield


def _every_way(k0: Kernel, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> tuple[Any, ...]:
    one = _search(k0, **kw)
    with monkeypatch.context() as m:
        m.setattr(search, "_SLICES_ALONE", True)
        assert _search(k0, **kw) == one, "slices in one process"
    assert _search(k0, jobs=2, **kw) == one, "two processes"
    assert _search(k0, jobs=3, **kw) == one, "three processes"
    return one


@pytest.mark.parametrize(("text", "ticks"), [(UNBOUND, 3), (BOUND, 3), (THREE, 1)])
def test_small_machines_search_the_same_in_any_number_of_processes(
        text: str, ticks: int, monkeypatch: pytest.MonkeyPatch) -> None:
    one = _every_way(boot(load_text(text, "t.toml")), monkeypatch, ticks=ticks)
    assert one[2] > 100 and one[0] in ("panic", "safe")  # (a search to its end)


def test_a_slice_smaller_than_a_cost_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    # Costs of more states than a slice: several slices a cost, and a
    # panic found in one of them.
    from engine.explore import jobs

    monkeypatch.setattr(jobs, "SLICE", 7)
    one = _every_way(boot(load("psref-unbound")), monkeypatch, first=False)
    assert one[0] == "panic" and one[2] > 7 * one[1]


@pytest.mark.parametrize("states", [1_000, 4_321])
def test_the_state_limit_is_met_at_the_same_state(states: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    one = _every_way(boot(load("seed-race-3x1")), monkeypatch, max_states=states, first=False)
    assert one[0] == "limit" and one[2] == states


def test_a_proof_a_bound_and_restarts_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = _every_way(boot(load("seed-race"), fix=True), monkeypatch, max_states=3_000)
    assert fixed[0] == "limit"
    bounded = _every_way(boot(load("seed-race-3x1")), monkeypatch, preemptions=1,
                         max_states=5_000)
    assert bounded[0] in ("panic", "bounded", "limit")
    # A discipline that does not hold: the search starts again on each field
    # found broken, in every process the same.
    k0 = boot(load_text(BOUND, "t.toml"))
    restarted = _every_way(k0, monkeypatch, ticks=2, discipline=Discipline(), first=False)
    assert restarted[7] > 0


def test_pure_python_in_two_processes_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    k0 = boot(load_text(THREE, "t.toml"))
    with_core = _search(k0, ticks=1)
    monkeypatch.setattr(stepcache, "_C", None)
    assert _search(k0, ticks=1, jobs=2) == with_core and with_core[0] == "safe"


def test_jobs_1_and_2_print_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "three.toml"
    path.write_text(THREE)
    outs = []
    for jobs in ("1", "2"):
        p = subprocess.run([sys.executable, "-m", "tui.cli", "explore", str(path), "--ticks",
                            "1", "--jobs", jobs], capture_output=True, text=True, cwd=ROOT,
                           check=False)
        assert p.returncode in (0, 1), p.stderr
        outs.append(p.stdout)
    assert outs[0] == outs[1] and "states" in outs[0]
    bad = subprocess.run([sys.executable, "-m", "tui.cli", "explore", str(path), "--jobs", "0"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert bad.returncode == 2 and "must be 1 or more: 0" in bad.stderr
    assert "Traceback" not in bad.stderr
