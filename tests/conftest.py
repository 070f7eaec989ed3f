"""Shared helpers: scenarios built in code, sessions driven by ddb lines."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.ddb.db_command import Session
from engine.scenario import Scenario, load, load_text

# The project's root, wherever a test file sits below tests/.
ROOT = Path(__file__).resolve().parent.parent
# The real 2018 tree the model cites: $NETBSD_SRC (.ci/run sets it), else
# the shared copy beside the project (what the README's test command finds).
SHARED_SRC = ROOT.parent / "shared" / "reference" / "netbsd-src" / "post"


def netbsd_tree() -> Path | None:
    """The NetBSD tree to check against, or None if there is none."""
    named = os.environ.get("NETBSD_SRC")
    if named:
        return Path(named)  # named: it must be there (a test fails if not)
    return SHARED_SRC if SHARED_SRC.is_dir() else None


@pytest.fixture
def netbsd_src() -> Path:
    """The tree, for the tests that need it: only they skip without one."""
    tree = netbsd_tree()
    if tree is None:
        pytest.skip("no NetBSD tree: set NETBSD_SRC to the fixed 2018 tree"
                    " (../shared/reference/netbsd-src/post beside the project)")
    if not tree.is_dir():
        pytest.fail(f"NETBSD_SRC={tree} is not a directory")
    return tree


SEED_LINES = """\
panic: kernel diagnostic assertion "(psref->psref_cpu == curcpu())" failed: file "/(hidden)/sys/kern/subr_psref.c", line 317 passive reference transferred from CPU 0 to CPU 3
fatal breakpoint trap in supervisor mode
trap type 1 code 0 rip 0xffffffff8021ce28 cs 0x8 rflags 0x206 cr2 0x7f7ff7b0e020 ilevel 0 rsp 0xffff80003335fb60
curlwp 0xffffe40025abc480 pid 15571.1 lowest kstack 0xffff80003335c2c0
Stopped in pid 15571.1 (tcpdump) at     netbsd:breakpoint+0x10: leave
db{3}> bt
breakpoint() at netbsd:breakpoint+0x10
vpanic() at netbsd:vpanic+0x145
kern_assert() at netbsd:kern_assert+0x4d
psref_release() at netbsd:psref_release+0x25c
doifioctl() at netbsd:doifioctl+0x8ac
sys_ioctl() at netbsd:sys_ioctl+0x106
syscall() at netbsd:syscall+0x1f2
--- syscall (number 54) ---
"""


def scenario_text(
    ncpu: int = 4,
    lwps: str = "",
    fix: bool = False,
    extra: str = "",
    replay: str = "",
) -> str:
    return f"""
[scenario]
title = "test"
description = "built by a test"

[kernel]
ncpu = {ncpu}
fix = {"true" if fix else "false"}
srcroot = "/usr/src"
# One clock tick per round-robin slice (the kernel has hz / 10): test
# machines reach sched_tick's KPREEMPT in 3 ticks.
{"" if "rrticks" in extra else "rrticks = 1"}
{extra}
{lwps}
{replay}
"""


def lwp(pid: int, lid: int, comm: str, cpu: int, program: str, **kw: object) -> str:
    more = "".join(
        f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v) if isinstance(v, str) else v}\n"
        for k, v in kw.items()
    ).replace("'", '"')
    return (f"[[lwp]]\npid = {pid}\nlid = {lid}\ncomm = \"{comm}\"\ncpu = {cpu}\n"
            f"program = \"{program}\"\n{more}\n")


@pytest.fixture
def seed() -> Scenario:
    return load("seed-race")


@pytest.fixture
def make_session() -> Callable[..., Session]:
    def make(text: str, fix: bool | None = None) -> Session:
        return Session.start(load_text(text, "test.toml"), fix)

    return make


def drive(s: Session, *lines: str) -> str:
    out = []
    for line in lines:
        out.append((s.prompt + line).rstrip())
        text = s.execute(line)
        if text:
            out.append(text)
    return "\n".join(out)
