"""sys/net/if.c 1.437: doifioctl(), if_get(), if_put().

doifioctl() binds the LWP to its CPU (curlwp_bind) before if_get() takes
a psref on the interface, and unbinds after if_put() releases it: the
bound-and-holding window of the report.
"""

from __future__ import annotations

from engine.machine import Ctx, Flow, Goto, Ret, S, call, kfunc, splraise, splx
from engine.param import IPL_SOFTSERIAL, LP_BOUND
from engine.subr_prf import KASSERT

# -- curlwp_bind()/curlwp_bindx() (sys/lwp.h 1.179 l.527-551), inline ------------------


def _bind_save(x: Ctx) -> Flow:
    x.set("bound", x.l.l_pflag & LP_BOUND)
    return None


def _bind_set(x: Ctx) -> Flow:
    # No lock, no kpreempt_disable(), and l_target_cpu is left as it is.
    x.l.l_pflag |= LP_BOUND
    return None


kfunc(
    "curlwp_bind", "sys/sys/lwp.h",
    S(537, "bound = curlwp->l_pflag & LP_BOUND;", _bind_save),
    S(538, "curlwp->l_pflag |= LP_BOUND;", _bind_set),
    S(541, "return bound;", lambda x: Ret(x.v("bound"))),
    inline=True,
)


def _bindx_assert(x: Ctx) -> Flow:
    return KASSERT(x, bool(x.l.l_pflag & LP_BOUND), "curlwp->l_pflag & LP_BOUND")


def _bindx(x: Ctx) -> Flow:
    x.l.l_pflag ^= x.v("bound") ^ LP_BOUND
    return None


kfunc(
    "curlwp_bindx", "sys/sys/lwp.h",
    S(548, "KASSERT(curlwp->l_pflag & LP_BOUND);", _bindx_assert),
    S(550, "curlwp->l_pflag ^= bound ^ LP_BOUND;", _bindx),
    S(551, "}", lambda x: Ret()),
    inline=True,
)


# -- if_get(name, psref) / if_put(ifp, psref) ------------------------------------------


def _lookup(x: Ctx) -> Flow:
    for ifp in x.k.ifnets:
        if ifp.if_xname == x.v("name"):
            x.set("ifp", ifp.if_index)
            return None
    x.set("ifp", None)
    return Goto("exit")


kfunc(
    "if_get", "sys/net/if.c",
    S(2729, "s = pserialize_read_enter();", splraise(IPL_SOFTSERIAL)),  # splsoftserial()
    # One step: the list walk reads only the (static) ifnet list.
    S(2730, "IFNET_READER_FOREACH(ifp) { if (if_is_deactivated(ifp)) continue; "
      "if (strcmp(ifp->if_xname, name) == 0) {", _lookup),
    S(2734, "psref_acquire(psref, &ifp->if_psref, ifnet_psref_class);",
      lambda x: call("psref_acquire", psref=x.v("psref"), target=x.v("ifp")),
      label="psref_acquire"),
    S(2740, "pserialize_read_exit(s);", splx, label="exit"),
    S(2741, "return ifp;", lambda x: Ret(x.v("ifp"))),
)

kfunc(
    "if_put", "sys/net/if.c",
    S(2752, "if (ifp == NULL) return;", lambda x: Ret() if x.v("ifp") is None else None),
    S(2755, "psref_release(psref, &ifp->if_psref, ifnet_psref_class);",
      lambda x: call("psref_release", psref=x.v("psref"), target=x.v("ifp")),
      label="psref_release"),
    S(2756, "}", lambda x: Ret()),
    inline=True,
)


# -- doifioctl(so, cmd, data, l): the general case ------------------------------------


def _no_ifp(x: Ctx) -> Flow:
    if x.v("ifp") is None:
        return call("curlwp_bindx", bound=x.v("bound"))
    return Goto("locked")


def _handler(x: Ctx) -> Flow:
    ifp = x.k.ifnets[x.v("ifp")]
    # sleep = true: the synthetic sleeping driver (engine/slpdev.py), not wm(4).
    drv = "slpdev" if x.l.arg("sleep", False) else ifp.if_xname.rstrip("0123456789")
    return call(drv + "_ioctl", ret="error", ifp=ifp.if_index, cmd=x.v("cmd"))


kfunc(
    "doifioctl", "sys/net/if.c",
    S(3199, "bound = curlwp_bind();", lambda x: call("curlwp_bind", ret="bound"),
      label="curlwp_bind"),
    S(3200, "ifp = if_get(ifr->ifr_name, &psref);",
      lambda x: call("if_get", ret="ifp", name=x.l.arg("ifname"),
                     psref=x.l.arg("psref")),
      label="if_get"),
    S(3201, "if (ifp == NULL) { curlwp_bindx(bound); return ENXIO; }", _no_ifp),
    S(3203, "return ENXIO;", lambda x: Ret(6)),
    # Not modeled (a no-op here): the kernel lock; see the README.
    S(3245, "KERNEL_LOCK_UNLESS_IFP_MPSAFE(ifp);", label="locked"),
    S(3246, "IFNET_LOCK(ifp);"),
    S(3248, "error = (*ifp->if_ioctl)(ifp, cmd, data);", _handler, label="if_ioctl"),
    S(3277, "IFNET_UNLOCK(ifp);"),
    S(3278, "KERNEL_UNLOCK_UNLESS_IFP_MPSAFE(ifp);"),
    S(3280, "if_put(ifp, &psref);",
      lambda x: call("if_put", ifp=x.v("ifp"), psref=x.l.arg("psref")), label="if_put"),
    S(3281, "curlwp_bindx(bound);", lambda x: call("curlwp_bindx", bound=x.v("bound")),
      label="curlwp_bindx"),
    S(3282, "return error;", lambda x: Ret(x.v("error", 0))),
)
