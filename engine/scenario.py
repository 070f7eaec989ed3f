"""Scenario files: TOML, read with tomllib, validated into attrs objects.

Nothing in a scenario is executed: it is data, checked key by key, and any
problem is one ScenarioError whose str() is `FILE[:LINE]: what is wrong`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from engine.programs import PROGRAMS

MAX_CPUS = 256
MAX_LWPS = 4096
MAX_COMMANDS = 100_000


class ScenarioError(Exception):
    """A scenario that cannot be used; str() is `FILE[:LINE]: message`."""


@attrs.frozen
class LwpSpec:
    pid: int
    lid: int
    comm: str
    cpu: int
    program: str
    name: str | None = None
    addr: int | None = None
    kstack: int | None = None
    priority: int | None = None
    ifname: str | None = None
    sleep: bool = False
    bind: bool = True
    target: str | None = None
    to_cpu: int | None = None
    rticks: int | None = None
    rticksum: int | None = None
    slpticks: int | None = None
    slpticksum: int | None = None
    slptime: int | None = None
    batch: bool | None = None


@attrs.frozen
class CpuSpec:
    index: int
    cr2: int = 0


@attrs.frozen
class Expect:
    """What the replay must end in; the *_with_fix keys apply under --fix."""

    panic: bool | None = None
    message: str | None = None
    panic_with_fix: bool | None = None
    message_with_fix: str | None = None
    # What the replay may print that otherwise fails it (engine.replay.
    # SUSPECT): a run cut at $maxsteps, a name ddb does not know.
    allow: tuple[str, ...] = ()
    allow_with_fix: tuple[str, ...] = ()


@attrs.frozen
class Scenario:
    path: str
    title: str
    description: str
    ncpu: int
    fix: bool
    srcroot: str
    hz: int
    rrticks: int
    hardclock_ticks: int
    lwps: tuple[LwpSpec, ...]
    cpus: tuple[CpuSpec, ...]
    interfaces: tuple[str, ...]
    commands: tuple[str, ...]
    narration: tuple[str, ...]
    expect: Expect
    # The scenario that plays the same race on the other kernel, with its own
    # commands and narration (the demo's `f` ending plays it).
    twin: str | None = None
    srcdir: str | None = None  # a NetBSD source tree for the app's source pane
    net_mpsafe: bool = False  # options NET_MPSAFE: wm(4) with WM_MPSAFE, no kernel lock
    # The file line of each command (engine.replay.load checks the commands).
    command_lines: tuple[int, ...] = attrs.field(default=(), eq=False)

    @property
    def name(self) -> str:
        return Path(self.path).stem


# key -> (type, required) for each table
_SCENARIO = {"title": (str, True), "description": (str, True), "twin": (str, False)}
_KERNEL = {
    "ncpu": (int, True), "fix": (bool, True), "srcroot": (str, True), "srcdir": (str, False),
    "hz": (int, False), "rrticks": (int, False), "hardclock_ticks": (int, False),
    "net_mpsafe": (bool, False),
}
_LWP = {
    "pid": (int, True), "lid": (int, True), "comm": (str, True), "cpu": (int, True),
    "program": (str, True), "name": (str, False), "addr": (int, False),
    "kstack": (int, False), "priority": (int, False), "ifname": (str, False),
    "sleep": (bool, False), "bind": (bool, False),
    "target": (str, False), "to_cpu": (int, False),
    "rticks": (int, False), "rticksum": (int, False),
    "slpticks": (int, False), "slpticksum": (int, False), "slptime": (int, False),
    "batch": (bool, False),
}
_CPU = {"index": (int, True), "cr2": (int, False)}
_IFACE = {"name": (str, True)}
_REPLAY = {"commands": (list, True), "narration": (list, False)}
_EXPECT = {
    "panic": (bool, False), "message": (str, False),
    "panic_with_fix": (bool, False), "message_with_fix": (str, False),
    "allow": (list, False), "allow_with_fix": (list, False),
}
_TOP = {
    "scenario": (dict, True), "kernel": (dict, True), "lwp": (list, True),
    "cpu": (list, False), "interface": (list, False), "replay": (dict, False),
    "expect": (dict, False),
}


class _Locator:
    """Finds the line of a key for error messages (tomllib gives none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line(self, table: str | None, index: int = 0, key: str | None = None) -> int | None:
        start = 0
        if table is not None:
            pat = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$")
            hits = [i for i, s in enumerate(self.lines) if pat.match(s)]
            if index >= len(hits):
                return None
            start = hits[index]
            if key is None:
                return start + 1
        if key is None:
            return None
        kpat = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for i in range(start, len(self.lines)):
            if i > start and table is not None and self.lines[i].lstrip().startswith("["):
                break
            if kpat.match(self.lines[i]):
                return i + 1
        return start + 1 if table is not None else None


def _typename(t: type) -> str:
    return {int: "an integer", str: "a string", bool: "true or false",
            list: "an array", dict: "a table"}[t]


class _Checker:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.loc = _Locator(text)

    def fail(self, msg: str, table: str | None = None, index: int = 0,
             key: str | None = None) -> ScenarioError:
        line = self.loc.line(table, index, key)
        where = f"{self.path}:{line}" if line else self.path
        return ScenarioError(f"{where}: {msg}")

    def table(self, data: Any, spec: Mapping[str, tuple[type, bool]], name: str,
              index: int = 0, label: str | None = None) -> dict[str, Any]:
        label = label or f"[{name}]"
        if not isinstance(data, dict):
            raise self.fail(f"{label} must be a table", name, index)
        for key in data:
            if key not in spec:
                raise self.fail(f"unknown key '{key}' in {label}", name, index, key)
        for key, (typ, required) in spec.items():
            if key not in data:
                if required:
                    raise self.fail(f"missing key '{key}' in {label}", name, index)
                continue
            value = data[key]
            ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
            if not ok:
                raise self.fail(f"'{key}' in {label} must be {_typename(typ)}",
                                name, index, key)
        return data


def _command_lines(c: _Checker, text: str, commands: list[str]) -> tuple[int, ...]:
    """The file line of each [replay] command (engine.replay.load checks
    each against ddb's table and names its line)."""
    first = c.loc.line("replay", 0, "commands") or 1
    lines = text.splitlines()
    at = first - 1
    out = []
    for cmd in commands:
        literal = _toml_str(cmd)
        for j in range(at, len(lines)):
            if literal in lines[j] or repr(cmd) in lines[j]:
                at = j
                break
        out.append(at + 1)
    return tuple(out)


def load_text(text: str, path: str) -> Scenario:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        where = f"{path}:{m.group(1)}" if m else path
        raise ScenarioError(f"{where}: not valid TOML: {msg}") from None
    c = _Checker(path, text)
    for key in raw:
        if key not in _TOP:
            header = c.loc.line(key)
            if header is not None:
                raise ScenarioError(f"{path}:{header}: unknown table '{key}'")
            raise c.fail(f"unknown table '{key}'", None, 0, key)
    for key, (typ, required) in _TOP.items():
        if key not in raw:
            if required:
                raise c.fail(f"missing [{key}]" if typ is dict else f"missing [[{key}]]")
            continue
        if not isinstance(raw[key], typ):
            raise c.fail(f"'{key}' must be {'a table' if typ is dict else 'an array of tables'}",
                         None, 0, key)

    sc = c.table(raw["scenario"], _SCENARIO, "scenario")
    kn = c.table(raw["kernel"], _KERNEL, "kernel")
    ncpu = kn["ncpu"]
    if not 1 <= ncpu <= MAX_CPUS:
        raise c.fail(f"ncpu {ncpu} out of range (1-{MAX_CPUS})", "kernel", 0, "ncpu")
    hz = kn.get("hz", 100)
    if not 1 <= hz <= 10000:
        raise c.fail(f"hz {hz} out of range (1-10000)", "kernel", 0, "hz")
    # The kernel's own: sched_4bsd.c l.537, rrticks = hz / 10.
    rrticks = kn.get("rrticks", max(1, hz // 10))
    if not 1 <= rrticks <= 1000:
        raise c.fail(f"rrticks {rrticks} out of range (1-1000)", "kernel", 0, "rrticks")
    ticks = kn.get("hardclock_ticks", 1000)
    if not 0 <= ticks < 2**31:
        raise c.fail("hardclock_ticks out of range", "kernel", 0, "hardclock_ticks")

    ifaces: list[str] = []
    for i, t in enumerate(raw.get("interface", [])):
        t = c.table(t, _IFACE, "interface", i, f"[[interface]] #{i + 1}")
        name = t["name"]
        if not re.fullmatch(r"wm[0-9]{1,3}", name):
            raise c.fail(f"interface '{name}': only wm(4) interfaces are modeled (wmN)",
                         "interface", i, "name")
        if name in ifaces:
            raise c.fail(f"duplicate interface '{name}'", "interface", i, "name")
        ifaces.append(name)
    if not ifaces:
        ifaces = ["wm0"]

    if not raw["lwp"]:
        raise c.fail("[[lwp]] is empty: a scenario needs at least one LWP")
    if len(raw["lwp"]) > MAX_LWPS:
        raise c.fail(f"{len(raw['lwp'])} LWPs: at most {MAX_LWPS}")
    lwps: list[LwpSpec] = []
    seen: dict[tuple[int, int], int] = {}
    comms: dict[int, str] = {}
    for i, t in enumerate(raw["lwp"]):
        label = f"[[lwp]] #{i + 1}"
        t = c.table(t, _LWP, "lwp", i, label)
        pid, lid = t["pid"], t["lid"]
        if not 0 <= pid <= 99999:
            raise c.fail(f"pid {pid} out of range (0-99999)", "lwp", i, "pid")
        if not 1 <= lid <= 65535:
            raise c.fail(f"lid {lid} out of range (1-65535)", "lwp", i, "lid")
        if (pid, lid) in seen:
            raise c.fail(f"duplicate LWP {pid}.{lid} (first at [[lwp]] #{seen[(pid, lid)] + 1})",
                         "lwp", i, "lid")
        seen[(pid, lid)] = i
        comm = t["comm"]
        if not comm or len(comm) > 16 or not comm.isprintable():
            raise c.fail(f"comm '{comm}' must be 1-16 printable characters", "lwp", i, "comm")
        if comms.setdefault(pid, comm) != comm:
            raise c.fail(f"pid {pid} is '{comms[pid]}', not '{comm}'", "lwp", i, "comm")
        if pid == 0 and comm != "system":
            raise c.fail("pid 0 is 'system'", "lwp", i, "comm")
        if not 0 <= t["cpu"] < ncpu:
            raise c.fail(f"cpu {t['cpu']} out of range: ncpu is {ncpu}", "lwp", i, "cpu")
        prog = t["program"]
        if prog not in PROGRAMS:
            raise c.fail(f"unknown program '{prog}' (one of {', '.join(sorted(PROGRAMS))})",
                         "lwp", i, "program")
        if prog == "uvm_scheduler" and pid != 0:
            raise c.fail("program 'uvm_scheduler' is lwp0's: pid must be 0", "lwp", i, "pid")
        if prog != "uvm_scheduler" and pid == 0:
            raise c.fail(f"program '{prog}' is a user program: pid 0 is the kernel",
                         "lwp", i, "pid")
        ifname = t.get("ifname")
        if prog == "ioctl":
            ifname = ifname or ifaces[0]
            if ifname not in ifaces:
                raise c.fail(f"ifname '{ifname}' is not an [[interface]]", "lwp", i, "ifname")
        elif ifname is not None or t.get("sleep"):
            raise c.fail(f"'ifname' and 'sleep' are for 'ioctl', not '{prog}'",
                         "lwp", i, "ifname" if ifname is not None else "sleep")
        if prog == "setaffinity":
            if not re.fullmatch(r"\d+(\.\d+)?", t.get("target", "")):
                raise c.fail("program 'setaffinity' needs target = \"PID.LID\"", "lwp", i,
                             "target" if "target" in t else None)
            if not 0 <= t.get("to_cpu", -1) < ncpu:
                raise c.fail(f"to_cpu must be a CPU (0-{ncpu - 1})", "lwp", i,
                             "to_cpu" if "to_cpu" in t else None)
        elif "target" in t or "to_cpu" in t:
            raise c.fail(f"'target' and 'to_cpu' are for program 'setaffinity', not '{prog}'",
                         "lwp", i, "target" if "target" in t else "to_cpu")
        if "priority" in t and not 0 <= t["priority"] < 224:
            raise c.fail("priority out of range (0-223)", "lwp", i, "priority")
        for key in ("rticks", "rticksum", "slpticks", "slpticksum", "slptime"):
            if key in t and not 0 <= t[key] < 2**31:
                raise c.fail(f"{key} out of range", "lwp", i, key)
        for key in ("addr", "kstack"):
            if key in t and not 0 < t[key] < 2**64:
                raise c.fail(f"{key} out of range", "lwp", i, key)
        lwps.append(LwpSpec(
            pid=pid, lid=lid, comm=comm, cpu=t["cpu"], program=prog, name=t.get("name"),
            addr=t.get("addr"), kstack=t.get("kstack"), priority=t.get("priority"),
            ifname=ifname, sleep=t.get("sleep", False), bind=t.get("bind", True),
            target=t.get("target"), to_cpu=t.get("to_cpu"), rticks=t.get("rticks"),
            rticksum=t.get("rticksum"), slpticks=t.get("slpticks"),
            slpticksum=t.get("slpticksum"), slptime=t.get("slptime"), batch=t.get("batch"),
        ))

    cpus: list[CpuSpec] = []
    for i, t in enumerate(raw.get("cpu", [])):
        t = c.table(t, _CPU, "cpu", i, f"[[cpu]] #{i + 1}")
        if not 0 <= t["index"] < ncpu:
            raise c.fail(f"cpu index {t['index']} out of range: ncpu is {ncpu}",
                         "cpu", i, "index")
        if any(s.index == t["index"] for s in cpus):
            raise c.fail(f"duplicate [[cpu]] index {t['index']}", "cpu", i, "index")
        cr2 = t.get("cr2", 0)
        if not 0 <= cr2 < 2**64:
            raise c.fail("cr2 out of range", "cpu", i, "cr2")
        cpus.append(CpuSpec(t["index"], cr2))

    commands: list[str] = []
    narration: list[str] = []
    command_lines: tuple[int, ...] = ()
    if "replay" in raw:
        rp = c.table(raw["replay"], _REPLAY, "replay")
        for key, out in (("commands", commands), ("narration", narration)):
            items = rp.get(key, [])
            if len(items) > MAX_COMMANDS:
                raise c.fail(f"{len(items)} {key}: at most {MAX_COMMANDS}", "replay", 0, key)
            for item in items:
                if not isinstance(item, str) or "\n" in item:
                    raise c.fail(f"{key} must be single-line strings", "replay", 0, key)
                out.append(item)
        command_lines = _command_lines(c, text, commands)
        if narration and len(narration) != len(commands):
            raise c.fail(f"{len(narration)} narration lines for {len(commands)} commands",
                         "replay", 0, "narration")
    expect = Expect()
    if "expect" in raw:
        ex = c.table(raw["expect"], _EXPECT, "expect")
        for key in ("allow", "allow_with_fix"):
            if not all(isinstance(a, str) and a and "\n" not in a for a in ex.get(key, [])):
                raise c.fail(f"{key} must be single-line strings", "expect", 0, key)
        expect = Expect(ex.get("panic"), ex.get("message"),
                        ex.get("panic_with_fix"), ex.get("message_with_fix"),
                        tuple(ex.get("allow", [])), tuple(ex.get("allow_with_fix", [])))

    return Scenario(
        path=path, title=sc["title"], description=sc["description"], ncpu=ncpu,
        twin=sc.get("twin"),
        fix=kn["fix"], srcroot=kn["srcroot"], hz=hz, rrticks=rrticks, srcdir=kn.get("srcdir"),
        hardclock_ticks=ticks, net_mpsafe=kn.get("net_mpsafe", False),
        lwps=tuple(lwps), cpus=tuple(cpus),
        interfaces=tuple(ifaces), commands=tuple(commands), narration=tuple(narration),
        expect=expect, command_lines=command_lines,
    )


def bundled() -> dict[str, str]:
    """Bundled scenario name -> file text (found after `pip install .` too)."""
    out = {}
    for entry in sorted(resources.files("scenarios").iterdir(), key=lambda p: p.name[:-5]):
        if entry.name.endswith(".toml"):
            out[entry.name[:-5]] = entry.read_text()
    return out


def load(name_or_path: str) -> Scenario:
    """A bundled name (seed-race) or a path to a .toml file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists() or "/" in name_or_path:
        try:
            text = p.read_text()
        except OSError as e:
            raise ScenarioError(f"{name_or_path}: cannot read: {e.strerror}") from None
        except UnicodeDecodeError:
            raise ScenarioError(f"{name_or_path}: not a text file") from None
        return load_text(text, name_or_path)
    table = bundled()
    if name_or_path not in table:
        raise ScenarioError(
            f"{name_or_path}: no such scenario (bundled: {', '.join(table)})")
    return load_text(table[name_or_path], f"{name_or_path}.toml")


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dump(sc: Scenario, commands: list[str] | tuple[str, ...], fix: bool,
         panic: bool | None, message: str | None, title: str | None = None,
         description: str | None = None, refused: dict[int, str] | None = None) -> str:
    """A scenario file that replays `commands` on sc's machine (for --record,
    explore --emit): its own title and description when given. refused:
    index -> ddb's error, for lines written as comments (they ran nothing)."""
    out = ["[scenario]", f"title = {_toml_str(title or sc.title)}",
           f"description = {_toml_str(description or sc.description)}", "", "[kernel]",
           f"ncpu = {sc.ncpu}", f"fix = {'true' if fix else 'false'}",
           f"srcroot = {_toml_str(sc.srcroot)}", f"hz = {sc.hz}", f"rrticks = {sc.rrticks}",
           f"hardclock_ticks = {sc.hardclock_ticks}"]
    if sc.net_mpsafe:
        out += ["net_mpsafe = true"]
    out += [""]
    for c in sc.cpus:
        out += ["[[cpu]]", f"index = {c.index}", f"cr2 = {c.cr2:#x}", ""]
    for name in sc.interfaces:
        out += ["[[interface]]", f"name = {_toml_str(name)}", ""]
    for lw in sc.lwps:
        out += ["[[lwp]]"]
        for f in attrs.fields(LwpSpec):
            v = getattr(lw, f.name)
            if v is None or (f.name == "sleep" and not v) or (f.name == "bind" and v):
                continue
            if isinstance(v, bool):
                out.append(f"{f.name} = {'true' if v else 'false'}")
            elif isinstance(v, int):
                out.append(f"{f.name} = {v:#x}" if f.name in ("addr", "kstack") else
                           f"{f.name} = {v}")
            else:
                out.append(f"{f.name} = {_toml_str(v)}")
        out.append("")
    refused = refused or {}
    out += ["[replay]", "commands = ["] + [
        f"  # {_toml_str(c)} refused: {refused[i]}".replace("\n", " ") if i in refused
        else f"  {_toml_str(c)}," for i, c in enumerate(commands)] + ["]", ""]
    if panic is not None:
        out += ["[expect]", f"panic = {'true' if panic else 'false'}"]
        if message is not None:
            out.append(f"message = {_toml_str(message)}")
        out.append("")
    return "\n".join(out)
