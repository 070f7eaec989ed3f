"""Golden transcripts: every bundled scenario's replay, byte for byte.

`ddbstep replay NAME` (the kernel the scenario names), `--fix` where that
kernel is the unfixed one, and `--markdown` are kept under tests/engine/golden/.
A change to any of them is a reviewed change of its golden file:
regenerate with `GOLDEN_UPDATE=1 pytest tests/engine/test_golden.py` and read
the diff. Each replay must also pass its own [expect], which fails a run
cut at $maxsteps or a `Symbol not found` the scenario does not allow.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.scenario import bundled, load
from tui.cli import main

GOLDEN = Path(__file__).parent / "golden"


def _cases() -> list[tuple[str, str, list[str]]]:
    out = []
    for name in bundled():
        out.append((name, f"{name}.txt", []))
        if not load(name).fix:
            out.append((name, f"{name}.fix.txt", ["--fix"]))
        out.append((name, f"{name}.md", ["--markdown"]))
    return out


@pytest.mark.parametrize(("name", "golden", "flags"), _cases(),
                         ids=[c[1] for c in _cases()])
def test_replay_matches_its_golden_file(capsys: pytest.CaptureFixture[str], name: str,
                                        golden: str, flags: list[str]) -> None:
    rc = main(["replay", name, *flags])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    path = GOLDEN / golden
    if os.environ.get("GOLDEN_UPDATE"):
        path.write_text(cap.out)
    assert path.exists(), f"{path} missing: GOLDEN_UPDATE=1 writes it"
    assert cap.out == path.read_text(), f"{golden} changed: review, then GOLDEN_UPDATE=1"


def test_every_golden_file_belongs_to_a_case() -> None:
    names = {c[1] for c in _cases()}
    assert {p.name for p in GOLDEN.iterdir()} == names


def test_a_replay_cut_at_maxsteps_or_naming_an_unknown_symbol_fails_unless_allowed() -> None:
    from engine import replay
    from engine.scenario import load_text
    from tests.conftest import lwp, scenario_text

    lwps = lwp(15571, 1, "tcpdump", 0, "ioctl") + lwp(1302, 1, "hog", 1, "hog")
    for cmds, phrase in ((["break nosuchfunc"], "Symbol not found"),
                         (["set $maxsteps = 50", "mach cpu 1", "c"], "stopped after $maxsteps")):
        sc = load_text(scenario_text(ncpu=2, lwps=lwps), "t.toml")
        res = replay.run(sc, cmds)
        assert not res.ok and phrase in res.why
        allowed = load_text(scenario_text(ncpu=2, lwps=lwps)
                            + f'\n[expect]\nallow = ["{phrase}"]\n', "t.toml")
        assert replay.run(allowed, cmds).ok
