"""The scenario schema is written once, on the attrs fields: the loader's
key tables and dump() are built from them."""

from __future__ import annotations

import attrs
import pytest

from engine import scenario
from engine.scenario import LwpSpec, ScenarioError, bundled, dump, load, load_text


def test_key_tables_are_the_fields() -> None:
    assert set(scenario._LWP) == {f.name for f in attrs.fields(LwpSpec)}
    assert scenario._LWP["pid"] == (int, True) and scenario._LWP["sleep"] == (bool, False)
    assert set(scenario._KERNEL) == {"ncpu", "fix", "srcroot", "srcdir", "hz", "rrticks", "checks",
                                     "hardclock_ticks", "net_mpsafe"}
    assert scenario._REPLAY == {"commands": (list, True), "narration": (list, False)}


@pytest.mark.parametrize("name", list(bundled()))
def test_dump_then_load_gives_the_same_machine(name: str) -> None:
    sc = load(name)
    again = load_text(dump(sc, sc.commands, sc.fix, sc.expect.panic, sc.expect.message),
                      "again.toml")
    for f in ("ncpu", "fix", "srcroot", "hz", "rrticks", "hardclock_ticks", "lwps", "cpus",
              "interfaces", "commands", "net_mpsafe"):
        assert getattr(again, f) == getattr(sc, f), f


def test_a_range_in_the_field_is_checked_with_its_words() -> None:
    text = dump(load("seed-race"), [], False, None, None).replace("pid = 15571", "pid = 100000")
    with pytest.raises(ScenarioError, match=r"again.toml:\d+: pid 100000 out of range \(0-99999\)"):
        load_text(text, "again.toml")
