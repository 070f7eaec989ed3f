"""Constants of the 2018 kernel: sys/lwp.h, sys/sched.h, sys/param.h, intrdefs.h.

Values are the kernel's own (lwp.h 1.179, sched.h 1.76, param.h).
"""

from __future__ import annotations

# l_stat (lwp.h l.283-291)
LSIDL = 1
LSRUN = 2
LSSLEEP = 3
LSSTOP = 4
LSZOMB = 5
LSDEAD = 6
LSONPROC = 7
LSSUSPENDED = 8

LS_NAMES = {
    LSIDL: "LSIDL", LSRUN: "LSRUN", LSSLEEP: "LSSLEEP", LSSTOP: "LSSTOP",
    LSZOMB: "LSZOMB", LSDEAD: "LSDEAD", LSONPROC: "LSONPROC",
    LSSUSPENDED: "LSSUSPENDED",
}

# l_flag (lwp.h l.232-246)
LW_IDLE = 0x00000001
LW_LWPCTL = 0x00000002
LW_CVLOCKDEBUG = 0x00000004
LW_SINTR = 0x00000080
LW_SYSTEM = 0x00000200
LW_WSUSPEND = 0x00020000
LW_BATCH = 0x00040000
LW_WCORE = 0x00080000
LW_WEXIT = 0x00100000
LW_PENDSIG = 0x01000000
LW_CANCELLED = 0x02000000
LW_WREBOOT = 0x08000000
LW_UNPARKED = 0x10000000

LW_NAMES = (
    (LW_IDLE, "LW_IDLE"), (LW_LWPCTL, "LW_LWPCTL"),
    (LW_CVLOCKDEBUG, "LW_CVLOCKDEBUG"), (LW_SINTR, "LW_SINTR"),
    (LW_SYSTEM, "LW_SYSTEM"), (LW_WSUSPEND, "LW_WSUSPEND"),
    (LW_BATCH, "LW_BATCH"), (LW_WCORE, "LW_WCORE"), (LW_WEXIT, "LW_WEXIT"),
    (LW_PENDSIG, "LW_PENDSIG"), (LW_CANCELLED, "LW_CANCELLED"),
    (LW_WREBOOT, "LW_WREBOOT"), (LW_UNPARKED, "LW_UNPARKED"),
)

# l_pflag (lwp.h l.249-262)
LP_KTRACTIVE = 0x00000001
LP_KTRCSW = 0x00000002
LP_KTRCSWUSER = 0x00000004
LP_PIDLID = 0x00000008
LP_OWEUPC = 0x00000010
LP_MPSAFE = 0x00000020
LP_INTR = 0x00000040
LP_SYSCTLWRITE = 0x00000080
LP_MUSTJOIN = 0x00000100
LP_VFORKWAIT = 0x00000200
LP_SINGLESTEP = 0x00000400
LP_TIMEINTR = 0x00010000
LP_RUNNING = 0x20000000
LP_BOUND = 0x80000000

LP_NAMES = (
    (LP_KTRACTIVE, "LP_KTRACTIVE"), (LP_KTRCSW, "LP_KTRCSW"),
    (LP_KTRCSWUSER, "LP_KTRCSWUSER"), (LP_PIDLID, "LP_PIDLID"),
    (LP_OWEUPC, "LP_OWEUPC"), (LP_MPSAFE, "LP_MPSAFE"), (LP_INTR, "LP_INTR"),
    (LP_SYSCTLWRITE, "LP_SYSCTLWRITE"), (LP_MUSTJOIN, "LP_MUSTJOIN"),
    (LP_VFORKWAIT, "LP_VFORKWAIT"), (LP_SINGLESTEP, "LP_SINGLESTEP"),
    (LP_TIMEINTR, "LP_TIMEINTR"), (LP_RUNNING, "LP_RUNNING"),
    (LP_BOUND, "LP_BOUND"),
)

# l_dopreempt
DOPREEMPT_ACTIVE = 0x01
DOPREEMPT_COUNTED = 0x02

# spc_flags (sched.h)
SPCF_SEENRR = 0x0001
SPCF_SHOULDYIELD = 0x0002
SPCF_OFFLINE = 0x0004
SPCF_RUNNING = 0x0008
SPCF_NOINTR = 0x0010
SPCF_SWITCHCLEAR = SPCF_SEENRR | SPCF_SHOULDYIELD

SPCF_NAMES = (
    (SPCF_SEENRR, "SPCF_SEENRR"), (SPCF_SHOULDYIELD, "SPCF_SHOULDYIELD"),
    (SPCF_OFFLINE, "SPCF_OFFLINE"), (SPCF_RUNNING, "SPCF_RUNNING"),
    (SPCF_NOINTR, "SPCF_NOINTR"),
)

# resched flags (sys/cpu.h)
RESCHED_LAZY = 0x01
RESCHED_IMMED = 0x02
RESCHED_KPREEMPT = 0x04

# priorities (sys/param.h)
PRI_COUNT = 224
PRI_USER = 0
MAXPRI_USER = 63
PRI_KERNEL = 64
PRI_KTHREAD = 96
MAXPRI_KTHREAD = 127
PRI_USER_RT = 128
PRI_KERNEL_RT = 192
PRI_IDLE = PRI_USER
PRI_VM = MAXPRI_KTHREAD - 2
PRI_XCALL = MAXPRI_KTHREAD  # sys/param.h: the xcall/N threads (subr_xcall.c l.245)

# x86 IPLs (intrdefs.h)
# The kernel configuration every config-dependent choice follows: amd64
# GENERIC of 2018, which has options DIAGNOSTIC (KASSERTs compiled in) and
# neither DEBUG nor LOCKDEBUG: no psref_check_duplication/existence,
# sched_kpreempt_pri = PRI_USER_RT, no LOCKDEBUG lock records. NET_MPSAFE
# is off, so wm(4) runs without WM_MPSAFE and doifioctl() takes the kernel
# lock around it (a scenario's [kernel] net_mpsafe = true turns it on).
KERNCONF = "GENERIC"
KERNCONF_OPTIONS = ("DIAGNOSTIC",)

# x86 soft interrupts (intrdefs.h): the preemption request's bit in ci_ipending
SIR_PREEMPT = 25

# if_extflags (net/if.h 1.266)
IFEF_MPSAFE = 0x0001

IPL_NONE = 0
IPL_PREEMPT = 1
IPL_SOFTCLOCK = 2
IPL_SOFTBIO = 3
IPL_SOFTNET = 4
IPL_SOFTSERIAL = 5
IPL_VM = 6
IPL_SCHED = 7
IPL_HIGH = 8
IPL_CLOCK = IPL_SCHED

# amd64 trap numbers (x86 trap.h) and syscall numbers (syscalls.master)
T_BPTFLT = 1
SYS_ioctl = 54

# x86 psl.h: the trace flag. ddb single-steps with db_set_single_step(),
# tf_rflags |= PSL_T (amd64 db_machdep.h l.75); the #DB frame keeps it.
PSL_T = 0x00000100

# ci_flags (x86 cpu.h l.314-323)
CPUF_BSP = 0x0001
CPUF_AP = 0x0002
CPUF_SP = 0x0004
CPUF_PRIMARY = 0x0008
CPUF_SYNCTSC = 0x0800
CPUF_PRESENT = 0x1000
CPUF_RUNNING = 0x2000
CPUF_PAUSE = 0x4000
CPUF_GO = 0x8000

# amd64 param.h: the u-area holds the pcb, then the kernel stack.
USPACE = 0x4000


def bits(value: int, names: tuple[tuple[int, str], ...]) -> str:
    """Decode a flag word the way a kernel hacker reads it: A|B|0x..."""
    out = [name for bit, name in names if value & bit]
    rest = value & ~sum(bit for bit, _ in names)
    if rest:
        out.append(f"{rest:#x}")
    return "|".join(out) if out else "0"

# sched_4bsd.c l.163-166: the CPU usage estimator's fixpoint.
ESTCPU_SHIFT = 11
PRIO_MAX = 20
ESTCPU_MAX = (PRIO_MAX - 2) << ESTCPU_SHIFT
ESTCPU_ACCUM = 1 << (ESTCPU_SHIFT - 1)
NZERO = 20  # p_nice of nice 0
FSHIFT = 11
FSCALE = 1 << FSHIFT

# Processor sets (sys/pset.h): psetid_t 0 is no set; every CPU and LWP
# starts in it (kern_lwp.c l.278 .l_psid = PS_NONE).
PS_NONE = 0
# idtype_t (sys/idtype.h): psrset(8) -b binds a process, P_PID.
P_PID = 1
SYS__pset_bind = 415
