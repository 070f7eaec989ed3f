"""The interrupts that may come, once for ddb's runs and the explorer.

Two sources: each CPU's clock (hardclock, at IPL_CLOCK) and the device
interrupt of an interface an LWP sleeps on (slpdev_intr, at IPL_VM; the
synthetic driver's, engine/slpdev.py). A CPU whose IPL masks one does not
take it now (engine.machine.deliver refuses it). When an interrupt source
is added to the model, it is added here, and `c/a`, `search`, `torture`
and `explore` see the same schedules.

The seeded generator c/a and the explorer's random walks draw from is
here too, so that both stay reproducible on every Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.kernel import Kernel
from engine.param import IPL_CLOCK, IPL_VM, LSSLEEP

# An interrupt's kind -> (its handler, the IPL it runs at).
SOURCES: dict[str, tuple[str, int]] = {
    "hardclock": ("hardclock", IPL_CLOCK),
    "intr": ("slpdev_intr", IPL_VM),
}
# The handlers engine.machine.deliver() runs for them.
HANDLERS: tuple[str, ...] = tuple(h for h, _ in SOURCES.values())


def devices_waited_on(k: Kernel) -> list[str]:
    """Interfaces an LWP sleeps on: their interrupt would wake it."""
    names = {i.if_xname for i in k.ifnets}
    return sorted({l.l_wchan for l in k.lwps if l.l_stat == LSSLEEP and l.l_wchan in names})


def pending(k: Kernel, cpus: list[int], clock: bool = True,
            devices: bool = True) -> list[tuple[str, int, str | None]]:
    """(kind, cpu, device) of every interrupt that may come now on cpus: the
    clock on each (if clock), then each waited-on device's on each (if
    devices)."""
    return pending_on(cpus, clock, tuple(devices_waited_on(k)) if devices else ())


def pending_on(cpus: Sequence[int], clock: bool, devices: tuple[str, ...]
               ) -> list[tuple[str, int, str | None]]:
    """pending(), the devices waited on given (devices_waited_on)."""
    out: list[tuple[str, int, str | None]] = (
        [("hardclock", ci, None) for ci in cpus] if clock else [])
    for dev in devices:
        out += [("intr", ci, dev) for ci in cpus]
    return out


def handler(kind: str, dev: str | None = None) -> tuple[str, int, dict[str, str]]:
    """An interrupt's handler, its IPL and its arguments."""
    func, ipl = SOURCES[kind]
    return func, ipl, ({"dev": dev or ""} if kind == "intr" else {})


class SplitMix64:
    """A seeded generator that is the same on every Python."""

    def __init__(self, seed: int) -> None:
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n
