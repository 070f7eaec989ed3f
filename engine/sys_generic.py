"""sys_ioctl() (sys_generic.c), x86 syscall(), mi_userret() and the user AST (trap.c).

soo_ioctl() and ifioctl = doifioctl are tail calls from sys_ioctl's view:
the trace in the report shows doifioctl() returning into sys_ioctl.
"""

from __future__ import annotations

from engine.machine import Ctx, Flow, Goto, Ret, S, call, kfunc
from engine.param import SYS_ioctl

SYSENT = {SYS_ioctl: "sys_ioctl", 348: "sys__sched_setaffinity", 415: "sys__pset_bind"}

def _fo_ioctl(x: Ctx) -> Flow:
    # fo_ioctl = soo_ioctl -> ifioctl = doifioctl: tail calls from sys_ioctl's
    # view. bind = false: the synthetic unbound_ifioctl (engine/slpdev.py).
    func = "doifioctl" if x.l.arg("bind", True) else "unbound_ifioctl"
    return call(func, ret="error", cmd=x.l.arg("cmd"))


kfunc(
    "sys_ioctl", "sys/kern/sys_generic.c",
    S(531, "if ((fp = fd_getfile(SCARG(uap, fd))) == NULL) return (EBADF);"),
    S(671, "error = (*fp->f_ops->fo_ioctl)(fp, com, data);", _fo_ioctl, label="fo_ioctl"),
    S(687, "fd_putfile(SCARG(uap, fd));"),
    S(700, "return (error);", lambda x: Ret(x.v("error"))),
)


def _sy_call(x: Ctx) -> Flow:
    return call(SYSENT[x.v("code")], ret="error")


kfunc(
    "syscall", "sys/arch/x86/x86/syscall.c",
    # Locals from the trap frame: nothing another CPU could see.
    S(113, "code = X86_TF_RAX(frame) & (SYS_NSYSENT - 1); callp = p->p_emul->e_sysent + code;"),
    S(140, "error = sy_invoke(callp, l, args, rval, code);", _sy_call, label="sy_call"),
    S(168, "userret(l);", lambda x: call("mi_userret"), label="userret"),
    S(169, "}", lambda x: Ret(x.v("error"))),
)


def _kpriority(x: Ctx) -> Flow:
    x.l.l_kpriority = False
    return None


def _curpri(x: Ctx) -> Flow:
    x.cpu.spc_curpriority = x.l.l_priority
    return Ret()


# x86 userret() is mi_userret() (__HAVE_PREEMPTION): it does not switch.
kfunc(
    "mi_userret", "sys/sys/userret.h",
    S(93, "if (__predict_false(l->l_flag & LW_USERRET)) { lwp_userret(l); }"),
    S(96, "l->l_kpriority = false;", _kpriority),
    S(104, "cpu_set_curpri(l->l_priority);", _curpri),
    inline=True,
)


def _want(x: Ctx) -> Flow:
    if x.cpu.ci_want_resched:
        return call("preempt")
    return Goto("out")


# The AST on the way back to user mode: trap() with T_ASTFLT|T_USER.
kfunc(
    "trap", "sys/arch/amd64/amd64/trap.c",
    S(432, "if (curcpu()->ci_want_resched) { preempt(); }", _want, label="preempt"),
    S(435, "goto out;", lambda x: Ret(), label="out"),
)
