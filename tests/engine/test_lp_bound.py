"""The statements that write l_cpu, read from the model, each with its row."""

from __future__ import annotations

import attrs
import pytest

import engine.init_main  # noqa: F401  (registers every modeled function)
from engine import lp_bound
from engine.machine import FUNCS, S, kfunc


def test_every_writer_of_l_cpu_has_a_row_and_the_rows_are_writers() -> None:
    found = {(w.func, w.line) for w in lp_bound.writers()}
    assert found == set(lp_bound.GUARDS)
    assert ("lwp_migrate", 1345) in found and ("sched_idle", 632) in found


def test_a_new_writer_without_a_row_fails() -> None:
    def _move(x):  # type: ignore[no-untyped-def]
        x.l.l_cpu = 0

    kfunc("cpu_xc_offline_test", "sys/kern/kern_cpu.c", S(360, "l->l_cpu = tci;", _move))
    lp_bound.writers.cache_clear()
    try:
        lp_bound.writers()
    except KeyError as e:
        assert "cpu_xc_offline_test" in str(e)
    else:
        raise AssertionError("a writer without a row went unnoticed")
    finally:
        del FUNCS["cpu_xc_offline_test"]
        lp_bound.writers.cache_clear()


def test_the_table_says_which_guard_holds_on_each_kernel() -> None:
    unfixed = "\n".join(lp_bound.table(fix=False))
    fixed = "\n".join(lp_bound.table(fix=True))
    assert "sched_idle() sys/kern/kern_runq.c:632" in unfixed
    assert "guard: none (the fix adds sys/kern/kern_synch.c:579)" in unfixed
    assert "sys/kern/kern_synch.c:579: if (l->l_target_cpu != NULL" in fixed
    assert "lwp_migrate() sys/kern/kern_lwp.c:1345" in fixed
    assert fixed.count("guard: none") == 1  # lwp_migrate's LSSLEEP case


def test_every_caller_of_the_unguarded_writer_has_a_row_and_a_path() -> None:
    """lwp_migrate() tests nothing: each function the model has calling it
    (read from the statements) says what it tests first, and is a path."""
    from engine.callgraph import callees

    callers = {f for f in FUNCS if "lwp_migrate" in callees(f)}
    assert callers == set(lp_bound.CALLERS)
    named = " ".join(p.name for p in lp_bound.PATHS)
    for c in callers:
        assert c.removeprefix("sys_") in named, c
    assert lp_bound.CALLERS["sys__sched_setaffinity"] is None
    table = "\n".join(lp_bound.table(fix=True))
    assert "called from cpu_xc_offline(): sys/kern/kern_cpu.c:360" in table


def test_every_writer_has_a_bundled_scenario_that_reaches_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each path is driven by bundled scenarios with a bound psref holder,
    and the replay of each runs the writing statement (inside an interrupt
    too) -- except where the path's guard is the point: a scenario whose
    holder stays put shows the guard, and its replay need not write."""
    from engine import replay
    from engine.scenario import bundled, load

    assert {p.writer for p in lp_bound.PATHS} == set(lp_bound.GUARDS)
    assert len(lp_bound.PATHS) >= 5
    for path in lp_bound.PATHS:
        (func, line), names = path.shown_at(), path.scenarios
        f = FUNCS[func]
        i = next(j for j, st in enumerate(f.stmts) if st.line == line)
        for name in names:
            assert name in bundled(), name
            ran: list[int] = []

            def spy(x, op=f.stmts[i].op, ran=ran):  # type: ignore[no-untyped-def]
                ran.append(1)
                return op(x)

            stmts = list(f.stmts)
            stmts[i] = attrs.evolve(stmts[i], op=spy)
            monkeypatch.setitem(FUNCS, func, attrs.evolve(f, stmts=tuple(stmts)))
            sc = load(name)
            res = replay.run(sc, list(sc.commands))
            assert res.ok, (name, res.why)
            assert ran, f"{name} never runs {func}() l.{line}"
            monkeypatch.setitem(FUNCS, func, f)
