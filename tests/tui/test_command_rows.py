"""One row per ddb command: help, the palette, completion, pin and the
app's worker choice read the command table's Entry, nothing else."""

from __future__ import annotations

import pytest

from engine.ddb import db_table
from engine.ddb.db_command import Session, parse
from engine.ddb.db_session import Cmd, Entry
from engine.scenario import load
from tui.commands import palette_entries
from tui.widgets.console import complete


def db_ticks_cmd(s: Session, cmd: Cmd) -> str:
    """A new command for the test: run n statements on the selected CPU."""
    return s.execute(f"s,{cmd.count or 1}")


ROW = Entry("ticks", db_ticks_cmd, "run n statements on the selected CPU", "[,n]",
            extra=True, runs=True, count_runs=True)


@pytest.fixture
def with_row(monkeypatch: pytest.MonkeyPatch) -> None:
    table = dict(db_table.TABLE)
    table["ticks"] = ROW
    monkeypatch.setattr(db_table, "TABLE", table)
    monkeypatch.setitem(db_table.TABLES, "base", table)


def test_a_new_row_is_all_it_takes(with_row: None) -> None:
    s = Session.start(load("seed-race"))
    # the interpreter runs it
    assert "Stopped in" in s.execute("ticks,3")
    # help lists it with its own words
    assert "  ticks[,n]         run n statements on the selected CPU" in s.execute("help")
    # the palette offers it
    assert ("ticks", "ddbstep: run n statements on the selected CPU [,n]", False) in \
        palette_entries(4)
    # completion knows it
    assert complete("tic") == ("ticks ", [])
    # the worker choice: with a count it runs long, alone it does not
    cmd, entry = parse(s, "ticks,40") or (None, None)
    assert entry is ROW and cmd is not None and cmd.count == 0x40
    from tui.app import DdbstepApp

    app = DdbstepApp(load("seed-race"))
    assert app._is_run("ticks,40") and not app._is_run("ticks")
    # pin refuses a run command, by its row
    assert "not run commands" in s.execute("pin ticks,2")


def test_the_rows_carry_what_was_spread_over_eight_places() -> None:
    t, show = db_table.TABLE, db_table.SHOW
    assert t["c"].runs and t["search"].runs and t["follow"].runs and not t["bt"].runs
    assert t["s"].count_runs and not t["c"].count_runs
    assert t["break"].address and t["x"].address and not t["c"].address
    assert t["break"].prefill and show["proc"].prefill and not show["panic"].prefill
    assert t["watch"].args == "address[,size]"  # db_command.c 1.160's own text
    assert db_table.MACHINE["cpu"].descr == "switch to another cpu"  # amd64 db_interface.c
    lines = [line for line, _, _ in palette_entries(2)]
    assert {"c/a", "search/s", "follow/a", "show lwp", "mach cpu 1"} <= set(lines)
