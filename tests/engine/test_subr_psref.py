"""psref_acquire/psref_release: the assertions, in the kernel's order."""

from __future__ import annotations

import attrs
import pytest

from engine.ddb.db_command import Session
from engine.kernel import Kernel
from engine.param import LP_BOUND
from engine.scenario import load
from tests.conftest import drive


def at(fix: bool, where: str) -> Session:
    s = Session.start(load("seed-race"), fix)
    drive(s, f"break {where}", "c", f"delete {where}")
    return s


def finish(s: Session) -> str | None:
    drive(s, "set $maxsteps = 0t200", "c")
    return s.kernel.panicstr


def before_release(mutate) -> str | None:  # type: ignore[no-untyped-def]
    s = at(False, "doifioctl+0x8ac")
    k = s.kernel.copy()
    mutate(k)
    s.kernel = k
    return finish(s)


def _unbind(k: Kernel) -> None:
    k.lwps[0].l_pflag &= ~LP_BOUND


def _class(k: Kernel) -> None:
    k.ifnets = (attrs.evolve(k.ifnets[0], prt_class="other"),)


def _target(k: Kernel) -> None:
    k.psrefs[0].psref_target = None


def _lwp(k: Kernel) -> None:
    k.psrefs[0].psref_lwp = 1


def _cpu(k: Kernel) -> None:
    k.psrefs[0].psref_cpu = 2


@pytest.mark.parametrize(("mutations", "expr", "line"), [
    ([_unbind], "(kpreempt_disabled() || cpu_softintr_p() || ISSET(curlwp->l_pflag, LP_BOUND))",
     303),
    ([_class, _target, _lwp, _cpu], "(target->prt_class == class)", 306),
    ([_target, _lwp, _cpu], "(psref->psref_target == target)", 311),
    ([_lwp, _cpu], "(psref->psref_lwp == curlwp)", 314),
    ([_cpu], "(psref->psref_cpu == curcpu())", 317),
])
def test_psref_release_asserts_in_order(mutations, expr, line) -> None:  # type: ignore[no-untyped-def]
    def mutate(k: Kernel) -> None:
        for m in mutations:
            m(k)

    panic = before_release(mutate)
    assert panic is not None
    assert panic.startswith(f'kernel diagnostic assertion "{expr}" failed: '
                            f'file "/(hidden)/sys/kern/subr_psref.c", line {line} ')


def test_release_message_names_both_cpus() -> None:
    panic = before_release(_cpu)
    assert panic is not None and panic.endswith("transferred from CPU 2 to CPU 0")


def test_release_without_debug_has_no_existence_check() -> None:
    """subr_psref.c l.327-330: psref_check_existence() is #ifdef DEBUG, and
    GENERIC has no DEBUG: a psref missing from the list is not diagnosed
    there (the real SLIST_REMOVE would walk off the list; the model only
    leaves the list as it was)."""
    def off_list(k: Kernel) -> None:
        k.cpus[0].psrefs = ()

    panic = before_release(off_list)
    assert panic is None or "isn't in the list" not in panic


def test_acquire_asserts_target_not_draining() -> None:
    s = at(False, "if_get")
    k = s.kernel.copy()
    k.ifnets = (attrs.evolve(k.ifnets[0], prt_draining=True),)
    s.kernel = k
    panic = finish(s)
    assert panic is not None and "(!target->prt_draining)" in panic
    assert "psref target already destroyed" in panic


def test_acquire_twice_is_not_checked_without_debug() -> None:
    """subr_psref.c l.267-270: psref_check_duplication() is #ifdef DEBUG, not
    in GENERIC: acquiring an already linked psref links it again."""
    s = at(False, "if_get")
    k = s.kernel.copy()
    k.cpus[0].psrefs = (0,)
    s.kernel = k
    drive(s, "break wm_ioctl", "c")
    assert s.kernel.panicstr is None
    assert s.kernel.cpus[0].psrefs == (0, 0)


def test_acquire_records_cpu_and_links_on_that_cpus_list() -> None:
    s = at(False, "wm_ioctl")
    ps = s.kernel.psrefs[0]
    assert (ps.psref_cpu, ps.psref_lwp, ps.psref_target) == (0, 0, 0)
    assert s.kernel.cpus[0].psrefs == (0,)


def test_unbound_acquire_passes_inside_if_get_but_release_trips_cpu_local() -> None:
    s = at(False, "if_get")  # curlwp_bind already ran
    k = s.kernel.copy()
    k.lwps[0].l_pflag &= ~LP_BOUND
    s.kernel = k
    panic = finish(s)
    # pserialize_read_enter() raised the IPL around psref_acquire.
    assert panic is not None and panic.startswith(
        'kernel diagnostic assertion "(kpreempt_disabled() ||')
    assert ", line 303 " in panic
