"""sys/kern/kern_cpu.c 1.74 cpu_xc_offline(), run by the CPU's xcall thread
(sys/kern/subr_xcall.c xc_thread()).

`cpuctl offline N` asks cpu_setstate(), which sends cpu_xc_offline() to
CPU N's xcall/N thread (xc_unicast(), l.411) and waits. The thread marks
its CPU SPCF_OFFLINE and hands every LWP whose l_cpu is that CPU to
lwp_migrate(), skipping LP_BOUND and LP_INTR ones (l.360): a bound LWP
stays on an offline CPU.

Simplified: cpuctl(8), cpu_setstate() and xc_unicast() are not modeled.
The scenario's xcall/N thread starts on CPU N's run queue with the
request posted (ci_data.cpu_xcall_pending), as cv_signal() ->
setrunnable() -> sched_enqueue() left it during the running LWP's
syscall (init_main: the switch comes at that LWP's sleep or the clock).
xc_lock, proc_lock and cpu_lock are not modeled (one caller).
"""

from __future__ import annotations

from engine.kern_lwp import lwp_lock, lwp_unlock
from engine.kern_synch import allproc
from engine.machine import SPIN, Ctx, Flow, Goto, Ret, S, call, kfunc
from engine.param import LP_BOUND, LP_INTR, SPCF_OFFLINE

FILE = "sys/kern/kern_cpu.c"


def _offline(x: Ctx) -> Flow:
    # splsched() .. splx() around it: this CPU's own field.
    x.cpu.spc_flags |= SPCF_OFFLINE
    return None


def _target(x: Ctx) -> Flow:
    # Take the first available CPU for the migration.
    on = [c.ci_index for c in x.k.cpus if not c.spc_flags & SPCF_OFFLINE]
    x.set("target_ci", on[0] if on else None)
    x.set("lwps", tuple(l.idx for l in allproc(x.k)))
    x.set("i", 0)
    return None


def _lock(x: Ctx) -> Flow:
    lwps, i = x.v("lwps"), x.v("i")
    if i >= len(lwps):
        return Goto("done")
    l = x.lwp(lwps[i])
    if not lwp_lock(x, l):
        return SPIN
    x.set("l", l.idx)
    x.set("lk", l.l_mutex)
    if l.l_cpu != x.ci or l.l_pflag & (LP_BOUND | LP_INTR):
        lwp_unlock(x, l)
        x.set("i", i + 1)
        return Goto("next")
    return None


def _regular(x: Ctx) -> Flow:
    if x.lwp(x.v("l")).l_affinity is None:
        x.set("mci", x.v("target_ci"))
        return Goto("migrate")
    return None


def _affinity(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    assert l.l_affinity is not None
    mci = next((c.ci_index for c in x.k.cpus
                if not c.spc_flags & SPCF_OFFLINE and c.ci_index in l.l_affinity), None)
    if mci is None:
        # lwp_unlock(l); mutex_exit(proc_lock); goto fail;
        lwp_unlock(x, l)
        x.cpu.spc_flags &= ~SPCF_OFFLINE
        return Ret()
    x.set("mci", mci)
    return None


def _next_lwp(x: Ctx) -> Flow:
    x.set("i", x.v("i") + 1)
    return Goto("next")


kfunc(
    "cpu_xc_offline", FILE,
    S(339, "s = splsched(); spc->spc_flags |= SPCF_OFFLINE; splx(s);", _offline),
    # One step: a lockless scan of every CPU's spc_flags.
    S(344, "for (CPU_INFO_FOREACH(cii, target_ci)) { mspc = &target_ci->ci_schedstate; "
      "if ((mspc->spc_flags & SPCF_OFFLINE) == 0) break; }", _target),
    # alllwp is walked in allproc's order (the model keeps no alllwp list).
    # One step: the LWP's lock is held across the test, let go if it fails.
    S(359, "lwp_lock(l); if (l->l_cpu != ci || (l->l_pflag & (LP_BOUND | LP_INTR))) "
      "{ lwp_unlock(l); continue; }", _lock, label="next"),
    S(365, "if (l->l_affinity == NULL) { lwp_migrate(l, target_ci); continue; }", _regular),
    # One step: the scan reads this CPU set's flags, under l's lock.
    S(370, "for (CPU_INFO_FOREACH(cii, mci)) { ... } if (mci == NULL) { lwp_unlock(l); "
      "mutex_exit(proc_lock); goto fail; }", _affinity),
    S(381, "lwp_migrate(l, mci);",
      lambda x: call("lwp_migrate", l=x.v("l"), tci=x.v("mci"), lk=x.v("lk")),
      label="migrate"),
    S(381, "lwp_migrate(l, mci);", _next_lwp),
    S(392, "return;", lambda x: Ret(), label="done"),
)


kfunc(
    "xc_thread", "sys/kern/subr_xcall.c",
    # The request is posted: ci_data.cpu_xcall_pending (l.384) is true at
    # boot, and the one function is cpu_xc_offline(curcpu()).
    S(391, "ci->ci_data.cpu_xcall_pending = false; func = xc->xc_func; ...",
      ),
    S(398, "(*func)(arg1, arg2);", lambda x: call("cpu_xc_offline"), label="func"),
    # No other request comes: the thread waits on its CPU's cv for good.
    S(388, "cv_wait(&ci->ci_data.cpu_xcall, &xc->xc_lock);",
      lambda x: call("cv_wait", wchan="xcall", wmesg="xcall"), label="wait"),
    S(389, "KASSERT(ci == curcpu());", lambda x: Goto("wait")),
)
