"""Synthetic kernel code, NOT NetBSD's: the slpdev driver and unbound_ifioctl.

slpdev: a synthetic driver.

No NetBSD file holds these functions (their Func.file is empty): they stand
for any driver whose ioctl sleeps for its device, which is what the
setaffinity-sleeping scenario needs (a bound LWP asleep while it holds a
psref). An LWP whose scenario says `sleep = true` gets this driver under
doifioctl(); `intr DEV` delivers slpdev_intr(), which wakes it. The kernel
code it calls (cv_wait, cv_broadcast and below) is the real kernel's.
"""

from __future__ import annotations

from engine.machine import Ctx, Flow, Ret, S, call, kfunc

FILE = ""  # not a NetBSD file

kfunc(
    "slpdev_ioctl", FILE,
    S(1, "mutex_enter(&sc->sc_lock);"),
    S(2, "cv_wait(&sc->sc_cv, &sc->sc_lock);",
      lambda x: call("cv_wait", wchan=x.k.ifnets[x.v("ifp")].if_xname,
                     wmesg=x.k.ifnets[x.v("ifp")].if_xname), label="cv_wait"),
    S(3, "mutex_exit(&sc->sc_lock);"),
    S(4, "return 0;", lambda x: Ret(0)),
)

kfunc(
    "slpdev_intr", FILE,
    S(1, "cv_broadcast(&sc->sc_cv);",
      lambda x: call("cv_broadcast", cv=x.v("dev")), label="cv_broadcast"),
    S(2, "return 1;", lambda x: Ret(1)),
    atomic=True,
)


# -- unbound_ifioctl: doifioctl() as it would be without curlwp_bind() ----------------
#
# Also SYNTHETIC, not NetBSD code: the ioctl path of a caller written without
# curlwp_bind()/curlwp_bindx() around if_get()/if_put(), as an LWP whose
# scenario says `bind = false` runs it (the psref-unbound scenario). Every
# function it calls is the real kernel's.


def _unbound_no_ifp(x: Ctx) -> Flow:
    return Ret(6) if x.v("ifp") is None else None  # ENXIO


def _unbound_handler(x: Ctx) -> Flow:
    ifp = x.k.ifnets[x.v("ifp")]
    return call(ifp.if_xname.rstrip("0123456789") + "_ioctl", ret="error",
                ifp=ifp.if_index, cmd=x.v("cmd"))


kfunc(
    "unbound_ifioctl", FILE,
    S(1, "ifp = if_get(ifr->ifr_name, &psref);",
      lambda x: call("if_get", ret="ifp", name=x.l.arg("ifname"), psref=x.l.arg("psref")),
      label="if_get"),
    S(2, "if (ifp == NULL) return ENXIO;", _unbound_no_ifp),
    S(3, "error = (*ifp->if_ioctl)(ifp, cmd, data);", _unbound_handler, label="if_ioctl"),
    S(4, "if_put(ifp, &psref);",
      lambda x: call("if_put", ifp=x.v("ifp"), psref=x.l.arg("psref")), label="if_put"),
    S(5, "return error;", lambda x: Ret(x.v("error", 0))),
)
