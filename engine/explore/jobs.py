"""The search in several processes (explore --jobs N).

The one-process search (search._search) pops the cheapest state, expands
it and decides each successor against what it has seen, in turn. Here the
states of one cost are taken a slice at a time. Each process expands every
N-th state of the slice, keeping only what its seen set does not rule out
(the seen set only grows, and the costs in it only fall, so whatever it
rules out the one-process search rules out too); then every process
decides all of the slice's successors, in the order the one-process
search would, on the same seen set. Every process so holds the same
states, frontier and paths; a successor another process found is made
again here from its parent (the edge's moves, through the step cache)
when it is kept. What the search answers, every count and every schedule,
is the same for any N (tests/explore/test_jobs.py), and so is what it
does at a limit.

A successor's edge is computed the same way whichever process expands its
parent: the chain memo never changes an answer (expand.expand_py), and the
step cache holds the model's own transitions. The processes are forked
from the searching one (POSIX fork(): the step cache, the interned
structures and the frontier come along), talk over pipes, the first one
relaying, and end with the search. What every process does for every
state kept (decide it, make it again, pack it) is the price of holding
them all: about a fifth of a state's work (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import marshal
import os
import time
import traceback
from collections.abc import Callable
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

import attrs

from engine import stepcache
from engine.explore.expand import Ctx, decide_py, ended, expand, successors
from engine.explore.moves import Move, _handler_key, _Violation, move, traced_move
from engine.explore.result import Interrupted
from engine.footprint import Footprint, bit_objects, objects_bits
from engine.kernel import Kernel

# States a slice (all of one cost). Any size gives the same answer: it only
# weighs the pipes' round trips against the work a found panic leaves
# undone (on 400,000 states of seed-race --fix: 2,048 3% slower than
# 8,192, 512 8% slower).
SLICE = 8192

# A successor as expand() records it: (transitions of its parent so far,
# key, cost, clock budget, preemptions left, moves asleep, edge, kernel (None
# when another process made it), clock fps, panicstr, invariant broken).
_Rec = tuple[int, int, int, int, int, tuple[Any, ...], tuple[Move, ...], Kernel | None,
             tuple[int, ...], str | None, str | None]


def run_slices(x: Ctx, cfg: tuple[Any, ...] | None, o: Any,
               unpack: Callable[[Any], Kernel], cnt: list[Any]) -> tuple[str, int]:
    """search._search's loop over o.jobs processes: cnt is [states,
    transitions, found, depth], updated. ("end", c) when the frontier is
    done or a panic is known at a cost no state left can beat; ("steps",
    c), ("states", c) or ("time", c) at a limit. Raises _Violation and
    Interrupted as the loop does."""
    conns: list[Connection] = []
    pids: list[int] = []
    rank = 0
    for r in range(1, o.jobs):
        mine, theirs = Pipe()
        pid = os.fork()
        if pid == 0:
            for c in conns:
                c.close()
            mine.close()
            rank, conns = r, [theirs]
            break
        theirs.close()
        conns.append(mine)
        pids.append(pid)
    if rank:
        # A worker: the search to its end, then gone (no atexit, no flush:
        # what the first process holds is not this one's to write).
        code = 0
        try:
            x.on_store = None
            _loop(x, cfg, o, unpack, cnt, rank, conns)
        except _Violation:
            pass  # (the first process raises it)
        except BaseException:
            code = 1
            try:
                conns[0].send_bytes(b"E" + traceback.format_exc().encode())
            except BaseException:
                pass
        os._exit(code)
    try:
        return _loop(x, cfg, o, unpack, cnt, 0, conns)
    finally:
        for c in conns:
            c.close()
        for pid in pids:
            os.waitpid(pid, 0)


class _Codec:
    """A process's part of a slice for the others, and theirs for it
    (marshal: plain values; moves by name, a sleeper's footprint bits by
    their objects, since each process numbers them as it meets them).
    Edges and sleep sets recur: each is converted once."""

    def __init__(self) -> None:
        self._out: dict[Any, Any] = {}
        self._in: dict[Any, Any] = {}

    def _edge_out(self, edge: tuple[Move, ...]) -> Any:
        e = self._out.get(edge)
        if e is None:
            e = self._out[edge] = tuple((m.kind, m.cpu, m.dev) for m in edge)
        return e

    def _sleep_out(self, sl: tuple[Any, ...]) -> Any:
        e = self._out.get(sl)
        if e is None:
            e = self._out[sl] = tuple(((m.kind, m.cpu, m.dev), bit_objects(a), bit_objects(w))
                                      for m, a, w in sl)
        return e

    def encode(self, viol: tuple[int, str, Any] | None,
               parents: list[tuple[int, int, list[_Rec]]]) -> bytes:
        eo, so = self._edge_out, self._sleep_out
        return marshal.dumps((viol, [
            (i, ptr, [(tr, key, nc, nt, nl, so(sl), eo(edge), fps, msg, bad)
                      for tr, key, nc, nt, nl, sl, edge, _, fps, msg, bad in recs])
            for i, ptr, recs in parents]))

    def _edge_in(self, e: Any) -> tuple[Move, ...]:
        edge = self._in.get(e)
        if edge is None:
            edge = self._in[e] = tuple(move(*m) for m in e)
        return edge

    def _sleep_in(self, e: Any) -> tuple[Any, ...]:
        sl = self._in.get(e)
        if sl is None:
            sl = self._in[e] = tuple((move(*m), objects_bits(a), objects_bits(w))
                                     for m, a, w in e)
        return sl

    def decode(self, b: bytes) -> tuple[tuple[int, str, Any] | None,
                                        list[tuple[int, int, list[_Rec]]]]:
        viol, parents = marshal.loads(b)
        if viol is not None:
            viol = (viol[0], viol[1], tuple(viol[2]))
        ei, si = self._edge_in, self._sleep_in
        return viol, [
            (i, ptr, [(tr, key, nc, nt, nl, si(sl), ei(edge), None, fps, msg, bad)
                      for tr, key, nc, nt, nl, sl, edge, fps, msg, bad in recs])
            for i, ptr, recs in parents]


def _recv(conn: Connection) -> bytes:
    try:
        b = conn.recv_bytes()
    except EOFError:
        raise RuntimeError("explore: a search process ended before the search") from None
    if b[:1] == b"E":
        raise RuntimeError("explore: a search process failed:\n" + b[1:].decode())
    return b


def _loop(x: Ctx, cfg: tuple[Any, ...] | None, o: Any, unpack: Callable[[Any], Kernel],
          cnt: list[Any], rank: int, conns: list[Connection]) -> tuple[str, int]:
    seen, heap, n = x.seen, x.heap, o.jobs
    states, transitions, found, depth = cnt
    flat: list[Any] = []

    def record(*a: Any) -> None:
        flat.append(a)

    xg = attrs.evolve(x, record=record)
    gcfg = (*cfg[:-1], record) if cfg is not None else None
    decide = stepcache._C.decide if cfg is not None else None
    codec = _Codec()
    last_report = time.perf_counter()
    c = 0
    try:
        while heap:
            # The slice: open states of the cheapest cost, in the frontier's order.
            parents: list[tuple[int, Any, int, bytes, tuple[Any, ...], int]] = []
            c0 = heap.lowest()
            while heap and len(parents) < SLICE and heap.lowest() == c0:
                c, key = heap.pop()
                oc = seen.open_cost(key)
                if oc is None or c > oc:
                    continue
                if found is not None and c + 1 >= found[0]:
                    return "end", c
                parents.append(seen.close(key))
                depth = max(depth, c)
                if c >= o.max_steps:
                    return "steps", c
            if not parents:
                continue
            # This process's part of it (every n-th state), expanded.
            mine: list[tuple[int, int, list[_Rec]]] = []
            viol: tuple[int, str, Any] | None = None
            for i in range(rank, len(parents), n):
                _, pk, t, _, asleep, left = parents[i]
                k = unpack(pk)
                at_k: dict[int, tuple[Footprint, bool]] = {}
                intr_fps: dict[Move, Footprint] = {}
                flat.clear()
                counters: list[Any] = [0, 0, None]
                try:
                    succ = successors(x, k, t, asleep, at_k, intr_fps)
                    expand(xg, gcfg, counters, k, c, b"", asleep, left, succ, at_k, intr_fps)
                except _Violation as v:
                    viol = (i, v.kind, v.field)
                    break
                mine.append((i, counters[1], list(flat)))
            # Every part to every process (the first relays).
            parts: list[tuple[tuple[int, str, Any] | None, list[tuple[int, int, list[_Rec]]]]]
            if n == 1:
                parts = [(viol, mine)]
            elif rank:
                conns[0].send_bytes(b"C" + codec.encode(viol, mine))
                blobs = marshal.loads(_recv(conns[0])[1:])
                parts = [(viol, mine) if r == rank else codec.decode(blobs[r])
                         for r in range(n)]
            else:
                blobs = [codec.encode(viol, mine)] + [_recv(cn)[1:] for cn in conns]
                out = b"A" + marshal.dumps(blobs)
                for cn in conns:
                    cn.send_bytes(out)
                parts = [(viol, mine)] + [codec.decode(b) for b in blobs[1:]]
            # Decided in the one-process search's order: state by state, up to
            # the first that broke the discipline (each process stops at its own).
            order: list[tuple[int, int, list[_Rec]] | None] = [None] * len(parents)
            broke: tuple[int, str, Any] | None = None
            for pviol, precs in parts:
                for p in precs:
                    order[p[0]] = p
                if pviol is not None and (broke is None or pviol[0] < broke[0]):
                    broke = pviol
            kernels: dict[int, Kernel] = {}
            for entry in order:
                if entry is None:
                    assert broke is not None
                    raise _Violation(broke[1], broke[2])
                i, ptr, recs = entry
                _, pk, _, path, _, _ = parents[i]
                base = transitions
                for tr, nkey, nc, nt, nleft, sleeps, edge, nk, fps, msg, bad in recs:
                    d = (decide(cfg, nkey, nc, nt, nleft, fps) if decide is not None
                         else decide_py(x, nkey, nc, nt, nleft, fps))
                    if d < 0:
                        continue
                    states += d
                    npath = path + seen.edge_code(edge)
                    if msg is not None or bad is not None:
                        found = ended(seen, nkey, nc, msg, bad, npath, found)
                        continue
                    if states >= x.max_states:
                        transitions = base + tr
                        return "states", nc
                    if nk is None:
                        pkern = kernels.get(i)
                        if pkern is None:
                            pkern = kernels[i] = unpack(pk)
                        nk = _remake(x, pkern, edge)
                    seen.put(nkey, nc, x.pack(nk), nt, npath, sleeps, max(nleft, 0))
                    if x.on_store is not None:
                        x.on_store(nkey, nc)
                    heap.push(nc, nkey)
                transitions = base + ptr
                if found is not None and c + 1 >= found[0]:
                    return "end", c
            # The first process's word: go on, or stop here.
            if rank:
                if _recv(conns[0]) == b"S":
                    return "time", c
                continue
            stop: str | None = None
            if o.cancel is not None and o.cancel():
                stop = "cancel"
            now = time.perf_counter()
            if now - last_report > 1.0:
                last_report = now
                if o.progress is not None:
                    best = found[0] if found is not None else (
                        o.found_best.steps if o.found_best is not None else None)
                    o.progress(states, transitions, c, now - o.t0, best)
                if o.max_seconds is not None and now - o.t0 > o.max_seconds:
                    stop = "time"
            for cn in conns:
                cn.send_bytes(b"S" if stop else b"G")
            if stop == "cancel":
                raise Interrupted(states)
            if stop == "time":
                return "time", c
        return "end", c
    finally:
        cnt[:] = [states, transitions, found, depth]


def _remake(x: Ctx, k: Kernel, edge: tuple[Move, ...]) -> Kernel:
    """The end of an edge another process took from k: its moves again,
    through this process's step cache."""
    c = stepcache._C
    if c is not None and x.sc is not None:
        sc = x.sc
        return c.replay(sc, k, edge, sc.step, sc.deliver_args, _handler_key)
    for mv in edge:
        k, _ = traced_move(k, mv, x.disc, x.sc)
    return k
