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


def key(typ: type, required: bool = False, *, table: str | None = None,
        default: Any = None, lo: int | None = None, hi: int | None = None,
        out_of_range: str = "{key} out of range", hexa: bool = False) -> Any:
    """An attrs field that is a scenario file key: its TOML type, whether it
    is required, its range [lo, hi] and the words when a value is outside
    it ({key}, {v}, {lo}, {hi}); hexa: dump writes it in hex. The tables'
    key lists, the unknown-key check and dump() are built from these."""
    meta = {"toml": (typ, required), "table": table, "range": (lo, hi, out_of_range),
            "hex": hexa}
    # Every field has a default: a required key's is never used (the
    # loader refuses a file without it), it only keeps attrs' order free.
    return attrs.field(default=default, metadata=meta)


@attrs.frozen
class LwpSpec:
    """One [[lwp]]."""

    pid: int = key(int, True, lo=0, hi=99999, out_of_range="pid {v} out of range ({lo}-{hi})")
    lid: int = key(int, True, lo=1, hi=65535, out_of_range="lid {v} out of range ({lo}-{hi})")
    comm: str = key(str, True)
    cpu: int = key(int, True)
    program: str = key(str, True)
    name: str | None = key(str)
    addr: int | None = key(int, lo=1, hi=2**64 - 1, hexa=True)
    kstack: int | None = key(int, lo=1, hi=2**64 - 1, hexa=True)
    priority: int | None = key(int, lo=0, hi=223, out_of_range="priority out of range (0-223)")
    ifname: str | None = key(str)
    sleep: bool = key(bool, default=False)
    bind: bool = key(bool, default=True)
    target: str | None = key(str)
    to_cpu: int | None = key(int)
    pset: int | None = key(int, lo=1, hi=255, out_of_range="pset {v} out of range ({lo}-{hi})")
    rticks: int | None = key(int, lo=0, hi=2**31 - 1)
    rticksum: int | None = key(int, lo=0, hi=2**31 - 1)
    slpticks: int | None = key(int, lo=0, hi=2**31 - 1)
    slpticksum: int | None = key(int, lo=0, hi=2**31 - 1)
    slptime: int | None = key(int, lo=0, hi=2**31 - 1)
    batch: bool | None = key(bool)


@attrs.frozen
class CpuSpec:
    """One [[cpu]]."""

    index: int = key(int, True)
    cr2: int = key(int, default=0, lo=0, hi=2**64 - 1, hexa=True)
    # spc_psid: the processor set psrset(8) -a put the CPU in before boot.
    pset: int = key(int, default=0, lo=0, hi=255, out_of_range="pset {v} out of range ({lo}-{hi})")


@attrs.frozen
class IfaceSpec:
    """One [[interface]]."""

    name: str = key(str, True)


@attrs.frozen
class Expect:
    """[expect]: what the replay must end in; the *_with_fix keys apply
    under --fix."""

    panic: bool | None = key(bool)
    message: str | None = key(str)
    panic_with_fix: bool | None = key(bool)
    message_with_fix: str | None = key(str)
    # What the replay may print that otherwise fails it (engine.replay.
    # SUSPECT): a run cut at $maxsteps, a name ddb does not know.
    allow: tuple[str, ...] = key(list, default=())
    allow_with_fix: tuple[str, ...] = key(list, default=())


@attrs.frozen
class Scenario:
    path: str
    title: str = key(str, True, table="scenario")
    description: str = key(str, True, table="scenario")
    ncpu: int = key(int, True, table="kernel", lo=1, hi=MAX_CPUS,
                    out_of_range="ncpu {v} out of range ({lo}-{hi})")
    fix: bool = key(bool, True, table="kernel")
    srcroot: str = key(str, True, table="kernel")
    hz: int = key(int, table="kernel", default=100, lo=1, hi=10000,
                  out_of_range="hz {v} out of range ({lo}-{hi})")
    # The kernel's own: sched_4bsd.c l.537, rrticks = hz / 10 (by hand below).
    rrticks: int = key(int, table="kernel", default=10, lo=1, hi=1000,
                       out_of_range="rrticks {v} out of range ({lo}-{hi})")
    hardclock_ticks: int = key(int, table="kernel", default=1000, lo=0, hi=2**31 - 1)
    lwps: tuple[LwpSpec, ...] = ()
    cpus: tuple[CpuSpec, ...] = ()
    interfaces: tuple[str, ...] = ("wm0",)
    commands: tuple[str, ...] = key(list, True, table="replay")
    narration: tuple[str, ...] = key(list, table="replay", default=())
    expect: Expect = Expect()
    # The scenario that plays the same race on the other kernel, with its own
    # commands and narration (the demo's `f` ending plays it).
    twin: str | None = key(str, table="scenario")
    srcdir: str | None = key(str, table="kernel")  # a NetBSD tree for the app's source pane
    # options NET_MPSAFE: wm(4) with WM_MPSAFE, no kernel lock
    net_mpsafe: bool = key(bool, table="kernel", default=False)
    # Properties checked besides the KASSERTs (engine.machine): "bound-stays".
    checks: tuple[str, ...] = key(list, table="kernel", default=())
    # The file line of each command (engine.replay.load checks the commands).
    command_lines: tuple[int, ...] = attrs.field(default=(), eq=False)

    @property
    def name(self) -> str:
        return Path(self.path).stem


def _ranges(c: _Checker, cls: type, t: Mapping[str, Any], name: str, index: int = 0,
            table: str | None = None) -> None:
    """Each key of t that has a range in cls's fields, inside it."""
    for f in attrs.fields(cls):
        if f.metadata.get("table") != table or f.name not in t:
            continue
        lo, hi, words = f.metadata["range"]
        v = t[f.name]
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise c.fail(words.format(key=f.name, v=v, lo=lo, hi=hi), name, index, f.name)


def _spec(cls: type, table: str | None = None) -> dict[str, tuple[type, bool]]:
    """A table's keys -> (TOML type, required), from the class's fields."""
    return {f.name: f.metadata["toml"] for f in attrs.fields(cls)
            if "toml" in f.metadata and f.metadata["table"] == table}


# key -> (type, required) for each table
_SCENARIO = _spec(Scenario, "scenario")
_KERNEL = _spec(Scenario, "kernel")
_LWP = _spec(LwpSpec)
_CPU = _spec(CpuSpec)
_IFACE = _spec(IfaceSpec)
_REPLAY = _spec(Scenario, "replay")
_EXPECT = _spec(Expect)
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
    _ranges(c, Scenario, kn, "kernel", table="kernel")
    if any(ch != "bound-stays" for ch in kn.get("checks", [])):
        raise c.fail("checks: the one check is \"bound-stays\"", "kernel", 0, "checks")
    if "checks" in kn:
        kn = {**kn, "checks": tuple(kn["checks"])}
    ncpu = kn["ncpu"]
    hz = kn.get("hz", 100)
    # The kernel's own: sched_4bsd.c l.537, rrticks = hz / 10.
    rrticks = kn.get("rrticks", max(1, hz // 10))
    ticks = kn.get("hardclock_ticks", 1000)

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
        for k in ("pid", "lid"):
            _ranges(c, LwpSpec, {k: t[k]}, "lwp", i)
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
        kthread = PROGRAMS[prog][1]
        if kthread and pid != 0:
            raise c.fail(f"program '{prog}' is a kernel thread: pid must be 0", "lwp", i, "pid")
        if not kthread and pid == 0:
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
        elif prog == "psrset":
            if not re.fullmatch(r"\d+", t.get("target", "")):
                raise c.fail("program 'psrset' needs target = \"PID\" (psrset -b binds a "
                             "process)", "lwp", i, "target" if "target" in t else None)
            if "pset" not in t:
                raise c.fail("program 'psrset' needs pset = N (psrset -b N PID)", "lwp", i)
            if "to_cpu" in t:
                raise c.fail("'to_cpu' is for program 'setaffinity', not 'psrset'",
                             "lwp", i, "to_cpu")
        elif "target" in t or "to_cpu" in t:
            raise c.fail(f"'target' and 'to_cpu' are for program 'setaffinity', not '{prog}'",
                         "lwp", i, "target" if "target" in t else "to_cpu")
        if prog != "psrset" and "pset" in t:
            raise c.fail(f"'pset' is for program 'psrset', not '{prog}'", "lwp", i, "pset")
        _ranges(c, LwpSpec, t, "lwp", i)
        lwps.append(LwpSpec(**{**t, "ifname": ifname}))

    cpus: list[CpuSpec] = []
    for i, t in enumerate(raw.get("cpu", [])):
        t = c.table(t, _CPU, "cpu", i, f"[[cpu]] #{i + 1}")
        if not 0 <= t["index"] < ncpu:
            raise c.fail(f"cpu index {t['index']} out of range: ncpu is {ncpu}",
                         "cpu", i, "index")
        if any(s.index == t["index"] for s in cpus):
            raise c.fail(f"duplicate [[cpu]] index {t['index']}", "cpu", i, "index")
        _ranges(c, CpuSpec, t, "cpu", i)
        cpus.append(CpuSpec(**t))
    # psid_validate(psid, true) (sys_pset.c l.148): the set must exist.
    for i, s in enumerate(lwps):
        if s.pset is not None and not any(cs.pset == s.pset for cs in cpus):
            raise c.fail(f"pset {s.pset} has no CPU: give one a [[cpu]] pset = {s.pset}",
                         "lwp", i, "pset")

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
        given: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                 for k, v in ex.items()}
        expect = Expect(**given)

    return Scenario(
        path=path, **sc, **{**kn, "hz": hz, "rrticks": rrticks, "hardclock_ticks": ticks},
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


def _value(f: attrs.Attribute[Any], v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:#x}" if f.metadata.get("hex") else str(v)
    return _toml_str(v)


def _keys(obj: Any, table: str | None = None, always: tuple[str, ...] = (),
          **over: Any) -> list[str]:
    """`key = value` of obj's file keys in field order, default values left
    out (a required key, and those named in always, are always written)."""
    out = []
    for f in attrs.fields(type(obj)):
        if "toml" not in f.metadata or f.metadata["table"] != table:
            continue
        if f.metadata["toml"][0] is list:
            continue  # arrays are written by their tables' own code
        v = over.get(f.name, getattr(obj, f.name))
        if v is None or (not f.metadata["toml"][1] and f.name not in always
                         and v == f.default):
            continue
        out.append(f"{f.name} = {_value(f, v)}")
    return out


def dump(sc: Scenario, commands: list[str] | tuple[str, ...], fix: bool,
         panic: bool | None, message: str | None, title: str | None = None,
         description: str | None = None, refused: dict[int, str] | None = None) -> str:
    """A scenario file that replays `commands` on sc's machine (for --record,
    explore --emit): its own title and description when given. refused:
    index -> ddb's error, for lines written as comments (they ran nothing).
    Every key comes from the classes' fields, as the loader reads them."""
    out = ["[scenario]"] + _keys(sc, "scenario", title=title or sc.title,
                                  description=description or sc.description, twin=None)
    # hz, rrticks and hardclock_ticks are written even at their defaults:
    # rrticks' default depends on hz.
    out += ["", "[kernel]"] + _keys(sc, "kernel", ("hz", "rrticks", "hardclock_ticks"),
                                    fix=fix)
    if sc.checks:
        out.append("checks = [" + ", ".join(_toml_str(ch) for ch in sc.checks) + "]")
    out += [""]
    for c in sc.cpus:
        out += ["[[cpu]]"] + _keys(c) + [""]
    for name in sc.interfaces:
        out += ["[[interface]]"] + _keys(IfaceSpec(name)) + [""]
    for lw in sc.lwps:
        out += ["[[lwp]]"] + _keys(lw) + [""]
    refused = refused or {}
    out += ["[replay]", "commands = ["] + [
        f"  # {_toml_str(c)} refused: {refused[i]}".replace("\n", " ") if i in refused
        else f"  {_toml_str(c)}," for i, c in enumerate(commands)] + ["]", ""]
    if panic is not None:
        out += ["[expect]"] + _keys(Expect(panic=panic, message=message)) + [""]
    return "\n".join(out)
