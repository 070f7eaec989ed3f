"""Benchmark: from a step key to the repainted screen, seed-race and 64 CPUs x 256 LWPs.

Prints medians and p95 (ms); asserts nothing. Four figures per scenario:
  key->frame  from F11 sent to the app until the first frame written after
              the step (App._display: what a terminal would receive),
              Textual's frame pacing included. Issue 13's target.
  key->idle   Pilot presses F11 and waits until the app is idle again (the
              screen repainted); includes Textual's frame pacing.
  update      run_ddb('s') alone: the step plus every pane's new View.
  repaint     run_ddb('s'), then the layout and a full render of the screen,
              synchronously: the work between the key and the new frame.

    python benchmarks/tui_step.py [--steps N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from engine.scenario import Scenario, load, load_text
from tui.app import DdbstepApp


def big_scenario(ncpu: int = 64, nlwp: int = 256) -> Scenario:
    parts = ["[scenario]", 'title = "64 CPUs, 256 LWPs"', 'description = "generated"', "",
             "[kernel]", f"ncpu = {ncpu}", "fix = false", 'srcroot = "/usr/src"', ""]
    parts += ["[[lwp]]", "pid = 0", "lid = 1", 'comm = "system"', "cpu = 1",
              'program = "uvm_scheduler"', ""]
    for i in range(nlwp - 1):
        prog = "ioctl" if i % 4 == 0 else "hog"
        parts += ["[[lwp]]", f"pid = {1000 + i}", "lid = 1", f'comm = "{prog}{i}"',
                  f"cpu = {i % ncpu}", f'program = "{prog}"', ""]
    return load_text("\n".join(parts), "big.toml")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


async def measure(sc: Scenario, steps: int) -> dict[str, list[float]]:
    app = DdbstepApp(sc, blink=False)
    out: dict[str, list[float]] = {"key->frame": [], "key->idle": [], "update": [],
                                   "repaint": []}
    frames: list[float] = []
    display = app._display  # private: where a frame goes to the terminal

    def spy(screen, renderable):  # type: ignore[no-untyped-def]
        frames.append(time.perf_counter())
        return display(screen, renderable)

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app._display = spy  # type: ignore[method-assign]
        viewed: list[float] = []
        refresh_view = app.refresh_view

        def spy_view() -> None:
            refresh_view()
            viewed.append(time.perf_counter())

        app.refresh_view = spy_view  # type: ignore[method-assign]
        for _ in range(steps):
            await pilot.pause(0.05)
            frames.clear()
            viewed.clear()
            t0 = time.perf_counter()
            await pilot.press("f11")
            # the first frame written after the step's panes were updated
            while not viewed or not any(f > viewed[0] for f in frames):
                await asyncio.sleep(0.0005)
            out["key->frame"].append(next(f for f in frames if f > viewed[0]) - t0)
        for _ in range(steps):
            t0 = time.perf_counter()
            await pilot.press("f11")
            await pilot.pause()
            out["key->idle"].append(time.perf_counter() - t0)
        for _ in range(steps):
            t0 = time.perf_counter()
            app.run_ddb("s")
            out["update"].append(time.perf_counter() - t0)
            await pilot.pause()
        for _ in range(steps):
            t0 = time.perf_counter()
            app.run_ddb("s")
            app.screen._refresh_layout(app.size)  # private: the layout pass of a frame
            app.screen._compositor.render_update(full=True)
            out["repaint"].append(time.perf_counter() - t0)
            await pilot.pause()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    a = ap.parse_args()
    for name, sc in (("seed-race", load("seed-race")), ("64 CPUs x 256 LWPs", big_scenario())):
        res = asyncio.run(measure(sc, a.steps))
        for what, xs in res.items():
            ms = [x * 1e3 for x in xs]
            print(f"{name:<20} {what:<10} median {statistics.median(ms):7.1f} ms"
                  f"   p95 {pct(ms, 0.95):7.1f} ms   ({len(ms)} steps)")


if __name__ == "__main__":
    main()
