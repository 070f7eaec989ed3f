"""kern_assert() (kern_assert.c 1.4), vpanic()/panic() (subr_prf.c 1.174).

KASSERT and KASSERTMSG (libkern.h) build the panic message from the
statement that failed: its stringified expression, the file of the
function it is in (under the scenario's srcroot) and its source line.
"""

from __future__ import annotations

from engine.machine import FUNCS, HALT, SPIN, Ctx, Flow, Ret, S, call, kfunc
from engine.param import LP_BOUND, SPCF_OFFLINE

# __KASSERTSTR: note the trailing blank; KASSERTMSG appends right after it.
KASSERTSTR = 'kernel {kind}assertion "{expr}" failed: file "{file}", line {line} '


def _where(x: Ctx) -> tuple[str, int]:
    """__FILE__ and __LINE__ of the running statement: its last line."""
    func = FUNCS[x.frame.func]
    stmt = func.stmts[x.frame.pc]
    return f"{x.k.config.srcroot}/{func.file}", stmt.end_line or stmt.line


def KASSERTMSG(x: Ctx, cond: bool, expr: str, msg: str, line: int | None = None) -> Flow:
    """line: the KASSERT's own __LINE__ where the step combines it with the
    statements around it (the step's text cites the first of them)."""
    if cond:
        return None
    file, at = _where(x)
    line = line or at
    text = KASSERTSTR.format(kind="diagnostic ", expr=expr, file=file, line=line) + msg
    return call("kern_assert", fmt=text)


def KASSERT(x: Ctx, cond: bool, expr: str, line: int | None = None) -> Flow:
    return KASSERTMSG(x, cond, expr, "", line)


def panic(x: Ctx, msg: str) -> Flow:
    return call("panic", fmt=msg)


def _ka_recursive(x: Ctx) -> Flow:
    # A panic already in progress: return and let it finish.
    return Ret() if x.k.panicstr is not None else None


kfunc(
    "kern_assert", "sys/lib/libkern/kern_assert.c",
    S(47, "if (panicstr != NULL) return;", _ka_recursive),
    S(51, "vpanic(fmt, ap);", lambda x: call("vpanic", fmt=x.v("fmt")), label="vpanic"),
    S(52, "va_end(ap);", lambda x: Ret()),
    atomic=True,
)

kfunc(
    "panic", "sys/kern/subr_prf.c",
    S(254, "vpanic(fmt, ap);", lambda x: call("vpanic", fmt=x.v("fmt")), label="vpanic"),
    S(255, "va_end(ap);", lambda x: Ret()),
    atomic=True,
)


def _vp_cas(x: Ctx) -> Flow:
    x.l.l_nopreempt += 1
    if x.k.paniccpu is not None and x.k.paniccpu != x.ci:
        # Another CPU is panicking: DELAY(10) forever.
        return SPIN
    x.k.paniccpu = x.ci
    return None


def _vp_offline(x: Ctx) -> Flow:
    # Stop migrations during the panic, lock-free (subr_prf.c l.291-294).
    x.l.l_pflag |= LP_BOUND
    for cpu in x.k.cpus:
        cpu.spc_flags |= SPCF_OFFLINE
    return None


def _vp_print(x: Ctx) -> Flow:
    fmt = x.v("fmt")
    if x.k.panicstr is None:
        x.k.panicstr = fmt
    x.k.printf("panic: " + fmt + "\n")
    return None


kfunc(
    "vpanic", "sys/kern/subr_prf.c",
    # vpanic() runs as one atomic function in the model (no other CPU is
    # stepped in between its statements); each step is one source block.
    S(274, "kpreempt_disable(); ci = curcpu(); oci = atomic_cas_ptr((void *)&paniccpu, NULL, ci); "
      "if (oci != NULL && oci != ci) { for (;;) { DELAY(10); } }", _vp_cas),
    S(291, "curlwp->l_pflag |= LP_BOUND; for (CPU_INFO_FOREACH(cii, ci)) { "
      "ci->ci_schedstate.spc_flags |= SPCF_OFFLINE; }", _vp_offline),
    S(309, 'printf("panic: "); if (panicstr == NULL) { panicstr = fmt; ... '
      'printf("%s", scratchstr); ... } else { vprintf(fmt, ap); } printf("\\n");', _vp_print),
    S(333, "db_panic();", lambda x: call("breakpoint"), label="db_panic"),
    S(335, "cpu_reboot(bootopt, NULL);", lambda x: HALT),
    atomic=True,
)
