"""if_ethersubr.c 1.270: ether_ioctl(), which leaves SIOCGIFFLAGS to
ifioctl_common() (if.c)."""

from __future__ import annotations

from engine.machine import Goto, Ret, S, call, kfunc

kfunc(
    "ether_ioctl", "sys/net/if_ethersubr.c",
    S(1390, "switch (cmd) {", lambda x: Goto("default")),
    S(1488, "return ifioctl_common(ifp, cmd, data);",
      lambda x: call("ifioctl_common", ret="error", ifp=x.v("ifp"), cmd=x.v("cmd")),
      label="default"),
    S(1491, "}", lambda x: Ret(x.v("error"))),
)
