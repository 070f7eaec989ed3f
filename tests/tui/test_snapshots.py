"""SVG snapshots of the app at 80x24, 120x40 and 200x60: start, mid-race, panic.

Compared with the committed files after removing the per-run class prefix
Textual puts in its SVGs. SNAPSHOT_UPDATE=1 rewrites them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from engine.scenario import load
from tui.app import DdbstepApp

HERE = Path(__file__).parent / "snapshots"
SEED = list(load("seed-race").commands)

CASES = {
    "start": ([], (120, 40)),
    # tcpdump bound, psref on CPU 0, migration planned
    "mid_race": (SEED[:SEED.index("show psref") + 1], (120, 40)),
    "panic": (SEED[:-1], (120, 40)),
    "mid_race_80x24": (SEED[:SEED.index("show psref") + 1], (80, 24)),
    "panic_80x24": (SEED[:-1], (80, 24)),
    "panic_200x60": (SEED[:-1], (200, 60)),
}


def normalize(svg: str) -> str:
    return re.sub(r"terminal-\d+", "terminal", svg)


async def shoot(case: tuple[list[str], tuple[int, int]]) -> str:
    commands, size = case
    app = DdbstepApp(load("seed-race"), blink=False)
    async with app.run_test(size=size) as pilot:
        for line in commands:
            app.run_ddb(line)
        await app.settle()
        # The screen at rest: under load a layout pass (80x24's compact
        # classes, the panic's bare CPU rows) or the transcript's scroll to
        # its end may still be queued after one pause; the transcript at its
        # end and two pictures in a row alike say they have run.
        log = app.query_one("#transcript")
        svg = ""
        for _ in range(100):
            await pilot.pause()
            again = normalize(app.export_screenshot(title="ddbstep"))
            if again == svg and log.is_vertical_scroll_end:
                break
            svg = again
        return svg


@pytest.mark.parametrize("name", list(CASES))
async def test_snapshot(name: str) -> None:
    svg = await shoot(CASES[name])
    path = HERE / f"{name}.svg"
    if os.environ.get("SNAPSHOT_UPDATE") == "1":
        path.write_text(svg)
    assert path.exists(), f"no snapshot {path}: run with SNAPSHOT_UPDATE=1"
    assert svg == path.read_text(), f"{name} differs from {path}"


async def test_snapshots_are_deterministic() -> None:
    assert await shoot(CASES["mid_race"]) == await shoot(CASES["mid_race"])
