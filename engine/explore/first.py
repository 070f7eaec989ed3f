"""The fast search for a first panic: a swarm of context-bounded
depth-first searches.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from engine.explore.invariants import check_invariants
from engine.explore.moves import _STEP, Move, interrupts, traced_move
from engine.explore.reduction import ample_chain
from engine.explore.result import Interrupted
from engine.footprint import Discipline
from engine.kernel import Kernel
from engine.stepcache import StepCache

# The fast search's bounds: context switches, and states it may keep before
# it hands over to the full search (a count, so output never depends on time).
FIRST_SWITCHES = 6


FIRST_STATES = 200_000


_Node = tuple[int, int, int]  # (kernel fingerprint, clock budget, CPU that moved)


# (switches, parent node, its kernel, its clock budget, the move, budget
# after, steps from the start to the parent)
_Entry = tuple[int, _Node, Kernel, int, Move, int, int]


class _BoundedDfs:
    """One member of first_search's swarm: depth first within a context-
    switch count, fewest switches first, CPUs tried in its own order.

    Depth first, most of what is pushed is never taken before a panic turns
    up, so nothing is computed before it is taken: the queue holds moves
    not yet made (the state they leave from, the move), and a node's chain
    of independent steps is followed when the node is expanded. A node is
    the state a move leads to with the CPU that moved (the chain is a
    function of both).
    """

    def __init__(self, k0c: Kernel, ticks: int, d: Discipline, sc: StepCache | None,
                 switches: int, prefer: list[int], limit: int) -> None:
        self.d, self.sc, self.switches, self.limit = d, sc, switches, limit
        # CPUs in the order their steps are tried (after going on where the
        # last move was): the first of `prefer` first.
        self.rank = {ci: r for r, ci in enumerate(prefer)}
        start: _Node = (k0c.fingerprint(), ticks, -1)
        # node -> (switches, parent node, the move to it, steps from k0c to
        # it); node -> its chain. A node is kept again only when reached
        # with fewer switches, or as few and fewer steps: (switches, steps)
        # grows along every parent link, so the links never close a cycle.
        self.seen: dict[_Node, tuple[int, _Node | None, Move | None, int]] = {
            start: (0, None, None, 0)}
        self.chains: dict[_Node, tuple[Move, ...]] = {}
        self.queue: deque[_Entry] = deque()
        # Chain ends already expanded, with the fewest steps to them.
        self.ends: dict[tuple[int, int], int] = {}
        self.states, self.transitions = 1, 0
        self._expand(start, k0c, ticks, 0, 0)

    def path(self, node: _Node | None) -> list[Move]:
        out: list[Move] = []
        while node is not None:
            out[:0] = self.chains.get(node, ())
            _, node, mv, _ = self.seen[node]
            if mv is not None:
                out.insert(0, mv)
        return out

    def _expand(self, node: _Node, k: Kernel, t: int, w: int, steps: int) -> None:
        """Push node's moves: going on where the last move was is taken first,
        then the other CPUs' steps, interrupts last; a move that takes the CPU
        away from one that could go on costs a switch (to the queue's tail)."""
        last = node[2]
        going = last >= 0 and traced_move(k, _STEP[last], self.d, self.sc)[0] is not k
        # (Pushed to the head in this order: the last pushed is taken first.)
        ahead: list[_Entry] = [(w + (going and mv.cpu != last), node, k, t, mv, nt, steps)
                               for mv, nt in interrupts(k, t)]
        others = sorted((ci for ci in range(len(k.cpus)) if ci != last),
                        key=self.rank.__getitem__, reverse=True)
        ahead += [(w + going, node, k, t, _STEP[ci], t, steps) for ci in others]
        if going:
            ahead.append((w, node, k, t, _STEP[last], t, steps))
        for e in ahead:
            if e[0] > self.switches:
                continue
            if e[0] == w:
                self.queue.appendleft(e)
            else:
                self.queue.append(e)

    def run(self, states: int) -> list[Move] | None:
        """Go on until `states` more states are kept; a panicking path from
        k0c shorter than `limit` steps, or None (then `queue` empty means
        this member has seen all)."""
        stop = self.states + states
        queue, seen, d, sc, limit = self.queue, self.seen, self.d, self.sc, self.limit
        while queue and self.states < stop:
            w, parent, k, t, mv, nt, steps = queue.popleft()
            n, _ = traced_move(k, mv, d, sc)
            if n is k:
                continue
            self.transitions += 1
            steps += 1
            node = (n.fingerprint(), nt, mv.cpu)
            old = seen.get(node)
            if old is not None and (old[0], old[3]) <= (w, steps):
                continue
            seen[node] = (w, parent, mv, steps)
            if n.panicstr is not None:
                return self.path(node)
            # (Nothing from here can panic in fewer than limit steps.)
            if check_invariants(n) is not None or steps + 1 >= limit:
                continue
            self.states += 1
            n, chain = ample_chain(n, nt, d, None, mv.cpu, sc, checked=True)
            self.transitions += len(chain)
            self.chains[node] = tuple(chain)
            steps += len(chain)
            if n.panicstr is not None:
                if steps < limit:
                    return self.path(node)
                continue
            end = (n.fingerprint(), nt)
            if ((chain and check_invariants(n) is not None) or steps + 1 >= limit
                    or self.ends.get(end, limit) <= steps):
                continue
            self.ends[end] = steps
            self._expand(node, n, nt, w, steps)
        return None


# States a swarm member keeps before the next member's turn.
FIRST_SLICE = 64


def first_search(k0c: Kernel, ticks: int, d: Discipline, sc: StepCache | None,
                 switches: int = FIRST_SWITCHES, budget: int = FIRST_STATES,
                 limit: int = 1 << 62,
                 cancel: Callable[[], bool] | None = None) -> tuple[list[Move] | None, int, int]:
    """A panicking schedule found fast: (its moves from k0c or None, states, transitions).

    Preemption bounding (Musuvathi and Qadeer, "Iterative context bounding
    for systematic testing of multithreaded programs", PLDI 2007): the
    schedules are searched by how many times they take a CPU away from
    one that could still go on (a context switch), fewest first, depth-
    first within one count. Races in kernels need few such switches and
    many statements between them, which is what uniform-cost search pays
    most for. The edges are the reduced search's (a move and the chain of
    independent steps after it), so the schedule is one of its paths; it
    need not be shortest. limit: only schedules of fewer steps from k0c
    (what shortens a schedule found: _first).

    Which CPU goes next when the last one cannot go on decides how soon a
    depth-first search gets there (on the seed's machines, by a factor of
    up to 30, with no order best on all). So it is a swarm (Holzmann, Joshi
    and Groce, "Swarm verification", ASE 2008): one member per CPU, member i
    trying CPUs i, i+1, ... first, taking turns of FIRST_SLICE states, all
    sharing the step cache. Turns are counted in states, never timed, so
    the answer is the same on every run.
    """
    ncpu = len(k0c.cpus)
    swarm = [_BoundedDfs(k0c, ticks, d, sc, switches,
                         [(i + j) % ncpu for j in range(ncpu)], limit) for i in range(ncpu)]

    def spent() -> tuple[int, int]:
        return sum(m.states for m in swarm), sum(m.transitions for m in swarm)

    while any(m.queue for m in swarm):
        for m in swarm:
            if cancel is not None and cancel():
                raise Interrupted(spent()[0])
            left = budget - spent()[0]
            if left <= 0:
                return (None, *spent())
            if m.queue:
                found = m.run(min(FIRST_SLICE, left))
                if found is not None:
                    return (found, *spent())
    return (None, *spent())
