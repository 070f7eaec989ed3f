"""Scenario variants: the panic line, prompt and Stopped line follow the model."""

from __future__ import annotations

import re

import pytest

from engine import replay
from engine.scenario import load_text
from tests.conftest import lwp, scenario_text


def race_commands(sched_cpu: int, victim_cpu: int, target_cpu: int) -> list[str]:
    """The seed's interleaving, for any placement of lwp0 and the victim."""
    return [
        f"mach cpu {sched_cpu:#x}", "break kpause", "c", "delete kpause",
        f"mach cpu {victim_cpu:#x}", "break wm_ioctl", "c", "delete wm_ioctl",
        "hardclock,3", "s", "break sched_idle", "c", "n", "delete sched_idle",
        f"mach cpu {target_cpu:#x}", "c", "bt",
    ]


VARIANTS = [
    # 3 CPUs: sshd on CPU 1 (a hog queued behind it), lwp0 on CPU 2, CPU 0 idle.
    pytest.param(
        3,
        lwp(4242, 1, "sshd", 1, "ioctl") + lwp(300, 1, "burn", 1, "hog")
        + lwp(0, 1, "system", 2, "uvm_scheduler"),
        2, 1, 0, (4242, 1, "sshd"), id="3cpu-sshd",
    ),
    # 8 CPUs: named 777.3 on CPU 5, lwp0 on CPU 2, hogs everywhere but CPU 6.
    pytest.param(
        8,
        lwp(777, 3, "named", 5, "ioctl", priority=50) + lwp(12, 1, "cc1", 5, "hog")
        + "".join(lwp(20 + c, 1, "make", c, "hog") for c in (0, 1, 3, 4, 7))
        + lwp(0, 1, "system", 2, "uvm_scheduler"),
        2, 5, 6, (777, 3, "named"), id="8cpu-named",
    ),
]


@pytest.mark.parametrize(("ncpu", "lwps", "sched", "victim", "target", "who"), VARIANTS)
def test_variant_panics_from_victim_cpu_to_target_cpu(
    ncpu: int, lwps: str, sched: int, victim: int, target: int, who: tuple[int, int, str]
) -> None:
    sc = load_text(scenario_text(ncpu=ncpu, lwps=lwps), "variant.toml")
    res = replay.run(sc, race_commands(sched, victim, target))
    out = res.transcript
    pid, lid, comm = who
    assert (
        'panic: kernel diagnostic assertion "(psref->psref_cpu == curcpu())" failed: '
        'file "/usr/src/sys/kern/subr_psref.c", line 317 passive reference transferred '
        f"from CPU {victim} to CPU {target}\n"
    ) in out
    lwp_addr = res.session.kernel.lwps[0].addr
    assert f"curlwp {lwp_addr:#x} pid {pid}.{lid} lowest kstack" in out
    head = f"Stopped in pid {pid}.{lid} ({comm}) at"
    pad = " " * (8 - len(head) % 8)
    assert f"{head}{pad}netbsd:breakpoint+0x10: leave\ndb{{{target}}}> bt\n" in out
    frames = [line.split("(")[0] for line in out.split(f"db{{{target}}}> bt\n")[1].splitlines()]
    assert frames[:-1] == ["breakpoint", "vpanic", "kern_assert", "psref_release", "doifioctl",
                           "sys_ioctl", "syscall", "--- syscall "]
    # db_trace.c l.308-311: the user pc the syscall came from, no 0x.
    assert re.fullmatch(r"7f[0-9a-f]{10}:", frames[-1])
    # Same interleaving with the fix: no panic.
    fixed = replay.run(sc, race_commands(sched, victim, target), fix=True)
    assert fixed.session.kernel.panicstr is None
