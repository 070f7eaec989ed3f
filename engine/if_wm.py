"""The driver under doifioctl(): wm_ioctl() (if_wm.c 1.589).

SIOCGIFFLAGS takes wm_ioctl's default case, ether_ioctl() -> ifioctl_common().
GENERIC has no NET_MPSAFE, so no WM_MPSAFE: the whole switch runs at
splnet() (l.3206-3207, 3277-3279), under the kernel lock doifioctl() took.
With [kernel] net_mpsafe = true (options NET_MPSAFE, so WM_MPSAFE), only
ether_ioctl() is at splnet() (l.3248-3255) and doifioctl() takes no kernel
lock (wm_attach() sets IFEF_MPSAFE). One statement list holds both
configurations, GENERIC's first in source order, then WM_MPSAFE's default
case: each steps over the other's lines, except the first, which under
NET_MPSAFE is a step that does nothing (l.3206 is not compiled there).
WM_CORE_LOCK is not on this path.
"""

from __future__ import annotations

from engine.machine import Ctx, Flow, Goto, Ret, S, call, kfunc, splraise, splx
from engine.param import IPL_VM

IPL_NET = IPL_VM  # x86 intr.h: IPL_NET is IPL_VM
_splnet = splraise(IPL_NET)


def _spl_unless_mpsafe(x: Ctx) -> Flow:
    # #ifndef WM_MPSAFE
    return None if x.k.config.net_mpsafe else _splnet(x)


def _switch(x: Ctx) -> Flow:
    # cmd is SIOCGIFFLAGS: the default case.
    return Goto("mpsafe") if x.k.config.net_mpsafe else None


def _ether_ioctl(x: Ctx) -> Flow:
    return call("ether_ioctl", ret="error", ifp=x.v("ifp"), cmd=x.v("cmd"))


def _splx_mpsafe(x: Ctx) -> Flow:
    splx(x)
    return Goto("break")


def _break(x: Ctx) -> Flow:
    # SIOCGIFFLAGS never asks for ENETRESET; without WM_MPSAFE, on to splx(s).
    return Goto("return") if x.k.config.net_mpsafe else None


kfunc(
    "wm_ioctl", "sys/dev/pci/if_wm.c",
    S(3206, "s = splnet();", _spl_unless_mpsafe),
    S(3208, "switch (cmd) {", _switch),
    # default: without WM_MPSAFE (GENERIC)
    S(3252, "error = ether_ioctl(ifp, cmd, data);", _ether_ioctl, label="ether_ioctl"),
    S(3256, "if (error != ENETRESET) break;", _break, label="break"),
    # #ifndef WM_MPSAFE
    S(3278, "splx(s);", splx),
    S(3280, "return error;", lambda x: Ret(x.v("error")), label="return"),
    # default: under WM_MPSAFE (NET_MPSAFE), after the GENERIC path so that
    # GENERIC's statements read in source order
    S(3249, "s = splnet();", _splnet, label="mpsafe"),
    S(3252, "error = ether_ioctl(ifp, cmd, data);", _ether_ioctl, label="ether_ioctl_mpsafe"),
    S(3254, "splx(s);", _splx_mpsafe),
)
