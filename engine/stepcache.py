"""The explorer's step cache: a transition is a function of what it reads.

A traced transition (engine.footprint) names every location it read: its
own CPU and curlwp whole, and each other field, lock and global one by one.
Run again on a kernel where all of those hold the same values, the same
deterministic statements read the same values in the same order and write
the same values: so the transition's result is looked up, not computed,
keyed by (CPU, its cpu_info, its curlwp) and checked against the values of
the rest of its reads. Nothing is approximated: every count the search
makes is the same with and without the cache (tests/explore/test_explore.py).

Structures are interned: equal values share one object (with its key and
hash computed once), so a key is a pair of object ids, and a field written
in another LWP's struct gives the same new object every time.

The cache belongs to one search of one scenario under one discipline: what
a transition is judged (visible, a violation) depends on the discipline,
and the kernel's boot-time constants (config, procs, ifnets) on the
scenario.
"""

from __future__ import annotations

import os
import struct
from array import array
from collections.abc import Callable
from typing import Any

import attrs

from engine.footprint import Discipline, Footprint, independent, traced_deliver, traced_step
from engine.kernel import FP_MASK, Kernel, clone, hkey

_set = object.__setattr__


def _compiled() -> Any:
    """_ddbstep_stepcache (the hits compiled, engine/_stepcache.c), None
    where it was not built or DDBSTEP_PURE=1 asks for this module alone.
    (A top-level module, so that a checkout's own engine/ package, first
    on the path when the tests run from it, does not hide the one pip
    built.)"""
    if os.environ.get("DDBSTEP_PURE", "") not in ("", "0"):
        return None
    try:
        import _ddbstep_stepcache as _stepcache  # type: ignore[import-not-found]
    except ImportError:
        return None
    _stepcache.setup(Kernel, independent)
    return _stepcache


_C = _compiled()
_MISS = _C.MISS if _C is not None else object()


def core() -> str:
    """Which step cache runs: what `ddbstep --version` says."""
    if _C is not None:
        return "compiled (_ddbstep_stepcache)"
    if os.environ.get("DDBSTEP_PURE", "") not in ("", "0"):
        return "pure Python (DDBSTEP_PURE)"
    return "pure Python (_ddbstep_stepcache not built)"

MEMO_KEPT = 100_000  # entries of each decision memo before it starts again
_HASHES = struct.Struct("<QQ")  # a packed state's fingerprint and tail hash
_KIND = {"lwp": 0, "cpu": 1, "psref": 2}
_FP_FIELDS = tuple(f.name for f in attrs.fields(Footprint) if f.eq)  # (what equality compares)

Loc = tuple[Any, ...]
# A cached result: None (no progress) or
# (own cpu, own lwp, other struct writes, lock writes, kernel writes, footprint)
Delta = tuple[
    # (kind, idx, fields written, {id(old structure): new structure})
    tuple[tuple[int, int, tuple[tuple[str, Any], ...], dict[int, Any]], ...],
    tuple[tuple[str, int | None], ...],
    tuple[tuple[str, Any], ...],
]


class _Entry:
    __slots__ = ("structs", "locks", "kvars", "delta", "fp", "alone")

    def __init__(self, reads: tuple[Loc, ...], values: tuple[Any, ...],
                 delta: Delta | None, fp: Footprint, same: Callable[[Any], Any]) -> None:
        # The reads, by where they are: (kind, index, field, value) of the
        # structures, (name, owner) of the locks, (name, value) of globals.
        # (same: one object for equal tuples; thousands of entries repeat few.)
        self.structs = same(tuple(same((_KIND[loc[0]], loc[1], loc[2], v))
                                  for loc, v in zip(reads, values, strict=True)
                                  if loc[0] in _KIND))
        self.locks = same(tuple((loc[1], v) for loc, v in zip(reads, values, strict=True)
                                if loc[0] == "lock"))
        self.kvars = same(tuple((loc[1], v) for loc, v in zip(reads, values, strict=True)
                                if loc[0] == "k"))
        self.delta = delta
        self.fp = fp
        # Whether the step may be explored alone, by (clock budget left,
        # the CPU holds a lock) (_alone_bit): the rest of what independent()
        # looks at is the entry's key and its result. Two bits each: known,
        # and the answer.
        self.alone = 0


def _alone_bit(ticks: int, holds: bool) -> int:
    """The first of the two bits of _Entry.alone for (ticks > 0, holds)."""
    return 1 << (2 * (ticks > 0) + 4 * holds)


def _value(k: Kernel, loc: Loc) -> Any:
    kind = loc[0]
    if kind == "lwp":
        obj: Any = k.lwps[loc[1]]
    elif kind == "cpu":
        obj = k.cpus[loc[1]]
    elif kind == "psref":
        obj = k.psrefs[loc[1]]
    elif kind == "lock":
        return k.locks.get(loc[1])
    else:
        return getattr(k, loc[1])
    name = loc[2]
    if name == "*":
        return obj  # interned: the same value is the same object
    return getattr(obj, name)


def _matches(e: _Entry, lists: tuple[list[Any], ...], k: Kernel) -> bool:
    """Does k hold every value e's transition read?"""
    for kind, idx, name, want in e.structs:
        if getattr(lists[kind][idx], name) != want:
            return False
    if e.locks:
        locks = k.locks
        for name, want in e.locks:
            if locks.get(name) != want:
                return False
    for name, want in e.kvars:
        if getattr(k, name) != want:
            return False
    return True


class StepCache:
    """Transitions already computed, by what they read."""

    def __init__(self, d: Discipline, share: StepCache | None = None) -> None:
        """share: a cache of the same scenario under another discipline,
        whose interned structures this one goes on using (they do not
        depend on the discipline; what a transition is judged does)."""
        self.d = d
        self.table: dict[tuple[Any, ...], list[_Entry]] = {}
        self._canon: dict[tuple[Any, ...], Any] = share._canon if share else {}
        self._derived: dict[tuple[Any, ...], tuple[int, int, tuple[tuple[str, Any], ...],
                                                   dict[int, Any]]] = (
            share._derived if share else {})
        self._tuples: dict[tuple[Any, ...], tuple[Any, ...]] = share._tuples if share else {}
        # Each interned structure's number, and the structures by number.
        self._serial: dict[int, int] = share._serial if share else {}
        self._objs: list[Any] = share._objs if share else []
        # Interned locks tables and the rest of a state (panic, msgbuf), by number.
        self._parts: dict[tuple[Any, ...], int] = share._parts if share else {}
        self._part_list: list[tuple[Any, ...]] = share._part_list if share else []
        # Equal footprints, one object: a cache of thousands of transitions
        # has a few hundred distinct ones (most of its memory, kept apart).
        self._footprints: dict[tuple[Any, ...], Footprint] = {}
        self._conflicts: dict[tuple[int, int], bool] = {}
        self._independent: dict[tuple[Any, ...], bool] = {}
        self.hits = 0
        self.misses = 0

    # -- interning -------------------------------------------------------

    def canonical(self, obj: Any) -> Any:
        key = (type(obj), obj.key())
        c = self._canon.get(key)
        if c is None:
            c = self._canon[key] = obj
            self._serial[id(obj)] = len(self._objs)
            self._objs.append(obj)
        return c

    def intern(self, k: Kernel) -> Kernel:
        """k with every structure replaced by its interned equal (in place)."""
        canon = self.canonical
        k.lwps = [canon(x) for x in k.lwps]
        k.cpus = [canon(x) for x in k.cpus]
        k.psrefs = [canon(x) for x in k.psrefs]
        return k

    # -- the search's compact state ---------------------------------------

    def _part(self, value: tuple[Any, ...]) -> int:
        i = self._parts.get(value)
        if i is None:
            i = self._parts[value] = len(self._part_list)
            self._part_list.append(value)
        return i

    def pack(self, k: Kernel) -> bytes:
        """k in a few bytes, what the frontier keeps: the numbers of its
        interned structures, of its locks table and of the rest, and its
        clock, two bytes each while they fit (four otherwise: the length
        says which). (The boot-time constants, config, procs and ifnets,
        are the scenario's and stay out.)"""
        c = _C
        if c is not None:
            packed: Any = c.pack(self, k)
            if packed is not _MISS:
                return packed
        serial = self._serial
        v = [serial[id(x)] for x in k.lwps]
        v += [serial[id(x)] for x in k.cpus]
        v += [serial[id(x)] for x in k.psrefs]
        v.append(self._part(tuple(sorted(k.locks.items()))))
        v.append(self._part((k.panicstr, k.paniccpu, k.msgbuf)))
        v.append(k.hardclock_ticks)  # (unsigned: what a clock counts)
        v.append(k.worker_ci)
        # Then its fingerprint and tail hash, computed already (the search
        # keys the state by them): unpacked, it need not sum them again.
        return (array("H" if max(v) <= 0xFFFF else "I", v).tobytes()
                + _HASHES.pack(k.fingerprint(), k.tail_hash()))

    def unpack(self, p: bytes, like: Kernel) -> Kernel:
        """The Kernel p packs, with like's boot-time constants (and sizes)."""
        c = _C
        if c is not None:
            k: Any = c.unpack(self, p, like)
            if k is not _MISS:
                return k
        nl, nc = len(like.lwps), len(like.cpus)
        np_ = len(like.psrefs)
        end = len(p) - _HASHES.size
        a = array("H" if end == 2 * (nl + nc + np_ + 4) else "I")
        a.frombytes(p[:end])
        objs = self._objs
        lwps = [objs[i] for i in a[:nl]]
        cpus = [objs[i] for i in a[nl:nl + nc]]
        psrefs = [objs[i] for i in a[nl + nc:nl + nc + np_]]
        locks, (panicstr, paniccpu, msgbuf) = (self._part_list[a[-4]], self._part_list[a[-3]])
        n = Kernel(like.config, like.procs, like.ifnets, lwps, cpus, psrefs, dict(locks),
                   a[-2], a[-1], panicstr, paniccpu, msgbuf)
        n._fp, n._tl = _HASHES.unpack_from(p, end)
        return n

    # -- decisions on cached footprints ----------------------------------

    def same(self, t: tuple[Any, ...]) -> tuple[Any, ...]:
        """The cache's own tuple equal to t (entries' reads and writes)."""
        return self._tuples.setdefault(t, t)

    def footprint(self, fp: Footprint) -> Footprint:
        """The cache's own footprint equal to fp (a finished trace's: never
        changed after). The decision memos below are keyed by their ids."""
        key = tuple(frozenset(v) if isinstance(v, set) else v
                    for v in (getattr(fp, f) for f in _FP_FIELDS))
        c = self._footprints.get(key)
        if c is None:
            c = self._footprints[key] = fp
        return c

    def conflicts(self, a: Footprint, b: Footprint) -> bool:
        """a.conflicts(b): footprints come from the cache, which keeps them."""
        key = (id(a), id(b))
        hit = self._conflicts.get(key)
        if hit is None:
            if len(self._conflicts) >= MEMO_KEPT:
                self._conflicts.clear()  # (a memo only: bounded, not kept whole)
            hit = self._conflicts[key] = a.conflicts(b)
        return hit

    def independent(self, k: Kernel, n: Kernel, ci: int, fp: Footprint, ticks: int) -> bool:
        """footprint.independent(): a function of the footprint, ci's struct and
        curlwp before and after, whether the clock budget is spent, and
        whether ci holds a lock."""
        if fp.visible or fp.violation is not None:
            return False
        kc, nc = k.cpus[ci], n.cpus[ci]
        key = (id(fp), id(kc), id(k.lwps[kc.ci_curlwp]), id(nc), id(n.lwps[nc.ci_curlwp]),
               ticks > 0, ci in k.locks.values())
        hit = self._independent.get(key)
        if hit is None:
            if len(self._independent) >= MEMO_KEPT:
                self._independent.clear()
            hit = self._independent[key] = independent(k, n, ci, fp, ticks)
        return hit

    # -- transitions -----------------------------------------------------

    @staticmethod
    def _step_key(k: Kernel, ci: int) -> tuple[int, int, int] | None:
        """The key of ci's next step: (ci, its cpu_info, its curlwp); None
        where no step runs (after a panic, in ddb)."""
        cpu = k.cpus[ci]
        if k.panicstr is not None or cpu.in_ddb:
            return None
        return (ci, id(cpu), id(k.lwps[cpu.ci_curlwp]))

    def step(self, k: Kernel, ci: int) -> tuple[Kernel, Footprint]:
        """traced_step(k, ci, d), from the cache when it has seen these inputs."""
        key = self._step_key(k, ci)
        if key is None:
            return k, Footprint(visible=True)
        hit = self._lookup(key, k)
        if hit is not None:
            return hit
        n, fp = traced_step(k, ci, self.d)
        return self._store(key, k, n, fp, ci)

    def step_alone(self, k: Kernel, ci: int, ticks: int) -> tuple[Kernel | None, Footprint]:
        """step(), for ample_chain: None for the kernel where the step makes
        no progress or may not be explored alone (independent()). A cached
        step known not to be is not applied at all: most steps a chain tries
        on a CPU it then leaves are such."""
        c = _C
        if c is not None:
            r: Any = c.step_alone(self, self.table, k, ci, ticks)
            if r is not _MISS:
                return r
        key = self._step_key(k, ci)
        if key is None:
            return None, Footprint(visible=True)
        e = self._entry(key, k)
        if e is None:
            n, fp = self._store(key, k, *traced_step(k, ci, self.d), ci)
            ok = fp.violation is None and n is not k and self.independent(k, n, ci, fp, ticks)
            return (n if ok else None), fp
        self.hits += 1
        fp = e.fp
        if e.delta is None or fp.visible or fp.violation is not None:
            return None, fp
        bit = _alone_bit(ticks, ci in k.locks.values())
        if e.alone & bit and not e.alone & bit << 1:
            return None, fp
        n = self._apply(k, e.delta)
        if not e.alone & bit:
            if independent(k, n, ci, fp, ticks):
                e.alone |= bit | bit << 1
            else:
                e.alone |= bit
                return None, fp
        return n, fp

    def deliver(self, k: Kernel, ci: int, handler: str, ipl: int,
                **args: Any) -> tuple[Kernel, Footprint]:
        """traced_deliver(), from the cache when it has seen these inputs."""
        return self.deliver_args(k, ci, handler, ipl, tuple(sorted(args.items())))

    def deliver_args(self, k: Kernel, ci: int, handler: str, ipl: int,
                     argkey: tuple[tuple[str, Any], ...]) -> tuple[Kernel, Footprint]:
        """deliver(), its arguments as sorted (name, value) pairs (a move's,
        made once: engine.explore.moves)."""
        cpu = k.cpus[ci]
        if k.panicstr is not None or cpu.in_ddb or cpu.ci_ilevel >= ipl:
            return k, Footprint(visible=True)
        own = k.lwps[cpu.ci_curlwp]
        key = (ci, id(cpu), id(own), handler, ipl, argkey)
        hit = self._lookup(key, k)
        if hit is not None:
            return hit
        n, fp = traced_deliver(k, ci, handler, ipl, self.d, **dict(argkey))
        return self._store(key, k, n, fp, ci)

    def _entry(self, key: tuple[Any, ...], k: Kernel) -> _Entry | None:
        entries = self.table.get(key)
        if entries is None:
            return None
        lists = (k.lwps, k.cpus, k.psrefs)
        for e in entries:
            if _matches(e, lists, k):
                return e
        return None

    def _lookup(self, key: tuple[Any, ...], k: Kernel) -> tuple[Kernel, Footprint] | None:
        c = _C
        if c is not None:
            r: Any = c.lookup(self, self.table, key, k)
            if r is not _MISS:
                return r
        e = self._entry(key, k)
        if e is None:
            return None
        self.hits += 1
        if e.delta is None:
            return k, e.fp
        return self._apply(k, e.delta), e.fp

    def _apply(self, k: Kernel, delta: Delta) -> Kernel:
        structs, locks, kvars = delta
        lists: list[list[Any]] = [k.lwps, k.cpus, k.psrefs]
        fresh = [False, False, False]
        fp = k._fp
        for kind, idx, fields, memo in structs:
            lst = lists[kind]
            if not fresh[kind]:
                lst = lists[kind] = list(lst)
                fresh[kind] = True
            old = lst[idx]
            # (Structures are interned, so their ids are their values.)
            new = memo.get(id(old))
            if new is None:
                new = clone(old)
                for name, value in fields:
                    _set(new, name, value)
                new = memo[id(old)] = self.canonical(new)
            lst[idx] = new
            if fp is not None:
                fp += hkey(new) - hkey(old)
        lk = k.locks
        if locks:
            lk = dict(lk)
            for name, owner in locks:
                if owner is None:
                    lk.pop(name, None)
                else:
                    lk[name] = owner
        n = Kernel(k.config, k.procs, k.ifnets, lists[0], lists[1], lists[2], lk,
                   k.hardclock_ticks, k.worker_ci, k.panicstr, k.paniccpu, k.msgbuf)
        for name, value in kvars:
            setattr(n, name, value)
        if fp is not None:
            # (Kernel.fingerprint's sum, changed by what changed.)
            if locks or kvars:
                fp += n.tail_hash() - k.tail_hash()
            else:
                n._tl = k._tl
            n._fp = fp & FP_MASK
        return n

    def _store(self, key: tuple[Any, ...], k: Kernel, n: Kernel, fp: Footprint,
               ci: int) -> tuple[Kernel, Footprint]:
        """Keep a traced transition; its kernel and footprint as the cache
        gives them from now on (its own footprint equal to fp, and the
        structures interned)."""
        self.misses += 1
        written = fp.written  # this transition's (the cache's equal footprint has another's)
        fp = self.footprint(fp)
        own_lwp = k.cpus[ci].ci_curlwp
        reads = tuple(sorted(
            (loc for loc in fp.acc
             if not (len(loc) == 3 and loc[2] == "*")
             and not (loc[0] == "cpu" and loc[1] == ci)
             and not (loc[0] == "lwp" and loc[1] == own_lwp)),
            key=repr))
        values = tuple(_value(k, loc) for loc in reads)
        if n is k:
            self.table.setdefault(key, []).append(_Entry(reads, values, None, fp, self.same))
            return k, fp
        structs = []
        for kind, idx, names in written:
            lst: list[Any] = (n.lwps, n.cpus, n.psrefs)[_KIND[kind]]
            obj = lst[idx]
            fields = tuple((name, getattr(obj, name)) for name in names
                           if not name.startswith("_"))
            # The new structure for each old one, as it is first made (one
            # write, one memo: kept whole, the same for every entry).
            w = self._derived.get((kind, idx, fields))
            if w is None:
                w = self._derived[(kind, idx, fields)] = (_KIND[kind], idx, fields, {})
            structs.append(w)
        locks = self.same(tuple(sorted((loc[1], n.locks.get(loc[1]))
                                       for loc in fp.wr if loc[0] == "lock")))
        kvars = self.same(tuple(sorted((loc[1], getattr(n, loc[1]))
                                       for loc in fp.wr if loc[0] == "k")))
        delta: Delta = (tuple(structs), locks, kvars)
        self.table.setdefault(key, []).append(_Entry(reads, values, delta, fp, self.same))
        # The kernel the search goes on with is the cache's own answer, so
        # a hit and a miss give the same (interned) structures.
        return self._apply(k, delta), fp

