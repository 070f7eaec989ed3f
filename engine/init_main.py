"""Boot: a Scenario becomes the initial Kernel (sys/kern/init_main.c's job).

Per CPU, the first LWP the scenario gives it is running (LSONPROC), the
rest wait on its run queue in order; a CPU with none runs its idle LWP.
Every CPU gets an idle LWP (pid 0, idle/N).
"""

from __future__ import annotations

# Importing the kernel modules registers their functions.
from engine import (  # noqa: F401
    amd64_trap,
    if_ethersubr,
    if_wm,
    kern_clock,
    kern_cpu,
    kern_idle,
    kern_lock,
    kern_lwp_migrate,
    kern_runq,
    kern_sleepq,
    kern_synch,
    net_if,
    programs,
    sched_4bsd,
    slpdev,
    subr_prf,
    subr_pserialize,
    subr_psref,
    symtab,
    sys_generic,
    sys_pset,
    uvm_glue,
)
from engine.kern_runq import runq_insert, spc_lwplock, spc_mutex
from engine.kernel import Config, Cpu, Frame, Ifnet, Kernel, Lwp, Proc, Psref
from engine.param import (
    ESTCPU_MAX,
    ESTCPU_SHIFT,
    FSCALE,
    IFEF_MPSAFE,
    LP_BOUND,
    LP_MPSAFE,
    LP_RUNNING,
    LSIDL,
    LSONPROC,
    LSRUN,
    LW_BATCH,
    LW_IDLE,
    LW_SYSTEM,
    NZERO,
    PRI_IDLE,
    PRI_KERNEL,
    PRI_VM,
    PRI_XCALL,
    USPACE,
)
from engine.programs import PROGRAMS
from engine.scenario import Scenario


def nice_for(pri: int) -> int:
    """The p_nice (NZERO + nice, 0..2 * NZERO) whose estimator range reaches pri."""
    return max(0, min(2 * NZERO, (PRI_KERNEL - 1) - pri))


def estcpu_for(pri: int, p_nice: int) -> int:
    """l_estcpu with resetpriority(l) == pri for that nice (sched_4bsd.c l.388)."""
    return min(ESTCPU_MAX, max(0, (PRI_KERNEL - 1) - p_nice - pri) << ESTCPU_SHIFT)


DEFAULT_PRIORITY = {"ioctl": 43, "hog": 10, "uvm_scheduler": PRI_VM, "setaffinity": 43,
                    "psrset": 43, "xcall": PRI_XCALL}


def boot(sc: Scenario, fix: bool | None = None, checks: tuple[str, ...] = (),
         complete: bool = False) -> Kernel:
    """The scenario's machine at its first statement; checks: the properties
    checked besides the kernel's KASSERTs (engine.machine, "bound-stays");
    complete: the report's fix and ddbstep's proposal (engine.lp_bound)."""
    md = symtab.md
    config = Config(
        checks=checks or sc.checks,
        complete=complete,
        ncpu=sc.ncpu,
        fix=complete or (sc.fix if fix is None else fix),
        srcroot=sc.srcroot,
        hz=sc.hz,
        rrticks=sc.rrticks,
        net_mpsafe=sc.net_mpsafe,
        boot_ticks=sc.hardclock_ticks,
        # averunnable.ldavg[0], fixed at boot: the LWPs the scenario starts with.
        loadavg=FSCALE * max(1, len(sc.lwps)),
    )
    pids = sorted({s.pid for s in sc.lwps} | {0})
    comm = {s.pid: s.comm for s in sc.lwps}
    comm[0] = "system"
    # A SCHED_OTHER priority is what resetpriority() makes of l_estcpu and
    # p_nice: each process gets the nice, and each LWP the estimator, that
    # give the scenario's priority (the lowest nice that reaches it).
    first_prio: dict[int, int] = {}
    for s in sc.lwps:
        if not PROGRAMS[s.program][1]:
            pri = s.priority if s.priority is not None else DEFAULT_PRIORITY[s.program]
            first_prio.setdefault(s.pid, pri)
    procs = tuple(
        Proc(pid, comm[pid], md("proc_base") + 0x480 * i,
             p_nice=nice_for(first_prio[pid]) if pid in first_prio else NZERO)
        for i, pid in enumerate(pids)
    )
    pindex = {p.p_pid: i for i, p in enumerate(procs)}
    ifnets = tuple(
        # wm_attach(): ifp->if_extflags = IFEF_MPSAFE under WM_MPSAFE (if_wm.c l.2704).
        Ifnet(name, i, md("ifnet_base") + 0x1000 * i,
              if_extflags=IFEF_MPSAFE if sc.net_mpsafe else 0)
        for i, name in enumerate(sc.interfaces)
    )

    lwps: list[Lwp] = []
    psrefs: list[Psref] = []
    for i, s in enumerate(sc.lwps):
        entry, kthread = PROGRAMS[s.program]
        cpu_bound = s.program in ("ioctl", "hog")
        addr = s.addr if s.addr is not None else md("lwp_base") + md("lwp_stride") * i
        kstack = (
            s.kstack if s.kstack is not None
            else md("kstack_base") + md("kstack_stride") * i + md("pcb_size")
        )
        args: dict[str, object] = {}
        if kthread:
            args["class"] = "SCHED_FIFO"
        if s.program == "ioctl":
            # struct psref psref; in doifioctl()'s frame, under syscall and sys_ioctl.
            top = kstack - md("pcb_size") + USPACE
            depth = sum(int(symtab.entry(f).get("frame", 0))
                        for f in ("syscall", "sys_ioctl", "doifioctl"))
            psrefs.append(Psref(len(psrefs), None, None, None, top - depth + 0x40))
            args.update(ifname=s.ifname, cmd="SIOCGIFFLAGS", sleep=s.sleep, bind=s.bind,
                        psref=len(psrefs) - 1)
        if s.program == "setaffinity":
            pid_s, _, lid_s = (s.target or "").partition(".")
            args.update(target=(int(pid_s), int(lid_s or 1)), to_cpu=s.to_cpu)
        if s.program == "psrset":
            args.update(target=(int(s.target or 0), 0), psid=s.pset)
        batch = s.batch if s.batch is not None else cpu_bound
        lwps.append(Lwp(
            idx=i, l_lid=s.lid, l_proc=pindex[s.pid], l_name=s.name,
            l_stat=LSIDL, l_flag=(LW_SYSTEM if kthread else 0) | (LW_BATCH if batch else 0),
            # kthread_create() with a CPU binds the thread to it (kern_kthread.c l.117).
            l_pflag=(LP_MPSAFE | (LP_BOUND if s.program == "xcall" else 0)) if kthread else 0,
            l_cpu=s.cpu, l_target_cpu=None,
            l_priority=s.priority if s.priority is not None else DEFAULT_PRIORITY[s.program],
            l_kpriority=False, l_kpribase=PRI_KERNEL,
            l_rticks=s.rticks or 0,
            l_rticksum=s.rticksum if s.rticksum is not None else (sc.hz if cpu_bound else 0),
            l_slpticks=s.slpticks or 0, l_slpticksum=s.slpticksum or 0,
            l_slptime=s.slptime or 0, l_swtime=0, l_wchan=None, l_wmesg=None,
            l_mutex="", l_nopreempt=0, l_dopreempt=0, l_ctxswtch=0, l_blcnt=0,
            l_timeout=None, addr=addr, kstack=kstack, program=s.program,
            args=tuple(sorted(args.items())), stack=(Frame(entry),),
            l_estcpu=0 if kthread else estcpu_for(
                s.priority if s.priority is not None else DEFAULT_PRIORITY[s.program],
                procs[pindex[s.pid]].p_nice),
        ))

    # Idle LWPs: pid 0, lids after the scenario's pid 0 LWPs.
    lid0 = max([s.lid for s in sc.lwps if s.pid == 0], default=1)
    cpus: list[Cpu] = []
    for ci in range(sc.ncpu):
        idx = len(lwps)
        n = len(sc.lwps) + ci
        lwps.append(Lwp(
            idx=idx, l_lid=lid0 + 1 + ci, l_proc=pindex[0], l_name=f"idle/{ci}",
            # kthread_create(PRI_IDLE, KTHREAD_MPSAFE | KTHREAD_IDLE, ci, ...)
            # binds the LWP to ci: l_pflag |= LP_BOUND (kern_kthread.c l.117).
            l_stat=LSIDL, l_flag=LW_IDLE | LW_SYSTEM, l_pflag=LP_MPSAFE | LP_BOUND, l_cpu=ci,
            l_target_cpu=None, l_priority=PRI_IDLE, l_kpriority=False,
            l_kpribase=PRI_KERNEL, l_rticks=0, l_rticksum=0, l_slpticks=0,
            l_slpticksum=0, l_slptime=0, l_swtime=0, l_wchan=None, l_wmesg=None,
            l_mutex=spc_lwplock(ci), l_nopreempt=0, l_dopreempt=0, l_ctxswtch=0,
            l_blcnt=0, l_timeout=None, addr=md("lwp_base") + md("lwp_stride") * n,
            kstack=md("kstack_base") + md("kstack_stride") * n + md("pcb_size"),
            program="idle", args=(("class", "SCHED_IDLE"),), stack=(Frame("idle_loop"),),
        ))
        addr = md("cpu_info_primary") if ci == 0 else (
            md("cpu_info_base") + md("cpu_info_stride") * (ci - 1))
        cr2 = next((c.cr2 for c in sc.cpus if c.index == ci), 0)
        cpus.append(Cpu(
            ci_index=ci, addr=addr, ci_curlwp=idx, ci_idlelwp=idx, ci_want_resched=0,
            ci_ilevel=0, ci_mtx_count=0, ci_mtx_oldspl=0, spc_migrating=None,
            spc_curpriority=PRI_IDLE, spc_flags=0, spc_ticks=sc.rrticks, runq=(),
            r_count=0, r_mcount=0, r_avgcount=0, psrefs=(), cr2=cr2, in_ddb=False,
            spc_psid=next((c.pset for c in sc.cpus if c.index == ci), 0),
        ))

    k = Kernel(
        config=config, procs=procs, ifnets=ifnets, lwps=lwps, cpus=cpus, psrefs=psrefs,
        locks={}, hardclock_ticks=sc.hardclock_ticks, worker_ci=0, panicstr=None,
        paniccpu=None, msgbuf=(),
    )
    for ci in range(sc.ncpu):
        mine = [lw for lw in lwps[: len(sc.lwps)] if lw.l_cpu == ci]
        cpu = k.cpus[ci]
        if not mine:
            idle = k.lwps[cpu.ci_idlelwp]
            idle.l_stat = LSONPROC
            idle.l_pflag |= LP_RUNNING
            continue
        first, rest = mine[0], mine[1:]
        first.l_stat = LSONPROC
        first.l_pflag |= LP_RUNNING
        first.l_mutex = spc_lwplock(ci)
        first.l_rticks = first.l_rticks or 0
        cpu.ci_curlwp = first.idx
        cpu.spc_curpriority = k.lwp_eprio(first)
        for lw in rest:
            lw.l_stat = LSRUN
            lw.l_mutex = spc_mutex(ci)
            # (An xcall/N thread queued here was woken with its request
            # posted while the running LWP was in the kernel: the
            # RESCHED_IMMED sched_enqueue() asked for (PRI_XCALL is below
            # sched_kpreempt_pri) is taken on that LWP's way back to user
            # space, after anything it sleeps for. The boot starts LWPs in
            # user space, so it leaves ci_want_resched clear: the running
            # LWP's sleep, or the clock, switches to it.)
            runq_insert(k, lw)
    return k
