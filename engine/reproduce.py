"""From a console log to a reproducer (`ddbstep reproduce LOG`).

A bug reaches a kernel developer as a console log: the panic line, the
trap lines, ddb's `Stopped in` line and a `bt`. This module reads that
block out of a log (boot messages and other noise around it, lines an
e-mail wrapped), makes it a goal (the KASSERT with its CPUs and source
root, the panicking CPU, the LWP's pid.lid and comm, its address and
kernel stack, the frames), builds a machine from it, asks the explorer
for a schedule that panics the same way, and checks the scenario it
would write by replaying it: only a scenario whose replay prints the
log's panic line, `Stopped in` line and frames is ever written.

The one panic the model reproduces is psref_release()'s "passive
reference transferred" KASSERT (subr_psref.c 1.11 l.315-317) on the
doifioctl() path; any other panic block is refused in one line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import attrs

from engine.explore import FIRST_STATES, explore, schedule_commands
from engine.init_main import boot
from engine.replay import run
from engine.scenario import MAX_CPUS, CpuSpec, LwpSpec, Scenario, dump, load_text

# The KASSERTMSG of psref_release(), as the kernel prints it.
TRANSFER = re.compile(
    r'panic: kernel diagnostic assertion "\(psref->psref_cpu == curcpu\(\)\)" failed: '
    r'file "(?P<root>.*)/sys/kern/subr_psref\.c", line (?P<line>\d+) '
    r"passive reference transferred from CPU (?P<src>\d+) to CPU (?P<dst>\d+)$")
TRAP = re.compile(r"trap type \d+ code \S+ rip \S+ cs \S+ rflags \S+ cr2 (?P<cr2>\S+) "
                  r"ilevel \S+ rsp \S+$")
CURLWP = re.compile(r"curlwp (?P<addr>0x[0-9a-f]+) pid (?P<pid>\d+)\.(?P<lid>\d+) "
                    r"lowest kstack (?P<kstack>0x[0-9a-f]+)$")
STOPPED = re.compile(r"Stopped in pid (?P<pid>\d+)\.(?P<lid>\d+) \((?P<comm>.*)\) at\s+(?P<at>.*)$")
PROMPT = re.compile(r"db\{(?P<cpu>\d+)\}> ?(?P<cmd>.*)$")
FRAME = re.compile(r"(?P<func>[A-Za-z_]\w*)\(\) at (?P<at>\S+)$")
BOOT_CPU = re.compile(r"^cpu(?P<n>\d+) at ")
# Where a line of the panic block begins; anything else in the block
# continues the line before (an e-mail or a terminal wrapped it).
STARTS = re.compile(r"(panic: |fatal |trap type |curlwp |Stopped in |db\{\d+\}>|"
                    r"[A-Za-z_]\w*\(\) at |--- |[0-9a-f]+:$|uvm_fault|cpu\d+ at )")
# The frames of the doifioctl() path down from the KASSERT, as ddb prints them.
IOCTL_PATH = ("breakpoint", "vpanic", "kern_assert", "psref_release", "doifioctl",
              "sys_ioctl", "syscall")


class LogError(Exception):
    """A log that holds no panic block this model reproduces: one line."""


@attrs.frozen
class Goal:
    """What the log's panic block says."""

    lines: tuple[str, ...]  # the block, each line unwrapped and unindented
    panic: str  # the panic line
    srcroot: str
    src_cpu: int  # "transferred from CPU src to CPU dst"
    dst_cpu: int
    cpu: int  # the panicking CPU (db{N}>)
    pid: int
    lid: int
    comm: str
    stopped: str  # the Stopped in line
    frames: tuple[str, ...]  # the bt lines, `--- syscall` included
    addr: int | None = None  # curlwp
    kstack: int | None = None
    cr2: int | None = None
    ncpu: int | None = None  # from the boot lines' cpuN at ...


def _logical_lines(text: str) -> list[str]:
    """The log's lines, unindented and unquoted; inside a panic block a line
    that starts nothing known continues the one before."""
    out: list[str] = []
    in_block = False
    for raw in text.splitlines():
        line = re.sub(r"^(\s*>)*\s*", "", raw).rstrip()
        if not line:
            # A blank line ends the block, but not right after its panic line.
            if out and not out[-1].startswith("panic:"):
                in_block = False
            out.append("")
            continue
        if line.startswith("panic: ") or line.startswith("uvm_fault"):
            in_block = True
            out.append(line)
        elif in_block and out and out[-1] and not STARTS.match(line):
            out[-1] += " " + line
        else:
            out.append(line)
    return out


def parse(text: str) -> Goal:
    """The goal a log's panic block sets, or LogError with one line."""
    if "\x00" in text:
        raise LogError("not a console log: binary data")
    lines = _logical_lines(text)
    if not any(lines):
        raise LogError("empty log: no panic block")
    start = next((i for i, l in enumerate(lines) if l.startswith("panic: ")), None)
    if start is None:
        fault = next((l for l in lines if l.startswith("uvm_fault") or "fatal page fault" in l),
                     None)
        if fault is not None:
            raise LogError(f"a panic block of another kind: {fault[:100]!r}: this model"
                           " reproduces psref_release()'s \"passive reference transferred\""
                           " KASSERT")
        raise LogError("no panic block in the log (no `panic:` line)")
    m = TRANSFER.match(lines[start])
    if m is None:
        raise LogError(f"a panic of another kind: {lines[start][:120]!r}: this model"
                       " reproduces psref_release()'s \"passive reference transferred\" KASSERT")
    src, dst = int(m["src"]), int(m["dst"])
    boot_cpus = [int(b["n"]) for line in lines[:start] if (b := BOOT_CPU.match(line))]
    named = [src, dst] + boot_cpus
    block = [lines[start]]
    addr = kstack = cr2 = None
    stopped = None
    cpu = None
    frames: list[str] = []
    pid = lid = None
    comm = ""
    for line in lines[start + 1:]:
        if not line:
            if frames:
                break
            continue
        if (t := TRAP.match(line)) is not None:
            cr2 = int(t["cr2"], 16) if t["cr2"] != "0" else 0
        elif (c := CURLWP.match(line)) is not None:
            addr, kstack = int(c["addr"], 16), int(c["kstack"], 16)
        elif (st := STOPPED.match(line)) is not None:
            stopped = line
            pid, lid, comm = int(st["pid"]), int(st["lid"]), st["comm"]
        elif (p := PROMPT.match(line)) is not None:
            if frames:
                break
            if p["cmd"].split("/")[0].strip() not in ("bt", "trace"):
                continue
            cpu = int(p["cpu"])
        elif cpu is not None and (FRAME.match(line) or line.startswith("--- ")):
            frames.append(line)
        elif cpu is not None and frames and re.fullmatch(r"[0-9a-f]+:", line):
            continue  # the user pc: the model's text is its own
        elif not line.startswith("fatal "):
            if frames:
                break
            continue
        block.append(line)
    if stopped is None or pid is None or lid is None:
        raise LogError("the panic block has no `Stopped in pid P.L (COMM)` line")
    if cpu is None or not frames:
        raise LogError("the panic block has no `db{N}> bt` with its frames")
    named.append(cpu)
    if max(named) >= MAX_CPUS:
        raise LogError(f"the log names CPU {max(named)}: the model has at most {MAX_CPUS}")
    names = tuple(FRAME.match(f)["func"] for f in frames if FRAME.match(f))  # type: ignore[index]
    if names[:len(IOCTL_PATH)] != IOCTL_PATH:
        raise LogError(f"frames {' <- '.join(names)}: this model reproduces the doifioctl()"
                       " path (" + " <- ".join(IOCTL_PATH) + ")")
    return Goal(tuple(block), lines[start], m["root"], src, dst, cpu, pid, lid, comm, stopped,
                tuple(frames), addr, kstack, cr2, max(boot_cpus) + 1 if boot_cpus else None)


@attrs.frozen
class Machine:
    scenario: Scenario
    why: tuple[str, ...]  # what was chosen and why, a line each


def build(goal: Goal) -> Machine:
    """The machine the log's panic needs (see the module's docstring)."""
    why = []
    if goal.ncpu is not None:
        ncpu = goal.ncpu
        why.append(f"{ncpu} CPUs: the log's boot lines (cpu0 .. cpu{ncpu - 1} at mainbus0)")
    else:
        ncpu = max(3, goal.src_cpu + 1, goal.dst_cpu + 1, goal.cpu + 1)
        why.append(f"{ncpu} CPUs: the CPUs the log names (cpu{goal.src_cpu}, cpu{goal.dst_cpu})"
                   ", three at least (the race needs an LWP queued behind the victim and a"
                   " third CPU)")
    v, t = goal.src_cpu, goal.dst_cpu
    free = [c for c in range(ncpu) if c not in (v, t)]
    home = free[0] if free else t
    pids = iter(p for p in range(1301, 100000) if p != goal.pid)
    lwps = [LwpSpec(pid=goal.pid, lid=goal.lid, comm=goal.comm, cpu=v, program="ioctl",
                    addr=goal.addr, kstack=goal.kstack, ifname="wm0")]
    why.append(f"cpu{v}: {goal.comm} {goal.pid}.{goal.lid}, the log's LWP, calls ioctl()"
               " on wm0 (its frames: doifioctl <- sys_ioctl <- syscall)")
    hog = next(pids)
    lwps.append(LwpSpec(pid=hog, lid=1, comm="hog", cpu=v, program="hog"))
    why.append(f"cpu{v}: hog {hog}.1 queued behind it (sched_takecpu() keeps an LWP home"
               " while its CPU's run queue is empty: the plan needs work waiting there)")
    lwps.append(LwpSpec(pid=0, lid=1, comm="system", cpu=home, program="uvm_scheduler",
                        name="swapper"))
    why.append(f"cpu{home}: lwp0 in uvm_scheduler(): its sched_pstats() plans the migration")
    for c in free[1:]:
        p = next(pids)
        lwps.append(LwpSpec(pid=p, lid=1, comm="hog", cpu=c, program="hog"))
        why.append(f"cpu{c}: hog {p}.1, so that cpu{t} is the least loaded CPU")
    why.append(f"cpu{t}: idle, the log's target (sched_takecpu() picks the least loaded)")
    why.append(f"srcroot {goal.srcroot!r} from the panic line; unfixed kernel; rrticks = 1"
               " (a round-robin slice of one tick, as in the bundled scenarios)")
    cpus = (CpuSpec(goal.cpu, goal.cr2),) if goal.cr2 else ()
    text = dump(Scenario(
        path="log.toml", title="", description="", ncpu=ncpu, fix=False, srcroot=goal.srcroot,
        rrticks=1, lwps=tuple(lwps), cpus=cpus), [], False, None, None,
        title="t", description="d")
    return Machine(load_text(text, "log.toml"), tuple(why))


@attrs.frozen
class Match:
    found: bool
    machine: Machine
    states: int
    seconds: float
    steps: int
    commands: tuple[str, ...] = ()
    lines: tuple[tuple[str, str, str], ...] = ()  # (=|~|-, the log's line, why)
    closest: str = ""  # without a reproducer: what the search found instead
    transcript: str = ""


def _block_of(transcript: str) -> list[str]:
    lines = transcript.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("panic: "))
    return lines[start:]


WHY = {
    "trap": "rsp, rip and the registers are the model's, computed from its frames' sizes",
    "curlwp": "the LWP's address and stack are the log's; what differs is the model's layout",
}


def _compare(goal: Goal, got: list[str]) -> tuple[tuple[str, str, str], ...]:
    out = []
    for want in goal.lines:
        if want in got:
            out.append(("=", want, ""))
            continue
        kind = "trap" if want.startswith("trap type") else (
            "curlwp" if want.startswith("curlwp") else "")
        near = next((g for g in got if g.split(" ")[:2] == want.split(" ")[:2]), "")
        out.append(("~" if near else "-", want,
                    (f"the model prints {near!r}" + (f": {WHY[kind]}" if kind else ""))
                    if near else "the model prints no such line"))
    return tuple(out)


def reproduces(goal: Goal, transcript: str) -> bool:
    """The replay prints the log's panic line, Stopped line and frames."""
    try:
        got = _block_of(transcript)
    except StopIteration:
        return False
    return (goal.panic in got and goal.stopped in got
            and all(f in got for f in goal.frames)
            and f"db{{{goal.cpu}}}> bt" in got)


def search(goal: Goal, max_states: int = FIRST_STATES,
           progress: Callable[[int, int, int, float, int | None], None] | None = None
           ) -> Match:
    """The explorer's first panic from the machine, shortened; then checked
    by replaying the commands it would write."""
    machine = build(goal)
    sc = machine.scenario
    t0 = time.perf_counter()
    res = explore(boot(sc), ticks=3, max_states=max_states, first_states=max_states,
                  stop_at_best=True, progress=progress)
    secs = time.perf_counter() - t0
    if res.verdict != "panic" or not res.schedule:
        return Match(False, machine, res.states, secs, 0,
                     closest=f"the search ended `{res.verdict}`: {res.message or 'no panic'}")
    cmds = tuple(schedule_commands(res))
    replayed = run(sc, list(cmds))
    lines = _compare(goal, _block_of(replayed.transcript)) if \
        replayed.session.kernel.panicstr else ()
    ok = reproduces(goal, replayed.transcript)
    closest = "" if ok else (f"a panic on CPU {replayed.session.kernel.paniccpu}:"
                             f" {replayed.session.kernel.panicstr}")
    return Match(ok, machine, res.states, secs, len(res.schedule), cmds, lines, closest,
                 replayed.transcript)


def scenario_text(goal: Goal, m: Match, log_name: str) -> str:
    """The reproducer as a scenario file (only for a match that replays)."""
    assert m.found
    return dump(m.machine.scenario, list(m.commands), False, True,
                goal.panic.removeprefix("panic: "),
                title=f"Reproducer of {log_name}: panic on CPU {goal.cpu},"
                      f" {goal.comm} {goal.pid}.{goal.lid}",
                description=(f"Built by `ddbstep reproduce` from the console log {log_name}:"
                             " the machine its panic needs and a schedule the explorer found"
                             " that prints the log's panic line, Stopped line and frames."
                             " Machine: " + "; ".join(m.machine.why) + "."))


def report(goal: Goal, m: Match) -> list[str]:
    """What `ddbstep reproduce` prints: the same for the same log (the time
    it took goes to standard error)."""
    out = [f"goal: {goal.comm} {goal.pid}.{goal.lid} panics on CPU {goal.cpu}: psref taken"
           f" on CPU {goal.src_cpu}, released on CPU {goal.dst_cpu}"
           f" ({len(goal.frames)} bt lines)", "machine:"]
    out += [f"  {w}" for w in m.machine.why]
    if not m.found:
        out += [f"search: {m.states} states: {m.closest}",
                "no reproducer found"]
        return out
    out.append(f"search: a panic in {m.steps} steps ({m.states} states; the first found by"
               " fewest context switches, then shortened)")
    out.append("match (= the same line, ~ differs, with why):")
    out += [f"  {mark} {line}" + (f"\n      {why}" if why else "") for mark, line, why
            in m.lines]
    return out


def as_json(goal: Goal, m: Match) -> dict[str, Any]:
    return {
        "goal": {"panic": goal.panic, "cpu": goal.cpu, "src_cpu": goal.src_cpu,
                 "dst_cpu": goal.dst_cpu, "pid": goal.pid, "lid": goal.lid,
                 "comm": goal.comm, "srcroot": goal.srcroot, "frames": list(goal.frames)},
        "machine": {"ncpu": m.machine.scenario.ncpu, "why": list(m.machine.why)},
        "found": m.found, "steps": m.steps, "states": m.states,
        "seconds": round(m.seconds, 3),
        "match": [{"mark": mark, "line": line, "why": why} for mark, line, why in m.lines],
        "closest": m.closest,
    }
