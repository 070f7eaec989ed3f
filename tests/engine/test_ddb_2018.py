"""ddb as the 2018 sources print it: each test names the file and line it follows."""

from __future__ import annotations

import re

import pytest

from engine import callgraph, replay, symtab
from engine.ddb.db_command import Session
from engine.ddb.db_output import db_format
from engine.machine import FUNCS
from engine.scenario import bundled, load
from tests.conftest import SEED_LINES, drive


@pytest.fixture
def s() -> Session:
    return Session.start(load("seed-race"))


# -- break ---------------------------------------------------------------------------------


def test_break_func_stops_at_the_first_modeled_statement(s: Session) -> None:
    """db_break.c l.87-107 plants a breakpoint at the function's address;
    the model runs doifioctl from +0x7c (curlwp_bind), the prologue before
    it is not modeled, so a CPU entering doifioctl arrives there."""
    assert s.execute("break doifioctl") == ""
    assert s.execute("show breaks").splitlines()[1].endswith("netbsd:doifioctl")
    out = s.execute("c").splitlines()
    assert out[0] == "fatal breakpoint trap in supervisor mode"
    assert " rip 0xffffffff80b7a14d " in out[1]  # doifioctl+0x7c, +1: the byte after int3
    assert out[3].startswith("Breakpoint in pid 15571.1 (tcpdump) at")
    assert out[3].endswith("netbsd:doifioctl+0x7c:  bound = curlwp_bind();")


def test_break_in_the_replay_of_acceptance_1() -> None:
    """Acceptance 1: `ddbstep replay seed-race --script F`, F = break doifioctl, c."""
    res = replay.run(load("seed-race"), ["break doifioctl", "c"])
    lines = res.transcript.splitlines()
    assert lines[0] == "db{0}> break doifioctl"
    assert lines[2:5] == [
        "fatal breakpoint trap in supervisor mode",
        lines[3], lines[4]]
    assert lines[3].startswith("trap type 1 code 0 rip 0xffffffff80b7a14d cs 0x8 rflags 0x206")
    assert re.match(r"Breakpoint in pid 15571\.1 \(tcpdump\) at\s+netbsd:doifioctl\+0x7c:",
                    lines[5])


@pytest.mark.parametrize("func", ["hardclock", "sched_tick", "sleepq_timeout",
                                  "slpdev_intr", "panic", "vpanic", "kern_assert"])
def test_break_where_no_run_can_stop_is_refused_with_one_line(s: Session, func: str) -> None:
    """The model runs an interrupt handler as one step (engine.machine.
    deliver) and the panic path to completion: a breakpoint there could
    never fire, so it is refused, not accepted and silent."""
    out = s.execute(f"break {func}")
    assert len(out.splitlines()) == 1
    assert out.startswith(f"[ddbstep] {func} ") and "no breakpoint can stop in it" in out
    assert s.execute("show breaks") == "No breakpoints set"


def test_break_at_an_address_no_statement_starts_at_is_refused(s: Session) -> None:
    out = s.execute("break doifioctl+0x10")
    assert out.startswith("[ddbstep] no modeled statement of doifioctl starts at "
                          "netbsd:doifioctl+0x10 (they start at +0x7c, +0x9a")
    assert s.execute("break 0x1234") == (
        "[ddbstep] 0x1234 is not in modeled code: no run stops there")
    assert s.execute("show breaks") == "No breakpoints set"


def test_the_interrupt_only_functions_are_derived_from_the_model() -> None:
    """callgraph reads the calls from the statements: hardclock's callees
    that nothing else calls are interrupt-only; those also called from a
    thread (sched_enqueue, via sleepq_remove and mi_switch) are not."""
    only = callgraph.interrupt_only()
    assert {"sleepq_timeout", "schedclock", "sched_tick", "cv_broadcast"} <= only
    assert "sched_enqueue" not in only and "sched_takecpu" not in only
    assert "lwp_migrate" in callgraph.callees("sys__sched_setaffinity")


def test_every_modeled_function_is_in_the_symbol_table() -> None:
    """A function the model runs has a symbol (address, size) or is a
    static inline compiled into its callers; the two lists agree."""
    for name, f in FUNCS.items():
        if name == "__invoke__":
            continue
        e = symtab.entry(name)
        assert e, f"{name} is not in symtab.toml"
        assert bool(e.get("inline")) == f.inline, name
        if not f.inline:
            assert "addr" in e and "size" in e, name
            assert symtab.offsets(name)[-1] < e["size"], name
        assert bool(e.get("user")) == f.user, name


def _scenarios() -> list[str]:
    return list(bundled())


@pytest.mark.parametrize("name", _scenarios())
def test_every_break_in_a_bundled_replay_is_accepted_and_fires(name: str) -> None:
    sc = load(name)
    res = replay.run(sc, sc.commands)
    lines = res.transcript.splitlines()
    for i, line in enumerate(lines):
        m = re.fullmatch(r"db\{\d+\}> (?:break|b) (\w+)", line)
        if m is None:
            continue
        func = m.group(1)
        assert lines[i + 1].startswith("db{"), f"{name}: {line}: {lines[i + 1]}"
        hit = [x for x in lines[i + 1:]
               if re.match(rf"Breakpoint in pid .* at\s+netbsd:{func}\b", x)]
        assert hit, f"{name}: break {func} never fired"


def test_setaffinity_sleeping_stops_in_lwp_migrate_and_schedctl_is_user_code() -> None:
    """Acceptance 2. sys_sched.c l.457 calls lwp_migrate(); schedctl(8)
    calls _sched_setaffinity from user space: its pc is printed bare."""
    sc = load("setaffinity-sleeping")
    res = replay.run(sc, sc.commands)
    assert res.ok, res.why
    out = res.transcript
    assert "db{1}> break lwp_migrate\ndb{1}> c\n" in out
    assert re.search(r"Breakpoint in pid 2200\.1 \(schedctl\) at\s+netbsd:lwp_migrate:", out)
    assert "Symbol not found" not in out and "$maxsteps" not in out
    assert "setaffinity_user" not in out
    assert symtab.sym("setaffinity_user", 0) == "7f7ff7a0c400"


# -- next, until: static inline functions ---------------------------------------------------


def test_until_and_next_step_over_static_inline_functions(s: Session) -> None:
    """db_run.c l.156-179 stops at inst_call()/inst_return(); curlwp_bind
    and curlwp_bindx are static inline (lwp.h l.532-545), compiled into
    doifioctl with no call or ret instruction: `until` from doifioctl+0x7c
    stops at the call of if_get, and n/p lists no inline function's entry
    or exit."""
    drive(s, "break doifioctl", "c")
    out = s.execute("until")
    assert re.search(r"Stopped in .* at\s+netbsd:doifioctl\+0x9a:\s+ifp = if_get", out)
    drive(s, "undo")
    out = s.execute("n/p")
    assert "curlwp_bind" not in out
    assert "if_put" not in out.replace("psref_release(psref", "")
    after = [x for x in out.splitlines() if x.startswith("[after")]
    assert all("netbsd:doifioctl+0x7c" not in x for x in after)
    assert out.splitlines()[-1].endswith("return error;")


# -- bt ------------------------------------------------------------------------------------


def test_bt_ends_with_the_user_pc_and_the_seed_lines_stay_whole() -> None:
    """db_trace.c l.294-297 stops a kernel-only walk at the switch to user
    space, then l.308-311 prints db_printsym(tf_rip) and ":"; the seed's
    14 lines stay byte-identical and contiguous."""
    sc = load("seed-race")
    text = replay.run(sc, sc.commands).transcript
    assert SEED_LINES in text
    after = text.split(SEED_LINES)[1].splitlines()[0]
    assert re.fullmatch(r"[0-9a-f]{12}:", after)


# -- mach cpu, trap frames, x/m, $maxwidth, the dump -----------------------------------------


def test_mach_cpu_prints_ci_flags(s: Session) -> None:
    """cpu_debug_dump() (x86 cpu.c l.963-977) prints ci_flags: the boot CPU
    PRESENT|PRIMARY (l.413) BSP (l.446) RUNNING (l.682) = 0x3009; an AP
    AP (l.764) PRESENT (l.863) GO (l.811) RUNNING (l.679) = 0xb002; the
    CPUs not in ddb PAUSE (db_interface.c l.291)."""
    rows = [r.split() for r in s.execute("mach cpu").splitlines()[1:]]
    assert [r[3] for r in rows if len(r) > 3] == ["3009", "f002", "f002", "f002"]
    drive(s, "break sched_idle", "mach cpu 3", "c")
    rows = [r.split() for r in s.execute("mach cpu").splitlines()[1:]]
    assert [r[3] for r in rows if len(r) > 3] == ["7009", "f002", "f002", "b002"]
    drive(s, "mach cpu 0")  # selects registers: ddb stays on CPU 3
    rows = [r.split() for r in s.execute("mach cpu").splitlines()[1:]]
    assert [r[3] for r in rows if len(r) > 3] == ["7009", "f002", "f002", "b002"]


def test_trace_trap_rflags_keep_psl_t(s: Session) -> None:
    """db_set_single_step() sets PSL_T in tf_rflags (amd64 db_machdep.h
    l.75): the #DB frame trap_print() prints has it (0x306); an int3's
    frame does not (0x206)."""
    out = s.execute("s")
    assert " rflags 0x306 " in out.splitlines()[1]
    out = s.execute("break doifioctl")
    out = s.execute("c")
    assert " rflags 0x206 " in out.splitlines()[1]


def test_x_m_takes_size_bytes_for_each_count_on_one_line(s: Session) -> None:
    """db_examine.c 'm': "this loops modify's count extra times": x/m hz,2
    is one line of 8 bytes, 16 a line at most, columns trued up with tabs."""
    out = s.execute("x/m hz,2").splitlines()
    assert out == ["netbsd:hz:      64000000 00000000                       d......."]
    out = s.execute("x/m hz,5").splitlines()
    assert len(out) == 2 and out[1].startswith("netbsd:hz+0x10: 00000000")


def test_maxwidth_wraps_after_the_character_that_reaches_it() -> None:
    """db_putchar() (db_output.c l.144-161): position++ then, at
    $maxwidth, a newline: a line holds $maxwidth characters."""
    assert db_format("a" * 81, 8, 80) == "a" * 80 + "\n" + "a"
    assert db_format("a" * 80, 8, 80) == "a" * 80 + "\n"
    # Blanks only move the position: they are printed before the next
    # character, which may then stand past $maxwidth.
    assert db_format("a" * 79 + "   b", 8, 80) == "a" * 79 + "   b\n"
    assert db_format("a" * 200, 8, 0) == "a" * 200  # $maxwidth 0: no wrapping


def test_continue_after_the_panic_dumps_then_reboots() -> None:
    """vpanic() ends in cpu_reboot(RB_AUTOBOOT|RB_NOSYNC|RB_DUMP)
    (subr_prf.c l.297-300, 335); amd64 cpu_reboot() dumps (machdep.c 1.319
    l.725-726): dodumpsys() prints the dump device line (l.1211), then
    "rebooting..." (l.764)."""
    sc = load("seed-race")
    s = Session.start(sc)
    drive(s, *sc.commands)
    out = s.execute("c").splitlines()
    assert out[0] == ""
    assert re.fullmatch(r"dumping to dev 0,1 \(offset=\d+, size=\d+\):", out[1])
    assert out.index("rebooting...") > 1


# -- watch -----------------------------------------------------------------------------------


def test_watch_takes_the_size_after_the_address_and_a_count_is_ignored(s: Session) -> None:
    """db_watchpoint_cmd() (db_watch.c l.183-196) reads the size as the next
    expression; db_command() (db_command.c l.904-913) took `,N` as the
    count, which the command ignores: `watch A,8` watches 4 bytes."""
    target = 0xFFFFE40025ABC480 + 0xD8
    out = s.execute(f"watch {target:#x},8")
    assert out.startswith("[ddbstep] ,8 is ddb's count, which watch ignores: watching 4 bytes")
    assert s.execute("show watches").splitlines()[1].endswith("4")
    drive(s, f"dwatch {target:#x}")
    assert s.execute(f"watch {target:#x} 8") == ""
    assert s.execute("show watches").splitlines()[1].endswith("8")


def test_watch_is_listed_as_an_extension_in_help(s: Session) -> None:
    help_text = s.execute("help")
    ext = help_text.split("ddbstep extensions")[1]
    assert "watch ADDR [SIZE]" in ext and "write-protects the page" in ext
