"""Make the README's pictures: the app at 120x40 right after the seed panic
(docs/screenshot.svg), and at 80x24, 120x40 and 200x60 (mid-race, mid-race,
after the panic and bt).

    python scripts/screenshot.py
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.scenario import load
from tui.snapshot import replay_svg

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    sc = load("seed-race")
    cmds = list(sc.commands)
    mid = cmds[:cmds.index("show psref") + 1]
    end = cmds[:cmds.index("bt") + 1]
    for name, commands, size in (
        ("screenshot", cmds[:-1], (120, 40)),
        ("screenshot-80x24", mid, (80, 24)),
        ("screenshot-120x40", mid, (120, 40)),
        ("screenshot-200x60", end, (200, 60)),
    ):
        svg = replay_svg(sc, commands, size=size)
        out = ROOT / "docs" / f"{name}.svg"
        out.write_text(re.sub(r"terminal-\d+", "terminal", svg))
        print(out)


if __name__ == "__main__":
    main()
