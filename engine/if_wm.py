"""The driver under doifioctl(): wm_ioctl() (if_wm.c 1.589).

SIOCGIFFLAGS takes wm_ioctl's default case: without WM_MPSAFE (GENERIC has
no NET_MPSAFE) the whole switch runs at splnet(), and ether_ioctl() ->
ifioctl_common() answers it. ether_ioctl() is one step here: it neither
sleeps nor takes a lock the model tracks, and nothing in it is preemptible
(splnet). The clock can still preempt the LWP before splnet() and after
splx(), where the interrupt return path finds IPL_NONE.
"""

from __future__ import annotations

from engine.machine import Ctx, Flow, Ret, S, kfunc, splraise, splx
from engine.param import IPL_VM

IPL_NET = IPL_VM  # x86 intr.h: IPL_NET is IPL_VM


def _ether_ioctl(x: Ctx) -> Flow:
    x.set("error", 0)  # ifioctl_common(): SIOCGIFFLAGS copies if_flags out
    return None


kfunc(
    "wm_ioctl", "sys/dev/pci/if_wm.c",
    S(3206, "s = splnet();", splraise(IPL_NET)),
    S(3208, "switch (cmd) {"),
    S(3252, "error = ether_ioctl(ifp, cmd, data);", _ether_ioctl, label="ether_ioctl"),
    S(3256, "if (error != ENETRESET) break;"),
    S(3278, "splx(s);", splx),
    S(3280, "return error;", lambda x: Ret(x.v("error"))),
)
