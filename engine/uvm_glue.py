"""uvm_scheduler() (uvm_glue.c l.495-509): lwp0's loop."""

from __future__ import annotations

from engine.machine import Goto, S, call, kfunc

kfunc(
    "uvm_scheduler", "sys/uvm/uvm_glue.c",
    S(506, "sched_pstats();", lambda x: call("sched_pstats"), label="top"),
    S(507, '(void)kpause("uvm", false, hz, NULL);',
      lambda x: call("kpause", wchan="uvm", wmesg="uvm", timo=x.k.config.hz),
      label="kpause"),
    S(505, "for (;;) {", lambda x: Goto("top")),
)
