"""sys_ioctl() (sys_generic.c), amd64 syscall() and userret().

soo_ioctl() and ifioctl = doifioctl are tail calls from sys_ioctl's view:
the trace in the report shows doifioctl() returning into sys_ioctl.
"""

from __future__ import annotations

from engine.machine import Ctx, Flow, Goto, Ret, S, call, kfunc
from engine.param import DOPREEMPT_ACTIVE, SYS_ioctl

SYSENT = {SYS_ioctl: "sys_ioctl", 348: "sys__sched_setaffinity"}

kfunc(
    "sys_ioctl", "sys/kern/sys_generic.c",
    S(560, "fp = fd_getfile(fd); com = SCARG(uap, com);"),
    S(629, "error = (*fp->f_ops->fo_ioctl)(fp, com, data);",
      lambda x: call("doifioctl", ret="error", cmd=x.l.arg("cmd")), label="fo_ioctl"),
    S(656, "fd_putfile(fd); return error;", lambda x: Ret(x.v("error"))),
)


def _sy_call(x: Ctx) -> Flow:
    return call(SYSENT[x.v("code")], ret="error")


kfunc(
    "syscall", "sys/arch/x86/x86/syscall.c",
    S(118, "code = frame->tf_rax; callp = p->p_emul->e_sysent + code;"),
    S(139, "error = sy_call(callp, l, args, rval);", _sy_call, label="sy_call"),
    S(163, "userret(l);", lambda x: call("userret"), label="userret"),
    S(164, "}", lambda x: Ret(x.v("error"))),
)


def _want(x: Ctx) -> Flow:
    if x.cpu.ci_want_resched or x.l.l_dopreempt & DOPREEMPT_ACTIVE:
        return call("preempt")
    return Goto("out")


kfunc(
    "userret", "sys/sys/userret.h",
    S(88, "if (__predict_false(ci->ci_want_resched)) preempt();", _want, label="top"),
    S(89, "}", lambda x: Goto("top")),
    S(112, "}", lambda x: Ret(), label="out"),
)
