"""The visited set: states' 64-bit keys, the closed ones in one array, the
open ones packed with their cost, budget, path and sleep set.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable
from typing import Any

import attrs

from engine.explore.moves import Move
from engine.explore.reduction import _Sleeper
from engine.kernel import FP_MASK, Cpu, Kernel, Lwp, _key, _mix64, hkey, view

_CLOSED = 0  # (cost_of a closed state: no more than any cost still to come)


def _state_key(fingerprint: int, ticks: int, left: int = -1) -> int:
    """A search state's 64-bit key: the kernel, the clock budget left and,
    in a preemption-bounded search, the preemptions left."""
    if left < 0:
        return hash((fingerprint, ticks)) & FP_MASK
    return hash((fingerprint, ticks, left)) & FP_MASK


# The countdowns a clock interrupt runs down, each on its own CPU's hardclock
# and seen only when it reaches 0: spc_schedticks (kern_clock.c l.236),
# spc_ticks (l.241) and the ticks left of an LWP's pending l_timeout_ch
# (its callout wheel's, kern_timeout.c). Their places in the key() tuples.
_CPU_FIELDS = [a.name for a in attrs.fields(Cpu) if a.init]
_SPC_TICKS = _CPU_FIELDS.index("spc_ticks")
_SPC_SCHEDTICKS = _CPU_FIELDS.index("spc_schedticks")
_L_TIMEOUT = [a.name for a in attrs.fields(Lwp) if a.init].index("l_timeout")
_COUNTDOWNS = (_SPC_TICKS, _SPC_SCHEDTICKS, _L_TIMEOUT)  # (for engine/_stepcache.c)


def _capped(obj: Cpu | Lwp, cap: int) -> int:
    """What obj's hash changes by with its countdowns above cap taken as cap
    (kept on obj, which nothing changes again: _hx[cap])."""
    hx = obj._hx
    if hx is not None and cap < len(hx):
        known = hx[cap]
        if known is not None:
            return known
    fields = list(_key(obj))
    if isinstance(obj, Cpu):
        for i in (_SPC_TICKS, _SPC_SCHEDTICKS):
            fields[i] = min(fields[i], cap)
    else:
        ci, left = fields[_L_TIMEOUT]
        fields[_L_TIMEOUT] = (ci, min(left, cap))
    d = (_mix64(hash(tuple(fields))) - hkey(obj)) & FP_MASK
    more = list(hx or ())
    more += [None] * (cap + 1 - len(more))
    more[cap] = d
    obj._hx = tuple(more)
    return d


def clock_fp(k: Kernel, t: int) -> int:
    """k.fingerprint() as the search keys it with t clock interrupts left:
    a countdown above t + 1 counted as t + 1. With t interrupts in all, on
    any CPUs, none of them reaches 0 either way, and nothing else reads
    them, so the two kernels do the same from here (exact: the clock
    budget is part of the key, and subsumed() only merges a state into one
    with more budget, where the cap is higher).
    tests/explore/test_clock_cap.py holds it against the search without.
    """
    fp = k.fingerprint()
    cap = t + 1
    for c in view(k.cpus):
        if c.spc_ticks > cap or c.spc_schedticks > cap:
            fp += _capped(c, cap)
    for lw in view(k.lwps):
        to = lw.l_timeout
        if to is not None and to[1] > cap:
            fp += _capped(lw, cap)
    return fp & FP_MASK


def plain_fp(k: Kernel, t: int) -> int:
    """k.fingerprint(), whatever the budget: explore(clock_cap=False)."""
    return k.fingerprint()


class KeySet:
    """A set of 64-bit keys in one array: open addressing, linear probing,
    at most 3/4 full (about 11-21 bytes a key, where a Python set of ints
    takes about 70). The closed states of a proof are most of its memory.
    Zero is the empty slot, so the key 0 is kept as 1 (64-bit keys: the
    odds that changes an answer are those of any other collision)."""

    __slots__ = ("_tab", "_mask", "_n")

    def __init__(self, size: int = 1 << 16) -> None:
        """size: the first number of slots, a power of two (it doubles)."""
        if size <= 0 or size & (size - 1):
            raise ValueError(f"KeySet size {size} is not a power of two")
        self._tab = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def __contains__(self, key: object) -> bool:
        k = key or 1
        tab, mask = self._tab, self._mask
        i = k & mask  # type: ignore[operator]
        while True:
            v = tab[i]
            if v == k:
                return True
            if not v:
                return False
            i = (i + 1) & mask

    def add(self, key: object) -> None:
        k: int = key or 1  # type: ignore[assignment]
        tab, mask = self._tab, self._mask
        i = k & mask
        while True:
            v = tab[i]
            if v == k:
                return
            if not v:
                break
            i = (i + 1) & mask
        tab[i] = k
        self._n += 1
        if self._n * 4 > len(tab) * 3:
            self._grow()

    def _grow(self) -> None:
        old = self._tab
        self._tab = array("Q", bytes(16 * len(old)))
        self._mask = len(self._tab) - 1
        self._n = 0
        for v in old:
            if v:
                self.add(v)


_Open = tuple[int, Any, int, bytes, tuple[_Sleeper, ...], int]


class _Seen:
    """The visited states of a cheapest-first search.

    A state popped from the frontier is closed: nothing later reaches it
    more cheaply (costs pop in order, edges cost at least one step), so of
    a closed state only that it was seen is kept: a KeySet of 64-bit keys.
    An open state (on the frontier) keeps its cost, its packed kernel and
    its clock budget, the path from the start as a string of edge numbers
    (edges interned: the reduced graph has few distinct ones), and the
    moves asleep there (_asleep_after), numbered too: few sets recur.
    All of it is one bytes object (_HEAD, then the packed kernel, then the
    path): about 110 bytes an open state, where a tuple of the five took
    about 400. Panic and invariant states keep their cost apart. 11-21
    bytes a closed state; the frontier is a fraction of the states.
    """

    def __init__(self, hashing: bool = True) -> None:
        # (Without hashing, keys are distinct objects: a plain set.)
        self.closed: KeySet | set[object] = KeySet() if hashing else set()
        # key -> _HEAD (cost, sleepers' number, clock budget, packed
        # kernel's length) + packed kernel + path
        self.open: dict[object, bytes] = {}
        # Kernels that are not bytes (no step cache to pack them), by key.
        self._kernels: dict[object, Any] = {}
        self.ends: dict[object, int] = {}  # panic or invariant state -> cost
        self.edges: list[tuple[Move, ...]] = []
        self._edge_ids: dict[tuple[Move, ...], bytes] = {}
        self._sleepers: list[tuple[_Sleeper, ...]] = [()]
        self._sleeper_ids: dict[tuple[_Sleeper, ...], int] = {(): 0}

    def put(self, key: object, cost: int, packed: Any, ticks: int, path: bytes,
            sleepers: tuple[_Sleeper, ...], left: int = 0) -> None:
        """Keep (or make cheaper) an open state."""
        sid = self._sleeper_ids.get(sleepers)
        if sid is None:
            sid = self._sleeper_ids[sleepers] = len(self._sleepers)
            self._sleepers.append(sleepers)
        if not isinstance(packed, bytes):
            self._kernels[key] = packed
            packed = b""
        self.open[key] = _HEAD.pack(cost, sid, ticks, len(packed), left) + packed + path

    def open_cost(self, key: object) -> int | None:
        """The cost of an open state, None if it is not open."""
        e = self.open.get(key)
        return None if e is None else _COST(e)[0]

    def cost_of(self, key: object) -> int | None:
        e = self.open.get(key)
        if e is not None:
            return _COST(e)[0]
        if key in self.closed:
            return _CLOSED
        return self.ends.get(key)

    def edge_code(self, edge: tuple[Move, ...]) -> bytes:
        """The edge's number as a varint (7 bits a byte, high bit: more)."""
        code = self._edge_ids.get(edge)
        if code is None:
            n = len(self.edges)
            self.edges.append(edge)
            out = bytearray()
            while True:
                out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
                n >>= 7
                if not n:
                    break
            code = self._edge_ids[edge] = bytes(out)
        return code

    def moves(self, path: bytes) -> list[Move]:
        out: list[Move] = []
        n = shift = 0
        for b in path:
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                out += self.edges[n]
                n = shift = 0
        return out

    def close(self, key: object) -> _Open:
        """Close an open state: (cost, packed kernel, clock budget, path,
        moves asleep, preemptions left)."""
        e = self.open.pop(key)
        self.closed.add(key)
        cost, sid, ticks, plen, left = _HEAD.unpack_from(e)
        end = _HEAD.size + plen
        packed = e[_HEAD.size:end] if plen else self._kernels.pop(key)
        return cost, packed, ticks, e[end:], self._sleepers[sid], left


# An open state's head: cost, number of its sleep set, clock budget, the
# length of its packed kernel and the preemptions left (_Seen.put).
_HEAD = struct.Struct("<IIIHB")


_COST = struct.Struct("<I").unpack_from


def subsumed(k: Kernel, t: int, ticks: int, cost: int, seen: _Seen,
             left: int = -1, most: int = -1,
             kfp: Callable[[Kernel, int], int] = clock_fp) -> bool:
    """Was this kernel reached as cheaply with more budget left: as many
    clock ticks or more and as many preemptions or more (a bounded search;
    left and most -1 otherwise), one of them more?

    Every schedule from it within its budget is one from there, so it
    shows nothing new (a tick on an idle CPU changes nothing but the budget).
    """
    return subsumed_fps([kfp(k, more) for more in range(t, ticks + 1)], t, ticks, cost, seen,
                        left, most)


def subsumed_fps(fps: list[int] | tuple[int, ...], t: int, ticks: int, cost: int, seen: _Seen,
                 left: int = -1, most: int = -1) -> bool:
    """subsumed(), the kernel given by its key at each budget t .. ticks
    (fps[more - t]: what kfp gives it at budget `more`)."""
    for more_left in range(left, most + 1):
        for more in range(t, ticks + 1):
            if more == t and more_left == left:
                continue
            old = seen.cost_of(_state_key(fps[more - t], more, more_left))
            if old is not None and old <= cost:
                return True
    return False
