"""What an LWP runs: the programs a scenario names, and their entry points.

  ioctl          a user process that calls ioctl(2) on an interface, again
                 and again (tcpdump's SIOCGIFFLAGS polling, say)
  hog            a user CPU hog: for (;;) x++;
  uvm_scheduler  lwp0's loop: sched_pstats(), then kpause() for hz ticks
  setaffinity    schedctl(8) -A: _sched_setaffinity() of one LWP
  psrset         psrset(8) -b: _pset_bind() of a process to a processor set
  xcall          the xcall/N thread with cpuctl(8)'s offline request posted
The idle LWP of each CPU runs idle_loop().
"""

from __future__ import annotations

from engine.machine import Goto, S, call, kfunc
from engine.param import SYS_ioctl

kfunc(
    "ioctl_user", "usr.sbin/tcpdump",
    S(1, "error = ioctl(fd, SIOCGIFFLAGS, &ifr);",
      lambda x: call("syscall", ret="error", code=SYS_ioctl), label="ioctl"),
    S(2, "goto again;", lambda x: Goto("ioctl")),
    user=True,
)

kfunc(
    "hog_user", "usr.bin/hog",
    S(1, "for (;;) x++;", lambda x: Goto("loop"), label="loop"),
    user=True,
)

# program name -> (entry function, kernel thread?)
PROGRAMS: dict[str, tuple[str, bool]] = {
    "ioctl": ("ioctl_user", False),
    "hog": ("hog_user", False),
    "uvm_scheduler": ("uvm_scheduler", True),
    "setaffinity": ("setaffinity_user", False),
    "psrset": ("psrset_user", False),
    "xcall": ("xc_thread", True),
}
