"""Make docs/screenshot.svg: the app at 120x40 right after the seed panic.

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
    svg = replay_svg(sc, list(sc.commands)[:-1])
    out = ROOT / "docs" / "screenshot.svg"
    out.write_text(re.sub(r"terminal-\d+", "terminal", svg))
    print(out)


if __name__ == "__main__":
    main()
