"""The driver under doifioctl(): wm_ioctl() and its interrupt (if_wm.c).

The handler is where the LWP leaves the CPU while bound and holding the
psref: by in-kernel preemption at any statement (the clock drives it), or,
for an LWP whose scenario says `sleep = true`, by waiting in cv_wait() for
the device, which wm_intr() ends with cv_broadcast().
"""

from __future__ import annotations

from engine.machine import Ctx, Flow, Goto, Ret, S, call, kfunc


def _wait_p(x: Ctx) -> Flow:
    return None if x.l.arg("sleep", False) else Goto("done")


kfunc(
    "wm_ioctl", "sys/dev/pci/if_wm.c",
    S(3322, "WM_CORE_LOCK(sc);"),
    S(3338, "error = ether_ioctl(ifp, cmd, data);"),
    S(3339, "if (error == ENETRESET) error = wm_init_locked(ifp);"),
    S(3344, "if (sc->sc_flags & WM_F_WAIT_HW) {", _wait_p),
    S(3345, "cv_wait(&sc->sc_cv, sc->sc_core_lock);",
      lambda x: call("cv_wait", wchan=x.k.ifnets[x.v("ifp")].if_xname,
                     wmesg=x.k.ifnets[x.v("ifp")].if_xname), label="cv_wait"),
    S(3347, "WM_CORE_UNLOCK(sc);", label="done"),
    S(3349, "return error;", lambda x: Ret(0)),
)

kfunc(
    "wm_intr", "sys/dev/pci/if_wm.c",
    S(9100, "handled = wm_txrxintr(sc);"),
    S(9104, "cv_broadcast(&sc->sc_cv);",
      lambda x: call("cv_broadcast", cv=x.v("dev")), label="cv_broadcast"),
    S(9106, "return handled;", lambda x: Ret(1)),
    atomic=True,
)
