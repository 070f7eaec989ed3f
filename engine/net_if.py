"""sys/net/if.c 1.437: doifioctl(), if_get(), if_put().

doifioctl() binds the LWP to its CPU (curlwp_bind) before if_get() takes
a psref on the interface, and unbinds after if_put() releases it: the
bound-and-holding window of the report.
"""

from __future__ import annotations

from engine.machine import Ctx, Flow, Goto, Ret, S, call, kfunc
from engine.param import IFEF_MPSAFE, LP_BOUND
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
    S(2729, "s = pserialize_read_enter();", lambda x: call("pserialize_read_enter", ret="s"),
      label="pserialize_read_enter"),
    # One step: the list walk reads only the (static) ifnet list.
    S(2730, "IFNET_READER_FOREACH(ifp) { if (if_is_deactivated(ifp)) continue; "
      "if (strcmp(ifp->if_xname, name) == 0) {", _lookup),
    S(2734, "psref_acquire(psref, &ifp->if_psref, ifnet_psref_class);",
      lambda x: call("psref_acquire", psref=x.v("psref"), target=x.v("ifp")),
      label="psref_acquire"),
    S(2740, "pserialize_read_exit(s);", lambda x: call("pserialize_read_exit", s=x.v("s")),
      label="exit"),
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


# -- ifioctl_common(ifp, cmd, data): what ether_ioctl() leaves to if.c -------------------

kfunc(
    "ifioctl_common", "sys/net/if.c",
    # Only SIOCGIFFLAGS reaches the model (the ioctl program polls it).
    S(2894, "switch (cmd) {", lambda x: Goto("SIOCGIFFLAGS")),
    S(2967, "ifr = data; ifr->ifr_flags = ifp->if_flags; break;", label="SIOCGIFFLAGS"),
    S(3043, "return 0;", lambda x: Ret(0)),
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


def _kernel_lock_unless_mpsafe(x: Ctx) -> Flow:
    # if.h 1.266: if (!if_is_mpsafe(ifp)) KERNEL_LOCK(1, NULL); GENERIC's
    # wm(4) is not IFEF_MPSAFE (no NET_MPSAFE).
    if x.k.ifnets[x.v("ifp")].if_extflags & IFEF_MPSAFE:
        return None
    return call("_kernel_lock", nlocks=1)


def _kernel_unlock_unless_mpsafe(x: Ctx) -> Flow:
    # if (!if_is_mpsafe(ifp)) KERNEL_UNLOCK_ONE(NULL);
    if x.k.ifnets[x.v("ifp")].if_extflags & IFEF_MPSAFE:
        return None
    return call("_kernel_unlock", nlocks=1, countp=None)


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
    S(3245, "KERNEL_LOCK_UNLESS_IFP_MPSAFE(ifp);", _kernel_lock_unless_mpsafe,
      label="locked"),
    # Not modeled: IFNET_LOCK, an adaptive mutex that only another ioctl on
    # the same interface contends (README: what the model leaves out).
    S(3246, "IFNET_LOCK(ifp);"),
    S(3248, "error = (*ifp->if_ioctl)(ifp, cmd, data);", _handler, label="if_ioctl"),
    S(3277, "IFNET_UNLOCK(ifp);"),
    S(3278, "KERNEL_UNLOCK_UNLESS_IFP_MPSAFE(ifp);", _kernel_unlock_unless_mpsafe,
      label="unlock"),
    S(3280, "if_put(ifp, &psref);",
      lambda x: call("if_put", ifp=x.v("ifp"), psref=x.l.arg("psref")), label="if_put"),
    S(3281, "curlwp_bindx(bound);", lambda x: call("curlwp_bindx", bound=x.v("bound")),
      label="curlwp_bindx"),
    S(3282, "return error;", lambda x: Ret(x.v("error", 0))),
)
