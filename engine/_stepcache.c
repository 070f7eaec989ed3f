/*
 * engine/_stepcache.c: the step cache's hits, compiled (the top-level module
 * _ddbstep_stepcache, so that a checkout's engine/ package does not hide it).
 *
 * engine/stepcache.py is the reference: every function here is one of its
 * methods with the same result, for the case where the cache already holds
 * the answer. Where it does not (no entry matches, a derived structure is
 * not yet in a memo, the kernel's lists are not plain lists), it returns
 * MISS and has changed nothing: the Python method runs instead, traces the
 * step and stores it. Nothing here executes a kernel statement or knows a
 * field's meaning; it compares values the tracer recorded and applies the
 * writes it recorded. DDBSTEP_PURE=1 leaves it unused
 * (tests/explore/test_compiled.py compares the two).
 *
 * Invariant: the structures a kernel holds are interned (StepCache.
 * canonical), so their ids are their values: a key of (CPU, id of its
 * cpu_info, id of its curlwp) and a memo keyed by an old structure's id
 * are exact.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <structmember.h>
#include <string.h>

static PyObject *MISS;          /* the answer "not here: run the Python method" */
static PyObject *KernelType;    /* engine.kernel.Kernel */
static PyObject *Independent;   /* engine.footprint.independent */

/* Interned attribute names. */
static PyObject *s_locks, *s_hc, *s_structs, *s_kvars, *s_delta, *s_alone, *s_visible, *s_violation,
    *s_ci_curlwp,
    *s_in_ddb, *s_tail_hash, *s_hits, *s_efp, *s_table, *s_fingerprint, *s_inv_write,
    *s_lock_write, *s_independent;



/* obj.name, read straight from its slot where obj's type keeps name in one
 * (a member descriptor of a class with the generic attribute lookup: attrs'
 * slotted classes, _Entry); by PyObject_GetAttr otherwise. (type, name) ->
 * slot offset, remembered in a small table; the table holds references to
 * both, so neither pointer can be reused while it is there. */
#define SLOTS 4096
static struct {
    PyTypeObject *type;
    PyObject *name;
    Py_ssize_t off;  /* -1: not a slot */
} slot_cache[SLOTS];

static PyObject *
fast_getattr(PyObject *obj, PyObject *name)
{
    PyTypeObject *t = Py_TYPE(obj);
    size_t h = (size_t)((((uint64_t)(uintptr_t)t >> 4) * 0x9E3779B97F4A7C15u
                         ^ ((uint64_t)(uintptr_t)name >> 4)) * 0xBF58476D1CE4E5B9u >> 52)
               & (SLOTS - 1);
    if (slot_cache[h].type != t || slot_cache[h].name != name) {
        Py_ssize_t off = -1;
        if (t->tp_getattro == PyObject_GenericGetAttr && PyUnicode_CheckExact(name)) {
            PyObject *d = _PyType_Lookup(t, name);  /* (borrowed) */
            if (d != NULL && Py_IS_TYPE(d, &PyMemberDescr_Type)) {
                PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
                if (m->type == T_OBJECT_EX && !(m->flags & READ_RESTRICTED))
                    off = m->offset;
            }
        }
        Py_INCREF(t);
        Py_INCREF(name);
        Py_XDECREF(slot_cache[h].type);
        Py_XDECREF(slot_cache[h].name);
        slot_cache[h].type = t;
        slot_cache[h].name = name;
        slot_cache[h].off = off;
    }
    if (slot_cache[h].off > 0) {
        PyObject *v = *(PyObject **)((char *)obj + slot_cache[h].off);
        if (v != NULL)
            return Py_NewRef(v);
    }
    return PyObject_GetAttr(obj, name);
}

/* fast_getattr(obj, "literal"), the name interned once for the call site. */
#define GA(obj, lit)                                                                          \
    __extension__({                                                                           \
        static PyObject *name_;                                                               \
        if (name_ == NULL)                                                                    \
            name_ = PyUnicode_InternFromString(lit);                                          \
        name_ != NULL ? fast_getattr((obj), name_) : NULL;                                    \
    })

/* The Kernel's fields, in the order of its attrs definition (engine/kernel.py),
 * and where each lives in a Kernel object: attrs makes it a slotted class,
 * so a field is a pointer at a fixed offset (its member descriptor's). */
enum { K_CONFIG, K_PROCS, K_IFNETS, K_LWPS, K_CPUS, K_PSREFS, K_LOCKS, K_HARDCLOCK_TICKS,
       K_WORKER_CI, K_PANICSTR, K_PANICCPU, K_MSGBUF, K_FP, K_TL, K_NFIELDS };
static const char *const k_names[K_NFIELDS] = {
    "config", "procs", "ifnets", "lwps", "cpus", "psrefs", "locks", "hardclock_ticks",
    "worker_ci", "panicstr", "paniccpu", "msgbuf", "_fp", "_tl"};
static PyObject *k_name_objs[K_NFIELDS];
static Py_ssize_t k_off[K_NFIELDS];  /* 0: not found (read by name instead) */

static int
k_offsets(void)
{
    for (int i = 0; i < K_NFIELDS; i++) {
        k_off[i] = 0;
        k_name_objs[i] = PyUnicode_InternFromString(k_names[i]);
        if (k_name_objs[i] == NULL)
            return -1;
        PyObject *d = PyObject_GetAttr(KernelType, k_name_objs[i]);
        if (d == NULL) {
            PyErr_Clear();
            continue;
        }
        if (Py_IS_TYPE(d, &PyMemberDescr_Type)) {
            PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
            if (m->type == T_OBJECT_EX || m->type == T_OBJECT)
                k_off[i] = m->offset;
        }
        Py_DECREF(d);
    }
    return 0;
}

/* k.<field i> (new reference; NULL with an exception where unset). */
static PyObject *
kget(PyObject *k, int i)
{
    if (k_off[i] && Py_IS_TYPE(k, (PyTypeObject *)KernelType)) {
        PyObject *v = *(PyObject **)((char *)k + k_off[i]);
        if (v != NULL)
            return Py_NewRef(v);
    }
    return PyObject_GetAttr(k, k_name_objs[i]);
}

/* k.<field i> = v */
static int
kset(PyObject *k, int i, PyObject *v)
{
    if (k_off[i] && Py_IS_TYPE(k, (PyTypeObject *)KernelType)) {
        PyObject **slot = (PyObject **)((char *)k + k_off[i]);
        Py_XSETREF(*slot, Py_NewRef(v));
        return 0;
    }
    return PyObject_SetAttr(k, k_name_objs[i], v);
}

/* Kernel(*fields) with _fp and _tl None, as its __init__ makes it (which
 * sets each field and nothing else); by the class where a field has no slot. */
static PyObject *
knew(PyObject **fields)
{
    int slotted = 1;
    for (int i = 0; i < K_NFIELDS; i++)
        slotted &= k_off[i] != 0;
    if (!slotted)
        return PyObject_Vectorcall(KernelType, fields, K_FP, NULL);
    PyTypeObject *t = (PyTypeObject *)KernelType;
    PyObject *n = t->tp_alloc(t, 0);
    if (n == NULL)
        return NULL;
    for (int i = 0; i < K_NFIELDS; i++)
        *(PyObject **)((char *)n + k_off[i]) = Py_NewRef(i < K_FP ? fields[i] : Py_None);
    return n;
}


/* SplitMix64's finalizer (kernel._mix64). */
static uint64_t
mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Kernel.tail_hash(): _mix64(hash((sorted locks, hardclock_ticks, worker_ci,
 * panicstr, paniccpu))), cached in _tl. New reference. */
static PyObject *
tail_hash(PyObject *k)
{
    PyObject *tl = kget(k, K_TL);
    if (tl == NULL || tl != Py_None)
        return tl;
    Py_DECREF(tl);
    PyObject *f[5] = {NULL, NULL, NULL, NULL, NULL}, *items = NULL, *t = NULL, *r = NULL;
    PyObject *locks = kget(k, K_LOCKS);
    if (locks == NULL || !PyDict_CheckExact(locks)) {
        Py_XDECREF(locks);
        return PyObject_CallMethodNoArgs(k, s_tail_hash);
    }
    items = PyDict_Items(locks);
    Py_DECREF(locks);
    if (items == NULL || PyList_Sort(items) < 0)
        goto out;
    f[0] = PyList_AsTuple(items);
    f[1] = kget(k, K_HARDCLOCK_TICKS);
    f[2] = kget(k, K_WORKER_CI);
    f[3] = kget(k, K_PANICSTR);
    f[4] = kget(k, K_PANICCPU);
    for (int i = 0; i < 5; i++)
        if (f[i] == NULL)
            goto out;
    t = PyTuple_Pack(5, f[0], f[1], f[2], f[3], f[4]);
    if (t == NULL)
        goto out;
    Py_hash_t h = PyObject_Hash(t);
    if (h == -1 && PyErr_Occurred())
        goto out;
    r = PyLong_FromUnsignedLongLong(mix64((uint64_t)h));
    if (r != NULL && kset(k, K_TL, r) < 0)
        Py_CLEAR(r);
out:
    Py_XDECREF(items);
    Py_XDECREF(t);
    for (int i = 0; i < 5; i++)
        Py_XDECREF(f[i]);
    return r;
}

/* A kernel's fields read once, borrowed from k. */
typedef struct {
    PyObject *lwps, *cpus, *psrefs, *locks;
} Kview;

static int
kview(PyObject *k, Kview *v, PyObject **owned)
{
    /* owned[0..3] hold the references; the caller drops them. */
    owned[0] = kget(k, K_LWPS);
    owned[1] = kget(k, K_CPUS);
    owned[2] = kget(k, K_PSREFS);
    owned[3] = kget(k, K_LOCKS);
    if (!owned[0] || !owned[1] || !owned[2] || !owned[3])
        return -1;
    v->lwps = owned[0];
    v->cpus = owned[1];
    v->psrefs = owned[2];
    v->locks = owned[3];
    /* A Cow list hands out clones on indexing: only plain lists are read here. */
    if (!PyList_CheckExact(v->lwps) || !PyList_CheckExact(v->cpus)
        || !PyList_CheckExact(v->psrefs) || !PyDict_CheckExact(v->locks))
        return 1;
    return 0;
}

static void
drop4(PyObject **o)
{
    for (int i = 0; i < 4; i++)
        Py_XDECREF(o[i]);
}

/* _matches(e, lists, k): does k hold every value e's transition read? -1 on error. */
static int
matches(PyObject *e, Kview *v, PyObject *k)
{
    PyObject *lists[3] = {v->lwps, v->cpus, v->psrefs};
    PyObject *structs = fast_getattr(e, s_structs);
    if (structs == NULL)
        return -1;
    int ok = 1;
    Py_ssize_t n = PyTuple_GET_SIZE(structs);
    for (Py_ssize_t i = 0; i < n && ok == 1; i++) {
        PyObject *r = PyTuple_GET_ITEM(structs, i);  /* (kind, idx, name, want) */
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(r, 0));
        Py_ssize_t idx = PyLong_AsSsize_t(PyTuple_GET_ITEM(r, 1));
        PyObject *lst = lists[kind];
        if (idx < 0 || idx >= PyList_GET_SIZE(lst)) {
            ok = 0;
            break;
        }
        PyObject *got = fast_getattr(PyList_GET_ITEM(lst, idx), PyTuple_GET_ITEM(r, 2));
        if (got == NULL) {
            ok = -1;
            break;
        }
        PyObject *want = PyTuple_GET_ITEM(r, 3);
        int eq = got == want ? 1 : PyObject_RichCompareBool(got, want, Py_EQ);
        Py_DECREF(got);
        if (eq < 0)
            ok = -1;
        else if (!eq)
            ok = 0;
    }
    Py_DECREF(structs);
    if (ok != 1)
        return ok;
    PyObject *locks = fast_getattr(e, s_locks);
    if (locks == NULL)
        return -1;
    n = PyTuple_GET_SIZE(locks);
    for (Py_ssize_t i = 0; i < n && ok == 1; i++) {
        PyObject *r = PyTuple_GET_ITEM(locks, i);  /* (name, owner or None) */
        PyObject *got = PyDict_GetItemWithError(v->locks, PyTuple_GET_ITEM(r, 0));
        if (got == NULL && PyErr_Occurred()) {
            ok = -1;
            break;
        }
        if (got == NULL)
            got = Py_None;
        PyObject *want = PyTuple_GET_ITEM(r, 1);
        int eq = got == want ? 1 : PyObject_RichCompareBool(got, want, Py_EQ);
        if (eq < 0)
            ok = -1;
        else if (!eq)
            ok = 0;
    }
    Py_DECREF(locks);
    if (ok != 1)
        return ok;
    PyObject *kvars = fast_getattr(e, s_kvars);
    if (kvars == NULL)
        return -1;
    n = PyTuple_GET_SIZE(kvars);
    for (Py_ssize_t i = 0; i < n && ok == 1; i++) {
        PyObject *r = PyTuple_GET_ITEM(kvars, i);  /* (name, value) */
        PyObject *got = fast_getattr(k, PyTuple_GET_ITEM(r, 0));
        if (got == NULL) {
            ok = -1;
            break;
        }
        PyObject *want = PyTuple_GET_ITEM(r, 1);
        int eq = got == want ? 1 : PyObject_RichCompareBool(got, want, Py_EQ);
        Py_DECREF(got);
        if (eq < 0)
            ok = -1;
        else if (!eq)
            ok = 0;
    }
    Py_DECREF(kvars);
    return ok;
}

/* StepCache._entry: the first entry under key whose reads k holds (new
 * reference), Py_None if none, NULL on error. */
static PyObject *
find_entry(PyObject *table, PyObject *key, Kview *v, PyObject *k)
{
    PyObject *entries = PyDict_GetItemWithError(table, key);
    if (entries == NULL) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PyList_GET_SIZE(entries);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PyList_GET_ITEM(entries, i);
        int m = matches(e, v, k);
        if (m < 0)
            return NULL;
        if (m) {
            Py_INCREF(e);
            return e;
        }
    }
    Py_RETURN_NONE;
}

/* The step key (ci, id(cpu), id(curlwp)); Py_None where no step runs
 * (a panic, ddb): the Python method answers those. */
static PyObject *
step_key(PyObject *k, Kview *v, Py_ssize_t ci)
{
    PyObject *ps = kget(k, K_PANICSTR);
    if (ps == NULL)
        return NULL;
    int panicked = ps != Py_None;
    Py_DECREF(ps);
    if (panicked || ci < 0 || ci >= PyList_GET_SIZE(v->cpus))
        Py_RETURN_NONE;
    PyObject *cpu = PyList_GET_ITEM(v->cpus, ci);
    PyObject *ddb = fast_getattr(cpu, s_in_ddb);
    if (ddb == NULL)
        return NULL;
    int in_ddb = PyObject_IsTrue(ddb);
    Py_DECREF(ddb);
    if (in_ddb)
        Py_RETURN_NONE;
    PyObject *cur = fast_getattr(cpu, s_ci_curlwp);
    if (cur == NULL)
        return NULL;
    Py_ssize_t li = PyLong_AsSsize_t(cur);
    Py_DECREF(cur);
    if (li < 0 || li >= PyList_GET_SIZE(v->lwps))
        Py_RETURN_NONE;
    PyObject *a = PyLong_FromSsize_t(ci);
    PyObject *b = PyLong_FromVoidPtr(cpu);
    PyObject *c = PyLong_FromVoidPtr(PyList_GET_ITEM(v->lwps, li));
    PyObject *key = (a && b && c) ? PyTuple_Pack(3, a, b, c) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);
    return key;
}

/* A structure's mixed hash (kernel.hkey), or -1 with *known = 0 where it
 * is not yet computed. */
static int
hc_of(PyObject *obj, uint64_t *out)
{
    PyObject *hc = fast_getattr(obj, s_hc);
    if (hc == NULL)
        return -1;
    if (hc == Py_None) {
        Py_DECREF(hc);
        return 1;
    }
    *out = (uint64_t)PyLong_AsUnsignedLongLongMask(hc);
    Py_DECREF(hc);
    return 0;
}

static int
bump_hits(PyObject *cache)
{
    PyObject *h = fast_getattr(cache, s_hits);
    if (h == NULL)
        return -1;
    PyObject *one = PyLong_FromLong(1);
    PyObject *h2 = one ? PyNumber_Add(h, one) : NULL;
    Py_DECREF(h);
    Py_XDECREF(one);
    if (h2 == NULL)
        return -1;
    int r = PyObject_SetAttr(cache, s_hits, h2);
    Py_DECREF(h2);
    return r;
}

/* StepCache._apply(k, delta): the new kernel (new reference), MISS where a
 * memo does not yet hold a derived structure or a hash is not computed
 * (nothing changed), NULL on error. */
static PyObject *
apply_delta(PyObject *k, Kview *v, PyObject *delta)
{
    PyObject *structs = PyTuple_GET_ITEM(delta, 0);
    PyObject *locks = PyTuple_GET_ITEM(delta, 1);
    PyObject *kvars = PyTuple_GET_ITEM(delta, 2);
    PyObject *lists[3] = {v->lwps, v->cpus, v->psrefs};
    PyObject *fresh[3] = {NULL, NULL, NULL};
    PyObject *n = NULL, *lk = NULL, *fpo = NULL;
    PyObject *result = NULL;
    uint64_t fp = 0;
    int have_fp;

    fpo = kget(k, K_FP);
    if (fpo == NULL)
        return NULL;
    have_fp = fpo != Py_None;
    if (have_fp)
        fp = (uint64_t)PyLong_AsUnsignedLongLongMask(fpo);

    Py_ssize_t ns = PyTuple_GET_SIZE(structs);
    for (Py_ssize_t i = 0; i < ns; i++) {
        PyObject *w = PyTuple_GET_ITEM(structs, i);  /* (kind, idx, fields, memo) */
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(w, 0));
        Py_ssize_t idx = PyLong_AsSsize_t(PyTuple_GET_ITEM(w, 1));
        PyObject *memo = PyTuple_GET_ITEM(w, 3);
        if (fresh[kind] == NULL) {
            fresh[kind] = PyList_GetSlice(lists[kind], 0, PyList_GET_SIZE(lists[kind]));
            if (fresh[kind] == NULL)
                goto out;
        }
        PyObject *old = PyList_GET_ITEM(fresh[kind], idx);
        PyObject *oid = PyLong_FromVoidPtr(old);
        if (oid == NULL)
            goto out;
        PyObject *nw = PyDict_GetItemWithError(memo, oid);
        Py_DECREF(oid);
        if (nw == NULL) {
            if (!PyErr_Occurred())
                result = Py_NewRef(MISS);
            goto out;
        }
        if (have_fp) {
            uint64_t ho, hn;
            int a = hc_of(old, &ho);
            int b = a == 0 ? hc_of(nw, &hn) : a;
            if (a < 0 || b < 0)
                goto out;
            if (a || b) {
                result = Py_NewRef(MISS);
                goto out;
            }
            fp += hn - ho;
        }
        Py_INCREF(nw);
        PyList_SET_ITEM(fresh[kind], idx, nw);
        Py_DECREF(old);
    }
    if (PyTuple_GET_SIZE(locks)) {
        lk = PyDict_Copy(v->locks);
        if (lk == NULL)
            goto out;
        Py_ssize_t nl = PyTuple_GET_SIZE(locks);
        for (Py_ssize_t i = 0; i < nl; i++) {
            PyObject *r = PyTuple_GET_ITEM(locks, i);
            PyObject *name = PyTuple_GET_ITEM(r, 0), *owner = PyTuple_GET_ITEM(r, 1);
            if (owner == Py_None) {
                if (PyDict_Contains(lk, name) == 1 && PyDict_DelItem(lk, name) < 0)
                    goto out;
            } else if (PyDict_SetItem(lk, name, owner) < 0) {
                goto out;
            }
        }
    } else {
        lk = Py_NewRef(v->locks);
    }
    {
        PyObject *args[K_FP];
        int got = 1;
        for (int i = 0; i < K_FP; i++) {
            if (i >= K_LWPS && i <= K_LOCKS)
                continue;
            args[i] = kget(k, i);
            if (args[i] == NULL)
                got = 0;
        }
        for (int j = 0; j < 3; j++)
            args[K_LWPS + j] = fresh[j] ? Py_NewRef(fresh[j]) : Py_NewRef(lists[j]);
        args[K_LOCKS] = Py_NewRef(lk);
        if (got)
            n = knew(args);
        for (int i = 0; i < K_FP; i++)
            Py_XDECREF(args[i]);
        if (n == NULL)
            goto out;
    }
    Py_ssize_t nk = PyTuple_GET_SIZE(kvars);
    for (Py_ssize_t i = 0; i < nk; i++) {
        PyObject *r = PyTuple_GET_ITEM(kvars, i);
        if (PyObject_SetAttr(n, PyTuple_GET_ITEM(r, 0), PyTuple_GET_ITEM(r, 1)) < 0)
            goto out;
    }
    if (have_fp) {
        /* Kernel.fingerprint's sum, changed by what changed. */
        if (PyTuple_GET_SIZE(locks) || nk) {
            PyObject *tn = tail_hash(n);
            PyObject *tk = tn ? tail_hash(k) : NULL;
            if (tk == NULL) {
                Py_XDECREF(tn);
                goto out;
            }
            fp += (uint64_t)PyLong_AsUnsignedLongLongMask(tn)
                - (uint64_t)PyLong_AsUnsignedLongLongMask(tk);
            Py_DECREF(tn);
            Py_DECREF(tk);
        } else {
            PyObject *tl = kget(k, K_TL);
            if (tl == NULL)
                goto out;
            int r = kset(n, K_TL, tl);
            Py_DECREF(tl);
            if (r < 0)
                goto out;
        }
        PyObject *f = PyLong_FromUnsignedLongLong(fp);
        if (f == NULL || kset(n, K_FP, f) < 0) {
            Py_XDECREF(f);
            goto out;
        }
        Py_DECREF(f);
    }
    result = Py_NewRef(n);
out:
    for (int j = 0; j < 3; j++)
        Py_XDECREF(fresh[j]);
    Py_XDECREF(n);
    Py_XDECREF(lk);
    Py_XDECREF(fpo);
    return result;
}

static int
holds_lock(Kview *v, Py_ssize_t ci)
{
    /* ci in k.locks.values() */
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(v->locks, &pos, &key, &value)) {
        if (PyLong_Check(value) && PyLong_AsSsize_t(value) == ci)
            return 1;
    }
    return 0;
}


/* fp.violation is not None: 1, 0, or -1 on error. */
static int
violates(PyObject *fp)
{
    PyObject *viol = fast_getattr(fp, s_violation);
    if (viol == NULL)
        return -1;
    int r = viol != Py_None;
    Py_DECREF(viol);
    return r;
}

/* out.append((mv, n, ticks)): a move that makes progress. */
static int
append_move(PyObject *out, PyObject *mv, PyObject *n, PyObject *ticks)
{
    PyObject *t = PyTuple_Pack(3, mv, n, ticks);
    int e = t ? PyList_Append(out, t) : -1;
    Py_XDECREF(t);
    return e;
}

static int
flag(PyObject *obj, PyObject *name)
{
    PyObject *x = fast_getattr(obj, name);
    if (x == NULL)
        return -1;
    int r = PyObject_IsTrue(x);
    Py_DECREF(x);
    return r;
}

/* StepCache.step_alone(k, ci, ticks) on a hit: (kernel or None, footprint);
 * MISS where the Python method must answer. */
static PyObject *
step_alone_hit(PyObject *cache, PyObject *table, PyObject *k, Py_ssize_t ci, long ticks)
{
    PyObject *own[4] = {NULL, NULL, NULL, NULL};
    PyObject *key = NULL, *e = NULL, *fp = NULL, *delta = NULL, *alone = NULL, *n = NULL;
    PyObject *result = NULL;
    Kview v;
    int r = kview(k, &v, own);
    if (r < 0)
        goto out;
    if (r > 0) {
        result = Py_NewRef(MISS);
        goto out;
    }
    key = step_key(k, &v, ci);
    if (key == NULL)
        goto out;
    if (key == Py_None) {
        result = Py_NewRef(MISS);
        goto out;
    }
    e = find_entry(table, key, &v, k);
    if (e == NULL)
        goto out;
    if (e == Py_None) {
        result = Py_NewRef(MISS);
        goto out;
    }
    fp = fast_getattr(e, s_efp);
    delta = fp ? fast_getattr(e, s_delta) : NULL;
    if (delta == NULL)
        goto out;
    int visible = flag(fp, s_visible);
    if (visible < 0)
        goto out;
    int violated = violates(fp);
    if (violated < 0)
        goto out;
    if (delta == Py_None || visible || violated) {
        if (bump_hits(cache) < 0)
            goto out;
        result = PyTuple_Pack(2, Py_None, fp);
        goto out;
    }
    long bit = 1L << (2 * (ticks > 0) + 4 * holds_lock(&v, ci));
    alone = fast_getattr(e, s_alone);
    if (alone == NULL)
        goto out;
    long al = PyLong_AsLong(alone);
    if ((al & bit) && !(al & (bit << 1))) {
        if (bump_hits(cache) < 0)
            goto out;
        result = PyTuple_Pack(2, Py_None, fp);
        goto out;
    }
    n = apply_delta(k, &v, delta);
    if (n == NULL || n == MISS) {
        result = n;
        n = NULL;
        goto out;
    }
    if (bump_hits(cache) < 0)
        goto out;
    if (!(al & bit)) {
        PyObject *args[5];
        args[0] = k;
        args[1] = n;
        args[2] = PyLong_FromSsize_t(ci);
        args[3] = fp;
        args[4] = PyLong_FromLong(ticks);
        PyObject *ind = (args[2] && args[4]) ? PyObject_Vectorcall(Independent, args, 5, NULL)
                                             : NULL;
        Py_XDECREF(args[2]);
        Py_XDECREF(args[4]);
        if (ind == NULL)
            goto out;
        int yes = PyObject_IsTrue(ind);
        Py_DECREF(ind);
        if (yes < 0)
            goto out;
        al |= yes ? (bit | bit << 1) : bit;
        PyObject *na = PyLong_FromLong(al);
        if (na == NULL || PyObject_SetAttr(e, s_alone, na) < 0) {
            Py_XDECREF(na);
            goto out;
        }
        Py_DECREF(na);
        if (!yes) {
            result = PyTuple_Pack(2, Py_None, fp);
            goto out;
        }
    }
    result = PyTuple_Pack(2, n, fp);
out:
    drop4(own);
    Py_XDECREF(key);
    Py_XDECREF(e);
    Py_XDECREF(fp);
    Py_XDECREF(delta);
    Py_XDECREF(alone);
    Py_XDECREF(n);
    return result;
}

static PyObject *
py_step_alone(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    /* step_alone(cache, table, k, ci, ticks) */
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "step_alone(cache, table, k, ci, ticks)");
        return NULL;
    }
    Py_ssize_t ci = PyLong_AsSsize_t(args[3]);
    long ticks = PyLong_AsLong(args[4]);
    if (PyErr_Occurred())
        return NULL;
    return step_alone_hit(args[0], args[1], args[2], ci, ticks);
}

/* StepCache._lookup(key, k) on a hit: (kernel, footprint); None where no
 * entry matches; MISS where a memo misses. */
static PyObject *
py_lookup(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    /* lookup(cache, table, key, k) */
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "lookup(cache, table, key, k)");
        return NULL;
    }
    PyObject *cache = args[0], *table = args[1], *key = args[2], *k = args[3];
    PyObject *own[4] = {NULL, NULL, NULL, NULL};
    PyObject *e = NULL, *fp = NULL, *delta = NULL, *n = NULL, *result = NULL;
    Kview v;
    int r = kview(k, &v, own);
    if (r < 0)
        goto out;
    if (r > 0) {
        result = Py_NewRef(MISS);
        goto out;
    }
    e = find_entry(table, key, &v, k);
    if (e == NULL)
        goto out;
    if (e == Py_None) {
        result = Py_NewRef(Py_None);
        goto out;
    }
    fp = fast_getattr(e, s_efp);
    delta = fp ? fast_getattr(e, s_delta) : NULL;
    if (delta == NULL)
        goto out;
    if (delta == Py_None) {
        if (bump_hits(cache) == 0)
            result = PyTuple_Pack(2, k, fp);
        goto out;
    }
    n = apply_delta(k, &v, delta);
    if (n == NULL || n == MISS) {
        result = n;
        n = NULL;
        goto out;
    }
    if (bump_hits(cache) == 0)
        result = PyTuple_Pack(2, n, fp);
out:
    drop4(own);
    Py_XDECREF(e);
    Py_XDECREF(fp);
    Py_XDECREF(delta);
    Py_XDECREF(n);
    return result;
}


/* A kernel's fingerprint(): its cached _fp, else the method's answer. */
static PyObject *
fingerprint(PyObject *k)
{
    PyObject *f = kget(k, K_FP);
    if (f == NULL || f != Py_None)
        return f;
    Py_DECREF(f);
    return PyObject_CallMethodNoArgs(k, s_fingerprint);
}

/* engine.explore.reduction.ample_chain with a step cache, the loop compiled:
 * chain(cache, k, ticks, blocked, start, broken, fps, bounded, step_alone,
 *       preempts, check_invariants, steps, limit)
 * -> (k, path, None) or (k, path, footprint) where a step broke the lock
 * discipline (the caller raises). blocked: a set the chain adds to (the
 * caller's own copy); step_alone: the cache's Python method, for misses;
 * steps: the Move of each CPU's step. */
static PyObject *
py_chain(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 13) {
        PyErr_SetString(PyExc_TypeError, "chain() takes 13 arguments");
        return NULL;
    }
    PyObject *cache = args[0], *blocked = args[3], *fps = args[6];
    PyObject *step_alone = args[8], *preempts = args[9], *check = args[10], *steps = args[11];
    long ticks = PyLong_AsLong(args[2]);
    Py_ssize_t ci = PyLong_AsSsize_t(args[4]);
    int broken = PyObject_IsTrue(args[5]);
    int bounded = PyObject_IsTrue(args[7]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[12]);
    if (PyErr_Occurred())
        return NULL;
    PyObject *table = fast_getattr(cache, s_table);
    if (table == NULL)
        return NULL;
    PyObject *k = Py_NewRef(args[1]);
    PyObject *path = PyList_New(0);
    PyObject *keys = PySet_New(NULL);
    PyObject *bad = Py_NewRef(Py_None);
    PyObject *result = NULL;
    PyObject *f = NULL;
    if (path == NULL || keys == NULL)
        goto out;
    f = fingerprint(k);
    if (f == NULL || PySet_Add(keys, f) < 0)
        goto out;
    Py_CLEAR(f);
    PyObject *cpus = kget(k, K_CPUS);
    if (cpus == NULL)
        goto out;
    Py_ssize_t ncpu = PyObject_Length(cpus);
    Py_DECREF(cpus);
    if (ncpu <= 0)
        goto done;
    for (;;) {
        PyObject *ps = kget(k, K_PANICSTR);
        if (ps == NULL)
            goto out;
        int panicked = ps != Py_None;
        Py_DECREF(ps);
        if (panicked || PyList_GET_SIZE(path) >= limit || PySet_GET_SIZE(blocked) >= ncpu)
            break;
        PyObject *cio = PyLong_FromSsize_t(ci);
        if (cio == NULL)
            goto out;
        int isb = PySet_Contains(blocked, cio);
        if (isb < 0) {
            Py_DECREF(cio);
            goto out;
        }
        if (isb) {
            Py_DECREF(cio);
            ci = (ci + 1) % ncpu;
            continue;
        }
        PyObject *r = step_alone_hit(cache, table, k, ci, ticks);
        if (r == MISS) {
            Py_DECREF(r);
            PyObject *a[3] = {k, cio, args[2]};
            r = PyObject_Vectorcall(step_alone, a, 3, NULL);
        }
        if (r == NULL) {
            Py_DECREF(cio);
            goto out;
        }
        PyObject *m = PyTuple_GET_ITEM(r, 0), *fp = PyTuple_GET_ITEM(r, 1);
        int violated = violates(fp);
        if (violated) {
            Py_DECREF(cio);
            if (violated > 0)
                Py_SETREF(bad, Py_NewRef(fp));
            Py_DECREF(r);
            if (violated < 0)
                goto out;
            break;
        }
        int stop = m == Py_None;
        if (!stop) {
            f = fingerprint(m);
            int in = f ? PySet_Contains(keys, f) : -1;
            if (in < 0) {
                Py_DECREF(r);
                Py_DECREF(cio);
                goto out;
            }
            stop = in;
        }
        if (!stop && bounded) {
            PyObject *a[3] = {k, m, cio};
            PyObject *p = PyObject_Vectorcall(preempts, a, 3, NULL);
            int yes = p ? PyObject_IsTrue(p) : -1;
            Py_XDECREF(p);
            if (yes < 0) {
                Py_DECREF(r);
                Py_DECREF(cio);
                goto out;
            }
            stop = yes;
        }
        if (stop) {
            Py_CLEAR(f);
            Py_DECREF(r);
            int e = PySet_Add(blocked, cio);
            Py_DECREF(cio);
            if (e < 0)
                goto out;
            continue;
        }
        Py_DECREF(cio);
        if (PySet_Add(keys, f) < 0 || PyList_Append(path, PyList_GET_ITEM(steps, ci)) < 0
            || (fps != Py_None && PyList_Append(fps, fp) < 0)) {
            Py_DECREF(r);
            goto out;
        }
        Py_CLEAR(f);
        Py_SETREF(k, Py_NewRef(m));
        int look = broken;
        if (!look) {
            int iw = flag(fp, s_inv_write), lw = iw >= 0 ? flag(fp, s_lock_write) : -1;
            if (lw < 0) {
                Py_DECREF(r);
                goto out;
            }
            look = iw || lw;
        }
        Py_DECREF(r);
        if (look) {
            PyObject *msg = PyObject_CallOneArg(check, k);
            if (msg == NULL)
                goto out;
            int whole = msg == Py_None;
            Py_DECREF(msg);
            if (!whole)
                break;
        }
    }
done:
    result = PyTuple_Pack(3, k, path, bad);
out:
    Py_XDECREF(f);
    Py_XDECREF(table);
    Py_XDECREF(k);
    Py_XDECREF(path);
    Py_XDECREF(keys);
    Py_XDECREF(bad);
    return result;
}


/* StepCache.independent(k, n, ci, fp, ticks) from its memo; the method
 * itself where the memo does not hold it. 1, 0, or -1 on error. */
static int
independent_memo(PyObject *cache, PyObject *k, PyObject *n, Py_ssize_t ci, PyObject *fp,
                 long ticks, PyObject *method)
{
    int vis = flag(fp, s_visible);
    if (vis != 0)
        return vis < 0 ? -1 : 0;
    int violated = violates(fp);
    if (violated)
        return violated < 0 ? -1 : 0;
    PyObject *ko[4] = {NULL, NULL, NULL, NULL}, *no[4] = {NULL, NULL, NULL, NULL};
    PyObject *memo = NULL, *key = NULL;
    int result = -1;
    Kview kv, nv;
    int a = kview(k, &kv, ko), b = a == 0 ? kview(n, &nv, no) : a;
    if (a < 0 || b < 0)
        goto out;
    if (a == 0 && b == 0) {
        PyObject *kc = PyList_GET_ITEM(kv.cpus, ci), *nc = PyList_GET_ITEM(nv.cpus, ci);
        PyObject *kcur = fast_getattr(kc, s_ci_curlwp);
        PyObject *ncur = kcur ? fast_getattr(nc, s_ci_curlwp) : NULL;
        Py_ssize_t ki = kcur ? PyLong_AsSsize_t(kcur) : -1, ni = ncur ? PyLong_AsSsize_t(ncur) : -1;
        Py_XDECREF(kcur);
        Py_XDECREF(ncur);
        if (PyErr_Occurred())
            goto out;
        if (ki >= 0 && ki < PyList_GET_SIZE(kv.lwps) && ni >= 0 && ni < PyList_GET_SIZE(nv.lwps)) {
            PyObject *parts[7];
            parts[0] = PyLong_FromVoidPtr(fp);
            parts[1] = PyLong_FromVoidPtr(kc);
            parts[2] = PyLong_FromVoidPtr(PyList_GET_ITEM(kv.lwps, ki));
            parts[3] = PyLong_FromVoidPtr(nc);
            parts[4] = PyLong_FromVoidPtr(PyList_GET_ITEM(nv.lwps, ni));
            parts[5] = Py_NewRef(ticks > 0 ? Py_True : Py_False);
            parts[6] = Py_NewRef(holds_lock(&kv, ci) ? Py_True : Py_False);
            int ok = parts[0] && parts[1] && parts[2] && parts[3] && parts[4];
            key = ok ? PyTuple_Pack(7, parts[0], parts[1], parts[2], parts[3], parts[4],
                                    parts[5], parts[6]) : NULL;
            for (int i = 0; i < 7; i++)
                Py_XDECREF(parts[i]);
            if (key == NULL)
                goto out;
            memo = fast_getattr(cache, s_independent);
            if (memo == NULL)
                goto out;
            PyObject *hit = PyDict_CheckExact(memo) ? PyDict_GetItemWithError(memo, key) : NULL;
            if (hit != NULL) {
                result = PyObject_IsTrue(hit);
                goto out;
            }
            if (PyErr_Occurred())
                goto out;
        }
    }
    {
        PyObject *args[5];
        args[0] = k;
        args[1] = n;
        args[2] = PyLong_FromSsize_t(ci);
        args[3] = fp;
        args[4] = PyLong_FromLong(ticks);
        PyObject *r = (args[2] && args[4]) ? PyObject_Vectorcall(method, args, 5, NULL) : NULL;
        Py_XDECREF(args[2]);
        Py_XDECREF(args[4]);
        if (r == NULL)
            goto out;
        result = PyObject_IsTrue(r);
        Py_DECREF(r);
    }
out:
    drop4(ko);
    drop4(no);
    Py_XDECREF(memo);
    Py_XDECREF(key);
    return result;
}


/* py_lookup's answer with "no entry" as MISS: the method must answer. */
static PyObject *
hit_or_miss(PyObject *cache, PyObject *table, PyObject *key, PyObject *k)
{
    PyObject *a[4] = {cache, table, key, k};
    PyObject *r = py_lookup(NULL, a, 4);
    if (r == Py_None) {
        Py_DECREF(r);
        r = Py_NewRef(MISS);
    }
    return r;
}

/* StepCache.step(k, ci) on a hit, as a (kernel, footprint) pair; MISS
 * where the method must answer. */
static PyObject *
step_hit(PyObject *cache, PyObject *table, PyObject *k, Py_ssize_t ci)
{
    PyObject *own[4] = {NULL, NULL, NULL, NULL};
    PyObject *key = NULL, *result = NULL;
    Kview v;
    int r = kview(k, &v, own);
    if (r != 0) {
        result = r < 0 ? NULL : Py_NewRef(MISS);
        goto out;
    }
    key = step_key(k, &v, ci);
    if (key == NULL)
        goto out;
    if (key == Py_None) {
        result = Py_NewRef(MISS);
        goto out;
    }
    drop4(own);  /* (lookup reads them again) */
    own[0] = own[1] = own[2] = own[3] = NULL;
    result = hit_or_miss(cache, table, key, k);
out:
    drop4(own);
    Py_XDECREF(key);
    return result;
}

/* The CPUs' steps of engine.explore.moves.traced_moves with a step cache:
 * steps(cache, k, ticks, asleep, at_k, STEP, step, independent)
 * -> (out, None), or (out, footprint) where a step broke the discipline
 * (the caller raises). out: (Move, kernel, ticks) of each step that makes
 * progress; at_k (a dict, or None): ci -> (footprint, blocked). */
static PyObject *
py_steps(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "steps() takes 8 arguments");
        return NULL;
    }
    PyObject *cache = args[0], *k = args[1], *tk = args[2], *asleep = args[3], *at_k = args[4];
    PyObject *steps = args[5], *step = args[6], *indep = args[7];
    long ticks = PyLong_AsLong(tk);
    if (PyErr_Occurred())
        return NULL;
    PyObject *table = fast_getattr(cache, s_table);
    PyObject *out = PyList_New(0), *bad = Py_NewRef(Py_None), *result = NULL, *fk = NULL;
    PyObject *cpus = kget(k, K_CPUS);
    if (table == NULL || out == NULL || cpus == NULL)
        goto out;
    Py_ssize_t ncpu = PyObject_Length(cpus);
    if (ncpu < 0)
        goto out;
    for (Py_ssize_t ci = 0; ci < ncpu; ci++) {
        PyObject *mv = PyList_GET_ITEM(steps, ci);
        if (PySet_GET_SIZE(asleep)) {
            int in = PySet_Contains(asleep, mv);
            if (in < 0)
                goto out;
            if (in)
                continue;
        }
        PyObject *r = step_hit(cache, table, k, ci);
        if (r == MISS) {
            Py_DECREF(r);
            PyObject *cio = PyLong_FromSsize_t(ci);
            PyObject *a[2] = {k, cio};
            r = cio ? PyObject_Vectorcall(step, a, 2, NULL) : NULL;
            Py_XDECREF(cio);
        }
        if (r == NULL)
            goto out;
        PyObject *n = PyTuple_GET_ITEM(r, 0), *fp = PyTuple_GET_ITEM(r, 1);
        if (n != k) {
            /* A step that changes nothing the key holds makes no progress. */
            if (fk == NULL && (fk = fingerprint(k)) == NULL) {
                Py_DECREF(r);
                goto out;
            }
            PyObject *fn = fingerprint(n);
            int same = fn ? PyObject_RichCompareBool(fn, fk, Py_EQ) : -1;
            Py_XDECREF(fn);
            if (same < 0) {
                Py_DECREF(r);
                goto out;
            }
            if (same)
                n = k;
        }
        int violated = violates(fp);
        if (violated) {
            if (violated > 0)
                Py_SETREF(bad, Py_NewRef(fp));
            Py_DECREF(r);
            if (violated < 0)
                goto out;
            break;
        }
        if (at_k != Py_None) {
            int blocked = 1;
            if (n != k) {
                int ind = independent_memo(cache, k, n, ci, fp, ticks, indep);
                if (ind < 0) {
                    Py_DECREF(r);
                    goto out;
                }
                blocked = !ind;
            }
            PyObject *cio = PyLong_FromSsize_t(ci);
            PyObject *pair = cio ? PyTuple_Pack(2, fp, blocked ? Py_True : Py_False) : NULL;
            int e = pair ? PyDict_SetItem(at_k, cio, pair) : -1;
            Py_XDECREF(cio);
            Py_XDECREF(pair);
            if (e < 0) {
                Py_DECREF(r);
                goto out;
            }
        }
        int e = n != k ? append_move(out, mv, n, tk) : 0;
        Py_DECREF(r);
        if (e < 0)
            goto out;
    }
    result = PyTuple_Pack(2, out, bad);
out:
    Py_XDECREF(table);
    Py_XDECREF(out);
    Py_XDECREF(bad);
    Py_XDECREF(cpus);
    Py_XDECREF(fk);
    return result;
}



/* engine.explore.reduction._asleep_after(mv, fp, chain, taken, asleep):
 * the moves asleep after the edge (mv, its chain's footprints), the edge
 * added to taken. rank: reduction._rank. */
static PyObject *
asleep_after(PyObject *rank, PyObject *mv, PyObject *fp, PyObject *chain, PyObject *taken,
             PyObject *asleep)
{
    PyObject *acc = NULL, *wr = NULL, *r = NULL, *out = NULL, *result = NULL, *all = NULL;
    PyObject *b = PyObject_CallMethod(fp, "bits", NULL);
    if (b == NULL)
        return NULL;
    acc = Py_NewRef(PyTuple_GET_ITEM(b, 0));
    wr = Py_NewRef(PyTuple_GET_ITEM(b, 1));
    Py_DECREF(b);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(chain); i++) {
        b = PyObject_CallMethod(PyList_GET_ITEM(chain, i), "bits", NULL);
        if (b == NULL)
            goto out;
        Py_SETREF(acc, PyNumber_Or(acc, PyTuple_GET_ITEM(b, 0)));
        Py_SETREF(wr, PyNumber_Or(wr, PyTuple_GET_ITEM(b, 1)));
        Py_DECREF(b);
        if (acc == NULL || wr == NULL)
            goto out;
    }
    r = PyObject_CallOneArg(rank, mv);
    out = PyList_New(0);
    /* (*taken, *asleep) */
    all = r && out ? PySequence_List(taken) : NULL;
    if (all == NULL
        || PyList_SetSlice(all, PyList_GET_SIZE(all), PyList_GET_SIZE(all), asleep) < 0)
        goto out;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(all); i++) {
        PyObject *e = PyList_GET_ITEM(all, i);
        PyObject *re = PyObject_CallOneArg(rank, PyTuple_GET_ITEM(e, 0));
        int lt = re ? PyObject_RichCompareBool(re, r, Py_LT) : -1;
        Py_XDECREF(re);
        if (lt < 0)
            goto out;
        if (!lt)
            continue;
        PyObject *x = PyNumber_And(PyTuple_GET_ITEM(e, 2), acc);
        PyObject *y = x ? PyNumber_And(wr, PyTuple_GET_ITEM(e, 1)) : NULL;
        int meet = y ? (PyObject_IsTrue(x) || PyObject_IsTrue(y)) : -1;
        Py_XDECREF(x);
        Py_XDECREF(y);
        if (meet < 0)
            goto out;
        if (!meet && PyList_Append(out, e) < 0)
            goto out;
    }
    {
        PyObject *t = PyTuple_Pack(3, mv, acc, wr);
        int e = t ? PyList_Append(taken, t) : -1;
        Py_XDECREF(t);
        if (e < 0)
            goto out;
    }
    result = PyList_AsTuple(out);
out:
    Py_XDECREF(acc);
    Py_XDECREF(wr);
    Py_XDECREF(r);
    Py_XDECREF(out);
    Py_XDECREF(all);
    return result;
}

/* ---- the search's expansion of one state (engine/explore/search.py) ---- */

/* Search configuration, a tuple made once by _search (SEARCH_FIELDS there). */
enum { C_SEEN_OPEN, C_CLOSED, C_ENDS, C_EDGE_CODE, C_PUT, C_PUSH, C_PACK, C_CHAINS, C_CACHE,
       C_CHECK, C_PREEMPTS, C_RANK, C_STEPS, C_TICKS, C_BOUND, C_LEFT0,
       C_BOUNDED, C_SLEEPY, C_SUBSUME, C_MAX_STATES, C_ON_STORE, C_CHAINS_KEPT, C_CHAIN_LIMIT,
       C_CLOCK_CAP, C_CAPPED, C_RECORD, C_NFIELDS };

static const uint64_t FPM = UINT64_MAX;

/* _state_key(fingerprint, ticks, left): hash((fp, ticks)) or hash((fp, ticks,
 * left)), as a 64-bit key. 0 with an exception on error is impossible to tell
 * from a key, so errors go by *err. */
static uint64_t
state_key(PyObject *fp, long ticks, long left, int *err)
{
    PyObject *t = PyLong_FromLong(ticks), *l = NULL, *tup = NULL;
    uint64_t key = 0;
    if (t == NULL)
        goto fail;
    if (left < 0) {
        tup = PyTuple_Pack(2, fp, t);
    } else {
        l = PyLong_FromLong(left);
        tup = l ? PyTuple_Pack(3, fp, t, l) : NULL;
    }
    if (tup == NULL)
        goto fail;
    Py_hash_t h = PyObject_Hash(tup);
    if (h == -1 && PyErr_Occurred())
        goto fail;
    key = (uint64_t)h;
    Py_DECREF(tup);
    Py_DECREF(t);
    Py_XDECREF(l);
    return key;
fail:
    Py_XDECREF(tup);
    Py_XDECREF(t);
    Py_XDECREF(l);
    *err = 1;
    return 0;
}

/* KeySet.__contains__ (engine/explore/visited.py): open addressing over an
 * array of 64-bit keys, 0 the empty slot, key 0 kept as 1. */
static int
keyset_has(PyObject *ks, uint64_t key)
{
    PyObject *tab = GA(ks, "_tab");
    if (tab == NULL)
        return -1;
    Py_buffer b;
    if (PyObject_GetBuffer(tab, &b, PyBUF_SIMPLE) < 0) {
        Py_DECREF(tab);
        return -1;
    }
    const uint64_t *a = (const uint64_t *)b.buf;
    uint64_t mask = (uint64_t)(b.len / 8) - 1, k = key ? key : 1;
    int found = 0;
    for (uint64_t i = k & mask;; i = (i + 1) & mask) {
        if (a[i] == k) {
            found = 1;
            break;
        }
        if (!a[i])
            break;
    }
    PyBuffer_Release(&b);
    Py_DECREF(tab);
    return found;
}

/* _Seen.cost_of(key): an open state's cost, 0 for a closed one, a panic's
 * cost, or -1 if never seen; -2 on error. */
static long
cost_of(PyObject *const *cfg, uint64_t key)
{
    PyObject *ko = PyLong_FromUnsignedLongLong(key);
    if (ko == NULL)
        return -2;
    long cost = -1;
    PyObject *e = PyDict_GetItemWithError(cfg[C_SEEN_OPEN], ko);
    if (e != NULL) {
        const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(e);
        cost = (long)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
                      | (uint32_t)p[3] << 24);
        goto out;
    }
    if (PyErr_Occurred()) {
        cost = -2;
        goto out;
    }
    int in = keyset_has(cfg[C_CLOSED], key);
    if (in < 0) {
        cost = -2;
        goto out;
    }
    if (in) {
        cost = 0;
        goto out;
    }
    e = PyDict_GetItemWithError(cfg[C_ENDS], ko);
    if (e != NULL)
        cost = PyLong_AsLong(e);
    else if (PyErr_Occurred())
        cost = -2;
out:
    Py_DECREF(ko);
    return cost;
}

/* visited._capped(obj, cap), where obj's key() and hash are known: its key
 * with the countdowns above cap taken as cap, hashed and mixed, less its
 * own hash; kept in obj._hx[cap] as the Python keeps it. lwps: obj is an
 * LWP (its l_timeout's ticks left), else a CPU (spc_ticks, spc_schedticks).
 * 1 where the Python must answer (no key() or hash yet), -1 on error. */
static int
capped_here(PyObject *const *cfg, PyObject *obj, int lwps, long cap, uint64_t *out)
{
    PyObject *kc = GA(obj, "_kc"), *nk = NULL, *hx = NULL, *nhx = NULL, *d = NULL;
    uint64_t hc = 0;
    int r = -1;
    if (kc == NULL)
        return -1;
    int known = hc_of(obj, &hc);
    if (known < 0)
        goto done;
    if (known > 0 || !PyTuple_Check(kc)) {
        r = 1;
        goto done;
    }
    PyObject *ix = cfg[C_CAPPED];  /* (_capped, spc_ticks, spc_schedticks, l_timeout) */
    Py_ssize_t n = PyTuple_GET_SIZE(kc);
    nk = PyTuple_New(n);
    if (nk == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++)
        PyTuple_SET_ITEM(nk, i, Py_NewRef(PyTuple_GET_ITEM(kc, i)));
    for (int f = lwps ? 3 : 1; f <= (lwps ? 3 : 2); f++) {
        Py_ssize_t i = PyLong_AsSsize_t(PyTuple_GET_ITEM(ix, f));
        if (i < 0 || i >= n) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_IndexError, "clock_fp: a countdown outside key()");
            goto done;
        }
        PyObject *v = PyTuple_GET_ITEM(nk, i), *nv;
        if (lwps) {
            if (!PyTuple_Check(v) || PyTuple_GET_SIZE(v) != 2) {
                r = 1;
                goto done;
            }
            long left = PyLong_AsLong(PyTuple_GET_ITEM(v, 1));
            if (left == -1 && PyErr_Occurred())
                goto done;
            if (left <= cap)
                continue;
            PyObject *c = PyLong_FromLong(cap);
            nv = c ? PyTuple_Pack(2, PyTuple_GET_ITEM(v, 0), c) : NULL;
            Py_XDECREF(c);
        } else {
            long x = PyLong_AsLong(v);
            if (x == -1 && PyErr_Occurred())
                goto done;
            if (x <= cap)
                continue;
            nv = PyLong_FromLong(cap);
        }
        if (nv == NULL)
            goto done;
        PyTuple_SET_ITEM(nk, i, nv);
        Py_DECREF(v);
    }
    Py_hash_t h = PyObject_Hash(nk);
    if (h == -1 && PyErr_Occurred())
        goto done;
    *out = mix64((uint64_t)h) - hc;
    /* obj._hx[cap] = the difference (a tuple grown with None as needed) */
    hx = GA(obj, "_hx");
    if (hx == NULL)
        goto done;
    Py_ssize_t have = PyTuple_Check(hx) ? PyTuple_GET_SIZE(hx) : 0;
    nhx = PyTuple_New(have > cap ? have : cap + 1);
    d = PyLong_FromUnsignedLongLong(*out);
    if (nhx == NULL || d == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(nhx); i++)
        PyTuple_SET_ITEM(nhx, i, Py_NewRef(i == cap ? d : i < have ? PyTuple_GET_ITEM(hx, i)
                                                                    : Py_None));
    static PyObject *s_hx;
    if (s_hx == NULL && (s_hx = PyUnicode_InternFromString("_hx")) == NULL)
        goto done;
    r = PyObject_SetAttr(obj, s_hx, nhx) < 0 ? -1 : 0;
done:
    Py_DECREF(kc);
    Py_XDECREF(nk);
    Py_XDECREF(hx);
    Py_XDECREF(nhx);
    Py_XDECREF(d);
    return r;
}

/* visited._capped(obj, cap): the hash difference obj's _hx[cap] keeps, else
 * capped_here's, else the Python's (each keeps it there). Added to *sum; -1
 * on error. */
static int
add_capped(PyObject *const *cfg, PyObject *obj, int lwps, long cap, uint64_t *sum)
{
    PyObject *hx = GA(obj, "_hx"), *d = NULL;
    if (hx == NULL)
        return -1;
    if (PyTuple_Check(hx) && cap < PyTuple_GET_SIZE(hx)
        && PyTuple_GET_ITEM(hx, cap) != Py_None) {
        d = Py_NewRef(PyTuple_GET_ITEM(hx, cap));
        Py_DECREF(hx);
    } else {
        Py_DECREF(hx);
        uint64_t x = 0;
        int r = capped_here(cfg, obj, lwps, cap, &x);
        if (r <= 0) {
            *sum += x;
            return r;
        }
        PyObject *capo = PyLong_FromLong(cap);
        PyObject *a[2] = {obj, capo};
        d = capo ? PyObject_Vectorcall(PyTuple_GET_ITEM(cfg[C_CAPPED], 0), a, 2, NULL)
                 : NULL;
        Py_XDECREF(capo);
    }
    if (d == NULL)
        return -1;
    uint64_t x = PyLong_AsUnsignedLongLongMask(d);
    Py_DECREF(d);
    if (x == (uint64_t)-1 && PyErr_Occurred())
        return -1;
    *sum += x;
    return 0;
}

/* The highest countdown of a CPU (spc_ticks, spc_schedticks) or of an LWP
 * (its pending l_timeout's ticks left; 0 with none) into *m; -1 on error. */
static int
countdown(PyObject *o, int lwps, long *m)
{
    PyObject *v[2] = {NULL, NULL};
    *m = 0;
    if (!lwps) {
        v[0] = GA(o, "spc_ticks");
        v[1] = v[0] ? GA(o, "spc_schedticks") : NULL;
    } else {
        PyObject *to = GA(o, "l_timeout");
        if (to == NULL)
            return -1;
        if (PyTuple_Check(to) && PyTuple_GET_SIZE(to) == 2)
            v[0] = Py_NewRef(PyTuple_GET_ITEM(to, 1));
        Py_DECREF(to);
        if (v[0] == NULL)
            return 0;
    }
    for (int i = 0; i < 2; i++) {
        if (v[i] == NULL)
            continue;
        long x = PyLong_AsLong(v[i]);
        Py_DECREF(v[i]);
        v[i] = NULL;
        if (x == -1 && PyErr_Occurred()) {
            Py_XDECREF(v[1]);
            return -1;
        }
        if (x > *m)
            *m = x;
    }
    return PyErr_Occurred() ? -1 : 0;
}

/* visited.clock_fp(k, t + i) for i < nb, into out[i], in one walk of k's
 * structures: its fingerprint with each countdown above t + i + 1
 * (spc_ticks, spc_schedticks, an l_timeout's ticks left) taken as that;
 * with cfg's clock_cap off, the fingerprint. -1 on error. */
static int
clock_fps(PyObject *const *cfg, PyObject *k, long t, long nb, uint64_t *out)
{
    PyObject *fp = fingerprint(k);
    if (fp == NULL)
        return -1;
    uint64_t f = PyLong_AsUnsignedLongLongMask(fp);
    Py_DECREF(fp);
    if (f == (uint64_t)-1 && PyErr_Occurred())
        return -1;
    for (long i = 0; i < nb; i++)
        out[i] = f;
    if (cfg[C_CLOCK_CAP] != Py_True)
        return 0;
    for (int lwps = 0; lwps < 2; lwps++) {
        PyObject *list = kget(k, lwps ? K_LWPS : K_CPUS);
        if (list == NULL)
            return -1;
        if (!PyList_Check(list)) {
            Py_DECREF(list);
            PyErr_SetString(PyExc_TypeError, "clock_fp: a kernel's structures are a list");
            return -1;
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(list); j++) {
            PyObject *o = PyList_GET_ITEM(list, j);
            long m;
            int e = countdown(o, lwps, &m);
            /* (caps rise with i: once one is not below m, none is) */
            for (long i = 0; e == 0 && i < nb && t + i + 1 < m; i++)
                e = add_capped(cfg, o, lwps, t + i + 1, &out[i]);
            if (e < 0) {
                Py_DECREF(list);
                return -1;
            }
        }
        Py_DECREF(list);
    }
    return 0;
}

/* clock_fp(k, t) as an int (new reference; NULL on error). */
static PyObject *
clock_fp(PyObject *const *cfg, PyObject *k, long t)
{
    uint64_t f;
    return clock_fps(cfg, k, t, 1, &f) < 0 ? NULL : PyLong_FromUnsignedLongLong(f);
}

/* visited.subsumed(): reached as cheaply with more budget left? fps[i]: the
 * key's clock_fp at budget t + i (clock_fps). -1 on error. */
static int
subsumed(PyObject *const *cfg, const uint64_t *fps, long t, long ticks, long cost, long left,
         long most)
{
    for (long more_left = left; more_left <= most; more_left++) {
        for (long more = t; more <= ticks; more++) {
            if (more == t && more_left == left)
                continue;
            int err = 0;
            PyObject *fpr = PyLong_FromUnsignedLongLong(fps[more - t]);
            if (fpr == NULL)
                return -1;
            uint64_t key = state_key(fpr, more, more_left, &err);
            Py_DECREF(fpr);
            if (err)
                return -1;
            long old = cost_of(cfg, key);
            if (old == -2)
                return -1;
            if (old >= 0 && old <= cost)
                return 1;
        }
    }
    return 0;
}

/* StepCache.conflicts(a, b) from its memo, else the method. -1 on error. */
static int
conflicts(PyObject *const *cfg, PyObject *a, PyObject *b)
{
    PyObject *memo = GA(cfg[C_CACHE], "_conflicts");
    if (memo == NULL)
        return -1;
    PyObject *ia = PyLong_FromVoidPtr(a), *ib = PyLong_FromVoidPtr(b);
    PyObject *key = (ia && ib) ? PyTuple_Pack(2, ia, ib) : NULL;
    Py_XDECREF(ia);
    Py_XDECREF(ib);
    int r = -1;
    if (key != NULL) {
        PyObject *hit = PyDict_GetItemWithError(memo, key);
        if (hit != NULL) {
            r = PyObject_IsTrue(hit);
        } else if (!PyErr_Occurred()) {
            PyObject *x = PyObject_CallMethod(cfg[C_CACHE], "conflicts", "OO", a, b);
            if (x != NULL) {
                r = PyObject_IsTrue(x);
                Py_DECREF(x);
            }
        }
    }
    Py_XDECREF(key);
    Py_DECREF(memo);
    return r;
}

static int
is_step(PyObject *mv, Py_ssize_t *cpu)
{
    PyObject *kind = GA(mv, "kind");
    if (kind == NULL)
        return -1;
    int r = PyUnicode_CompareWithASCIIString(kind, "step") == 0;
    Py_DECREF(kind);
    PyObject *c = GA(mv, "cpu");
    if (c == NULL)
        return -1;
    *cpu = PyLong_AsSsize_t(c);
    Py_DECREF(c);
    return r;
}


/* at_k[cpu][0]: the footprint of the CPU's step from the state (new
 * reference; NULL with KeyError where there is none). */
static PyObject *
step_fp(PyObject *at_k, Py_ssize_t cpu)
{
    PyObject *cio = PyLong_FromSsize_t(cpu);
    PyObject *pm = cio ? PyDict_GetItemWithError(at_k, cio) : NULL;
    Py_XDECREF(cio);
    if (pm == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_KeyError, "at_k");
        return NULL;
    }
    return Py_NewRef(PyTuple_GET_ITEM(pm, 0));
}

/* The successors of one state, as _search's loop over them does it (with
 * the reduction, hashing and a step cache):
 * expand(cfg, counters, k, c, path, asleep, left, succ, at_k, intr_fps)
 * counters: [states, transitions, found], updated in place. Returns None,
 * or the cost at which the state limit was reached. */
static PyObject *
py_expand(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 10 || !PyTuple_Check(args[0]) || PyTuple_GET_SIZE(args[0]) != C_NFIELDS
        || !PyList_Check(args[1]) || PyList_GET_SIZE(args[1]) != 3) {
        PyErr_SetString(PyExc_TypeError, "expand(cfg, counters, k, c, path, asleep, left, "
                                         "succ, at_k, intr_fps)");
        return NULL;
    }
    PyObject *const *cfg = &PyTuple_GET_ITEM(args[0], 0);
    PyObject *counters = args[1], *k = args[2], *path = args[4], *asleep = args[5];
    PyObject *succ = args[7], *at_k = args[8], *intr_fps = args[9];
    long c = PyLong_AsLong(args[3]), left = PyLong_AsLong(args[6]);
    long ticks = PyLong_AsLong(cfg[C_TICKS]), bound = PyLong_AsLong(cfg[C_BOUND]);
    long left0 = PyLong_AsLong(cfg[C_LEFT0]), max_states = PyLong_AsLong(cfg[C_MAX_STATES]);
    long chains_kept = PyLong_AsLong(cfg[C_CHAINS_KEPT]);
    int bounded = PyObject_IsTrue(cfg[C_BOUNDED]), sleepy = PyObject_IsTrue(cfg[C_SLEEPY]);
    int subsume = PyObject_IsTrue(cfg[C_SUBSUME]);
    long states = PyLong_AsLong(PyList_GET_ITEM(counters, 0));
    long transitions = PyLong_AsLong(PyList_GET_ITEM(counters, 1));
    if (PyErr_Occurred())
        return NULL;
    PyObject *found = Py_NewRef(PyList_GET_ITEM(counters, 2));
    long found_cost = found == Py_None ? -1 : PyLong_AsLong(PyTuple_GET_ITEM(found, 0));
    PyObject *taken = PyList_New(0), *result = NULL;
    PyObject *chains = cfg[C_CHAINS];
    uint64_t *nfps = NULL;  /* a successor's clock_fps, nfps_max of them */
    long nfps_max = 0;
    if (taken == NULL)
        goto out;
    Py_ssize_t ns = PyList_GET_SIZE(succ);
    for (Py_ssize_t si = 0; si < ns; si++) {
        PyObject *item = PyList_GET_ITEM(succ, si);
        PyObject *mv = PyTuple_GET_ITEM(item, 0), *n = Py_NewRef(PyTuple_GET_ITEM(item, 1));
        PyObject *nto = PyTuple_GET_ITEM(item, 2);
        PyObject *edge = NULL, *chain_fps = NULL, *bad = NULL, *sleeps = NULL, *nfp = NULL;
        PyObject *pre = NULL, *fpm = NULL, *seed = NULL, *r = NULL, *x = NULL, *npath = NULL;
        PyObject *nkeyo = NULL, *code = NULL, *packed = NULL, *msg = NULL;
        int ok = 0;
        long nt = PyLong_AsLong(nto);
        Py_ssize_t cpu = 0;
        int step = is_step(mv, &cpu);
        if (step < 0)
            goto next;
        transitions += 1;
        long nleft = bounded ? left : -1;
        if (bounded && step) {
            PyObject *cio = PyLong_FromSsize_t(cpu);
            PyObject *a[3] = {k, n, cio};
            x = cio ? PyObject_Vectorcall(cfg[C_PREEMPTS], a, 3, NULL) : NULL;
            Py_XDECREF(cio);
            int yes = x ? PyObject_IsTrue(x) : -1;
            Py_CLEAR(x);
            if (yes < 0)
                goto next;
            if (yes && --nleft < 0) {
                ok = 1;
                goto next;  /* a schedule past the bound */
            }
        }
        edge = PyList_New(0);
        chain_fps = PyList_New(0);
        if (edge == NULL || chain_fps == NULL || PyList_Append(edge, mv) < 0)
            goto next;
        msg = kget(n, K_PANICSTR);
        if (msg == NULL)
            goto next;
        bad = msg != Py_None ? Py_NewRef(Py_None) : PyObject_CallOneArg(cfg[C_CHECK], n);
        if (bad == NULL)
            goto next;
        if (msg == Py_None && bad == Py_None) {
            /* CPUs blocked at k whose step the move cannot have changed are
             * still blocked after it. */
            seed = PySet_New(NULL);
            if (seed == NULL)
                goto next;
            if (step) {
                fpm = step_fp(at_k, cpu);
                if (fpm == NULL)
                    goto next;
                PyObject *bk, *bv;
                Py_ssize_t pos = 0;
                while (PyDict_Next(at_k, &pos, &bk, &bv)) {
                    if (PyLong_AsSsize_t(bk) == cpu || PyTuple_GET_ITEM(bv, 1) != Py_True)
                        continue;
                    int cf = conflicts(cfg, fpm, PyTuple_GET_ITEM(bv, 0));
                    if (cf < 0)
                        goto next;
                    if (!cf && PySet_Add(seed, bk) < 0)
                        goto next;
                }
            }
            /* The chain from a state is always the same: remember where it ends. */
            nfp = fingerprint(n);  /* (the kernel itself: an exact memo) */
            if (nfp == NULL)
                goto next;
            int err = 0;
            uint64_t prek = state_key(nfp, nt, nleft, &err);
            if (err)
                goto next;
            pre = PyLong_FromUnsignedLongLong(prek);
            if (pre == NULL)
                goto next;
            PyObject *hit = PyDict_GetItemWithError(chains, pre);
            if (hit == NULL && PyErr_Occurred())
                goto next;
            if (hit != NULL) {
                /* hit: (chain length above bit 64 and the end's key below,
                 * the chain's footprints) */
                PyObject *hv = PyTuple_GET_ITEM(hit, 0), *hfps = PyTuple_GET_ITEM(hit, 1);
                PyObject *mask = PyLong_FromUnsignedLongLong(FPM);
                PyObject *endk = mask ? PyNumber_And(hv, mask) : NULL;
                PyObject *sh = PyLong_FromLong(64);
                PyObject *len = sh ? PyNumber_Rshift(hv, sh) : NULL;
                Py_XDECREF(mask);
                Py_XDECREF(sh);
                if (endk == NULL || len == NULL) {
                    Py_XDECREF(endk);
                    Py_XDECREF(len);
                    goto next;
                }
                uint64_t ek = PyLong_AsUnsignedLongLong(endk);
                long chain_len = PyLong_AsLong(len);
                Py_DECREF(endk);
                Py_DECREF(len);
                long end_cost = cost_of(cfg, ek);
                if (end_cost == -2)
                    goto next;
                if (end_cost >= 0 && end_cost <= c + 1 + chain_len) {
                    /* Known to end where it has been: counted and taken as
                     * if made again (the chain is the same each time), so
                     * what the memo holds never changes an answer. */
                    transitions += chain_len;
                    if (sleepy) {
                        PyObject *fpx = step ? (fpm != NULL ? fpm : (fpm = step_fp(at_k, cpu)))
                                             : PyDict_GetItemWithError(intr_fps, mv);
                        if (fpx == NULL) {
                            if (!PyErr_Occurred())
                                PyErr_SetString(PyExc_KeyError, "intr_fps");
                            goto next;
                        }
                        sleeps = asleep_after(cfg[C_RANK], mv, fpx, hfps, taken, asleep);
                        if (sleeps == NULL)
                            goto next;
                    }
                    ok = 1;
                    goto next;
                }
            }
            PyObject *a[13] = {cfg[C_CACHE], n, nto, seed, NULL, Py_False,
                               sleepy ? chain_fps : Py_None, bounded ? Py_True : Py_False,
                               NULL, cfg[C_PREEMPTS], cfg[C_CHECK], cfg[C_STEPS],
                               cfg[C_CHAIN_LIMIT]};
            a[4] = PyLong_FromSsize_t(cpu);
            a[8] = GA(cfg[C_CACHE], "step_alone");
            r = (a[4] && a[8]) ? py_chain(NULL, a, 13) : NULL;
            Py_XDECREF(a[4]);
            Py_XDECREF(a[8]);
            if (r == NULL)
                goto next;
            if (PyTuple_GET_ITEM(r, 2) != Py_None) {
                /* A step broke the discipline: the caller restarts. */
                result = Py_NewRef(r);
                goto next;
            }
            PyObject *chain = PyTuple_GET_ITEM(r, 1);
            Py_SETREF(n, Py_NewRef(PyTuple_GET_ITEM(r, 0)));
            Py_ssize_t cl = PyList_GET_SIZE(chain);
            transitions += cl;
            if (cl) {
                Py_SETREF(msg, kget(n, K_PANICSTR));
                if (msg == NULL)
                    goto next;
                Py_SETREF(bad, msg != Py_None ? Py_NewRef(Py_None)
                                              : PyObject_CallOneArg(cfg[C_CHECK], n));
                if (bad == NULL)
                    goto next;
                for (Py_ssize_t i = 0; i < cl; i++)
                    if (PyList_Append(edge, PyList_GET_ITEM(chain, i)) < 0)
                        goto next;
            }
        }
        Py_ssize_t elen = PyList_GET_SIZE(edge);
        long nc = c + (long)elen;
        if (sleepy) {
            PyObject *fpx;
            if (step) {
                if (fpm == NULL && (fpm = step_fp(at_k, cpu)) == NULL)
                    goto next;
                fpx = fpm;
            } else {
                fpx = PyDict_GetItemWithError(intr_fps, mv);
                if (fpx == NULL) {
                    if (!PyErr_Occurred())
                        PyErr_SetString(PyExc_KeyError, "intr_fps");
                    goto next;
                }
            }
            sleeps = asleep_after(cfg[C_RANK], mv, fpx, chain_fps, taken, asleep);
        } else {
            sleeps = PyTuple_New(0);
        }
        if (sleeps == NULL)
            goto next;
        if (msg == NULL) {
            msg = kget(n, K_PANICSTR);
            if (msg == NULL)
                goto next;
        }
        if (nc >= bound && msg == Py_None && bad == Py_None) {
            ok = 1;
            goto next;
        }
        /* The key's fingerprint at this budget and each above (subsumed()). */
        if (ticks - nt + 1 > nfps_max) {
            uint64_t *more = PyMem_Realloc(nfps, sizeof(uint64_t) * (size_t)(ticks - nt + 1));
            if (more == NULL) {
                PyErr_NoMemory();
                goto next;
            }
            nfps = more;
            nfps_max = ticks - nt + 1;
        }
        if (clock_fps(cfg, n, nt, ticks - nt + 1, nfps) < 0)
            goto next;
        Py_XSETREF(nfp, PyLong_FromUnsignedLongLong(nfps[0]));
        if (nfp == NULL)
            goto next;
        int err = 0;
        uint64_t nkey = state_key(nfp, nt, nleft, &err);
        if (err)
            goto next;
        nkeyo = PyLong_FromUnsignedLongLong(nkey);
        if (nkeyo == NULL)
            goto next;
        if (elen > 1) {
            if (PyDict_GET_SIZE(chains) >= chains_kept)
                PyDict_Clear(chains);
            PyObject *lo = PyLong_FromSsize_t(elen - 1), *sh = PyLong_FromLong(64);
            PyObject *hi = (lo && sh) ? PyNumber_Lshift(lo, sh) : NULL;
            PyObject *hv = hi ? PyNumber_Or(hi, nkeyo) : NULL;
            PyObject *v = hv ? PyTuple_Pack(2, hv, chain_fps) : NULL;
            Py_XDECREF(hv);
            int e = v ? PyDict_SetItem(chains, pre, v) : -1;
            Py_XDECREF(lo);
            Py_XDECREF(sh);
            Py_XDECREF(hi);
            Py_XDECREF(v);
            if (e < 0)
                goto next;
        }
        long old = cost_of(cfg, nkey);
        if (old == -2)
            goto next;
        if (old >= 0 && old <= nc) {
            ok = 1;
            goto next;
        }
        if (subsume && (nt < ticks || (0 <= nleft && nleft < left0))) {
            int sub = subsumed(cfg, nfps, nt, ticks, nc, nleft, left0);
            if (sub < 0)
                goto next;
            if (sub) {
                ok = 1;
                goto next;
            }
        }
        if (cfg[C_RECORD] != Py_None) {
            /* A slice of a parallel search (engine/explore/jobs.py): every
             * successor the state's own seen set does not rule out goes to
             * record(transitions, key, cost, ticks, left, sleepers, edge,
             * kernel, clock fps, panicstr, invariant), decided later in
             * the search's order. */
            PyObject *et = PyList_AsTuple(edge);
            PyObject *fpt = et ? PyTuple_New(ticks - nt + 1) : NULL;
            for (long i = 0; fpt != NULL && i < ticks - nt + 1; i++) {
                PyObject *f = PyLong_FromUnsignedLongLong(nfps[i]);
                if (f == NULL)
                    Py_CLEAR(fpt);
                else
                    PyTuple_SET_ITEM(fpt, i, f);
            }
            PyObject *tro = fpt ? PyLong_FromLong(transitions) : NULL;
            PyObject *nco = tro ? PyLong_FromLong(nc) : NULL;
            PyObject *nlo = nco ? PyLong_FromLong(nleft) : NULL;
            if (nlo != NULL) {
                PyObject *a[11] = {tro, nkeyo, nco, nto, nlo, sleeps, et, n, fpt, msg, bad};
                x = PyObject_Vectorcall(cfg[C_RECORD], a, 11, NULL);
            }
            Py_XDECREF(et);
            Py_XDECREF(fpt);
            Py_XDECREF(tro);
            Py_XDECREF(nco);
            Py_XDECREF(nlo);
            if (x == NULL)
                goto next;
            ok = 1;
            goto next;
        }
        if (old < 0)
            states += 1;
        {
            PyObject *et = PyList_AsTuple(edge);
            code = et ? PyObject_CallOneArg(cfg[C_EDGE_CODE], et) : NULL;
            Py_XDECREF(et);
            if (code == NULL)
                goto next;
            npath = PySequence_Concat(path, code);
            if (npath == NULL)
                goto next;
        }
        if (msg != Py_None || bad != Py_None) {
            PyObject *nco = PyLong_FromLong(nc);
            if (nco == NULL || PyDict_SetItem(cfg[C_ENDS], nkeyo, nco) < 0) {
                Py_XDECREF(nco);
                goto next;
            }
            if (found_cost < 0 || nc < found_cost) {
                PyObject *verdict = PyUnicode_FromString(msg != Py_None ? "panic" : "invariant");
                PyObject *text = msg != Py_None ? Py_NewRef(msg)
                                 : bad != Py_None ? Py_NewRef(bad) : PyUnicode_FromString("");
                PyObject *f = (verdict && text) ? PyTuple_Pack(4, nco, verdict, text, npath)
                                                : NULL;
                Py_XDECREF(verdict);
                Py_XDECREF(text);
                if (f == NULL) {
                    Py_DECREF(nco);
                    goto next;
                }
                Py_SETREF(found, f);
                found_cost = nc;
            }
            Py_DECREF(nco);
            ok = 1;
            goto next;
        }
        if (states >= max_states) {
            result = PyLong_FromLong(nc);
            goto next;
        }
        packed = PyObject_CallOneArg(cfg[C_PACK], n);
        if (packed == NULL)
            goto next;
        {
            PyObject *nco = PyLong_FromLong(nc);
            PyObject *ml = PyLong_FromLong(nleft > 0 ? nleft : 0);
            PyObject *a[7] = {nkeyo, nco, packed, nto, npath, sleeps, ml};
            x = (nco && ml) ? PyObject_Vectorcall(cfg[C_PUT], a, 7, NULL) : NULL;
            Py_CLEAR(x);
            if (!PyErr_Occurred() && cfg[C_ON_STORE] != Py_None) {
                PyObject *b[2] = {nkeyo, nco};
                x = PyObject_Vectorcall(cfg[C_ON_STORE], b, 2, NULL);
                Py_CLEAR(x);
            }
            if (!PyErr_Occurred()) {
                PyObject *b[2] = {nco, nkeyo};
                x = PyObject_Vectorcall(cfg[C_PUSH], b, 2, NULL);
                Py_CLEAR(x);
            }
            Py_XDECREF(nco);
            Py_XDECREF(ml);
            if (PyErr_Occurred())
                goto next;
        }
        ok = 1;
    next:
        Py_XDECREF(n);
        Py_XDECREF(edge);
        Py_XDECREF(chain_fps);
        Py_XDECREF(bad);
        Py_XDECREF(sleeps);
        Py_XDECREF(nfp);
        Py_XDECREF(pre);
        Py_XDECREF(fpm);
        Py_XDECREF(seed);
        Py_XDECREF(r);
        Py_XDECREF(x);
        Py_XDECREF(npath);
        Py_XDECREF(nkeyo);
        Py_XDECREF(code);
        Py_XDECREF(packed);
        Py_XDECREF(msg);
        if (!ok)
            break;
    }
    if (PyErr_Occurred()) {
        Py_CLEAR(result);
        goto out;
    }
    if (result == NULL)
        result = Py_NewRef(Py_None);
out:
    {
        /* (The counters as they stand, whatever stopped the loop.) */
        PyObject *so = PyLong_FromLong(states), *to = PyLong_FromLong(transitions);
        if (so && to) {
            PyList_SetItem(counters, 0, so);
            PyList_SetItem(counters, 1, to);
            PyList_SetItem(counters, 2, Py_NewRef(found));
        } else {
            Py_XDECREF(so);
            Py_XDECREF(to);
        }
    }
    Py_XDECREF(found);
    Py_XDECREF(taken);
    PyMem_Free(nfps);
    return result;
}



/* StepCache.deliver_args(k, ci, handler, ipl, argkey) on a hit; MISS where
 * the method must answer (no entry, or the interrupt cannot come now). */
static PyObject *
deliver_hit(PyObject *cache, PyObject *table, PyObject *k, Py_ssize_t ci, PyObject *handler,
            PyObject *ipl, PyObject *argkey)
{
    PyObject *own[4] = {NULL, NULL, NULL, NULL};
    PyObject *key = NULL, *result = NULL, *ps = NULL;
    Kview v;
    int r = kview(k, &v, own);
    if (r != 0) {
        result = r < 0 ? NULL : Py_NewRef(MISS);
        goto out;
    }
    ps = kget(k, K_PANICSTR);
    if (ps == NULL)
        goto out;
    if (ps != Py_None || ci < 0 || ci >= PyList_GET_SIZE(v.cpus)) {
        result = Py_NewRef(MISS);
        goto out;
    }
    PyObject *cpu = PyList_GET_ITEM(v.cpus, ci);
    int ddb = flag(cpu, s_in_ddb);
    if (ddb < 0)
        goto out;
    PyObject *il = GA(cpu, "ci_ilevel");
    int masked = il ? PyObject_RichCompareBool(il, ipl, Py_GE) : -1;
    Py_XDECREF(il);
    PyObject *cur = fast_getattr(cpu, s_ci_curlwp);
    Py_ssize_t li = cur ? PyLong_AsSsize_t(cur) : -1;
    Py_XDECREF(cur);
    if (masked < 0 || PyErr_Occurred())
        goto out;
    if (ddb || masked || li < 0 || li >= PyList_GET_SIZE(v.lwps)) {
        result = Py_NewRef(MISS);
        goto out;
    }
    PyObject *a = PyLong_FromSsize_t(ci), *b = PyLong_FromVoidPtr(cpu);
    PyObject *c = PyLong_FromVoidPtr(PyList_GET_ITEM(v.lwps, li));
    key = (a && b && c) ? PyTuple_Pack(6, a, b, c, handler, ipl, argkey) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);
    if (key == NULL)
        goto out;
    drop4(own);
    own[0] = own[1] = own[2] = own[3] = NULL;
    result = hit_or_miss(cache, table, key, k);
out:
    drop4(own);
    Py_XDECREF(key);
    Py_XDECREF(ps);
    return result;
}

/* The interrupts of engine.explore.moves.traced_moves with a step cache:
 * intrs(cache, k, items, asleep, intr_fps, out, deliver_args) where items
 * are (Move, ticks after, handler, ipl, argkey) in traced_moves' order;
 * appends (Move, kernel, ticks) to out for each that makes progress and
 * sets intr_fps[Move] (a dict, or None). Returns None, or the footprint of
 * an interrupt that broke the discipline (the caller raises). */
static PyObject *
py_intrs(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "intrs() takes 7 arguments");
        return NULL;
    }
    PyObject *cache = args[0], *k = args[1], *items = args[2], *asleep = args[3];
    PyObject *intr_fps = args[4], *out = args[5], *deliver = args[6];
    PyObject *table = fast_getattr(cache, s_table);
    if (table == NULL)
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n_items = PyList_GET_SIZE(items);
    for (Py_ssize_t i = 0; i < n_items; i++) {
        PyObject *it = PyList_GET_ITEM(items, i);
        PyObject *mv = PyTuple_GET_ITEM(it, 0), *nt = PyTuple_GET_ITEM(it, 1);
        PyObject *handler = PyTuple_GET_ITEM(it, 2), *ipl = PyTuple_GET_ITEM(it, 3);
        PyObject *argkey = PyTuple_GET_ITEM(it, 4);
        if (PySet_GET_SIZE(asleep)) {
            int in = PySet_Contains(asleep, mv);
            if (in < 0)
                goto out;
            if (in)
                continue;
        }
        PyObject *cpuo = GA(mv, "cpu");
        if (cpuo == NULL)
            goto out;
        Py_ssize_t ci = PyLong_AsSsize_t(cpuo);
        PyObject *r = ci < 0 && PyErr_Occurred() ? NULL
                      : deliver_hit(cache, table, k, ci, handler, ipl, argkey);
        if (r == MISS) {
            Py_DECREF(r);
            PyObject *a[5] = {k, cpuo, handler, ipl, argkey};
            r = PyObject_Vectorcall(deliver, a, 5, NULL);
        }
        Py_DECREF(cpuo);
        if (r == NULL)
            goto out;
        PyObject *n = PyTuple_GET_ITEM(r, 0), *fp = PyTuple_GET_ITEM(r, 1);
        int violated = violates(fp);
        if (violated) {
            if (violated > 0)
                result = Py_NewRef(fp);
            Py_DECREF(r);
            goto out;
        }
        if (intr_fps != Py_None && PyDict_SetItem(intr_fps, mv, fp) < 0) {
            Py_DECREF(r);
            goto out;
        }
        int e = n != k ? append_move(out, mv, n, nt) : 0;
        Py_DECREF(r);
        if (e < 0)
            goto out;
    }
    result = Py_NewRef(Py_None);
out:
    Py_DECREF(table);
    return result;
}

/* ---- the frontier's packed states (StepCache.pack / unpack) ---- */

/* StepCache._part(value): its number, made on first sight. -1 on error. */
static long
part_of(PyObject *cache, PyObject *value)
{
    PyObject *parts = GA(cache, "_parts");
    PyObject *plist = parts ? GA(cache, "_part_list") : NULL;
    long r = -1;
    if (plist == NULL)
        goto out;
    PyObject *i = PyDict_GetItemWithError(parts, value);
    if (i != NULL) {
        r = PyLong_AsLong(i);
        goto out;
    }
    if (PyErr_Occurred())
        goto out;
    PyObject *n = PyLong_FromSsize_t(PyList_GET_SIZE(plist));
    if (n == NULL)
        goto out;
    if (PyDict_SetItem(parts, value, n) == 0 && PyList_Append(plist, value) == 0)
        r = PyLong_AsLong(n);
    Py_DECREF(n);
out:
    Py_XDECREF(parts);
    Py_XDECREF(plist);
    return r;
}

static void
put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* pack(cache, k) -> bytes, as StepCache.pack; MISS where it would raise. */
static PyObject *
py_pack(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "pack(cache, k)");
        return NULL;
    }
    PyObject *cache = args[0], *k = args[1];
    PyObject *own[4] = {NULL, NULL, NULL, NULL};
    PyObject *serial = NULL, *items = NULL, *lt = NULL, *tail = NULL, *result = NULL;
    PyObject *fp = NULL, *tl = NULL, *ps = NULL, *pc = NULL, *mb = NULL;
    unsigned long *v = NULL;
    Kview kv;
    int r = kview(k, &kv, own);
    if (r != 0) {
        result = r < 0 ? NULL : Py_NewRef(MISS);
        goto out;
    }
    serial = GA(cache, "_serial");
    if (serial == NULL)
        goto out;
    Py_ssize_t nl = PyList_GET_SIZE(kv.lwps), nc = PyList_GET_SIZE(kv.cpus);
    Py_ssize_t np = PyList_GET_SIZE(kv.psrefs), nv = nl + nc + np + 4;
    v = PyMem_Malloc(sizeof(unsigned long) * (size_t)nv);
    if (v == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    PyObject *lists[3] = {kv.lwps, kv.cpus, kv.psrefs};
    Py_ssize_t at = 0;
    for (int j = 0; j < 3; j++) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lists[j]); i++) {
            PyObject *id = PyLong_FromVoidPtr(PyList_GET_ITEM(lists[j], i));
            PyObject *sn = id ? PyDict_GetItemWithError(serial, id) : NULL;
            Py_XDECREF(id);
            if (sn == NULL) {
                if (!PyErr_Occurred())
                    result = Py_NewRef(MISS);  /* (not interned: the Python raises) */
                goto out;
            }
            v[at++] = PyLong_AsUnsignedLong(sn);
        }
    }
    items = PyDict_Items(kv.locks);
    if (items == NULL || PyList_Sort(items) < 0)
        goto out;
    lt = PyList_AsTuple(items);
    if (lt == NULL)
        goto out;
    long li = part_of(cache, lt);
    ps = kget(k, K_PANICSTR);
    pc = ps ? kget(k, K_PANICCPU) : NULL;
    mb = pc ? kget(k, K_MSGBUF) : NULL;
    tail = mb ? PyTuple_Pack(3, ps, pc, mb) : NULL;
    long ti = tail ? part_of(cache, tail) : -1;
    if (li < 0 || ti < 0)
        goto out;
    v[at++] = (unsigned long)li;
    v[at++] = (unsigned long)ti;
    for (int f = K_HARDCLOCK_TICKS; f <= K_WORKER_CI; f++) {
        PyObject *x = kget(k, f);
        if (x == NULL)
            goto out;
        long xv = PyLong_AsLong(x);
        Py_DECREF(x);
        if (xv == -1 && PyErr_Occurred())
            goto out;
        if (xv < 0 || (unsigned long)xv > 0xFFFFFFFFUL) {
            result = Py_NewRef(MISS);
            goto out;
        }
        v[at++] = (unsigned long)xv;
    }
    unsigned long most = 0;
    for (Py_ssize_t i = 0; i < nv; i++) {
        if (v[i] > 0xFFFFFFFFUL) {
            result = Py_NewRef(MISS);
            goto out;
        }
        most = v[i] > most ? v[i] : most;
    }
    fp = fingerprint(k);
    tl = fp ? tail_hash(k) : NULL;
    if (tl == NULL)
        goto out;
    size_t w = most <= 0xFFFF ? 2 : 4;
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(w * (size_t)nv + 16));
    if (result == NULL)
        goto out;
    unsigned char *b = (unsigned char *)PyBytes_AS_STRING(result);
    for (Py_ssize_t i = 0; i < nv; i++) {
        /* (array's native order, as StepCache.pack writes it) */
        if (w == 2) {
            uint16_t x = (uint16_t)v[i];
            memcpy(b + 2 * i, &x, 2);
        } else {
            uint32_t x = (uint32_t)v[i];
            memcpy(b + 4 * i, &x, 4);
        }
    }
    put_le64(b + w * (size_t)nv, (uint64_t)PyLong_AsUnsignedLongLongMask(fp));
    put_le64(b + w * (size_t)nv + 8, (uint64_t)PyLong_AsUnsignedLongLongMask(tl));
out:
    drop4(own);
    PyMem_Free(v);
    Py_XDECREF(serial);
    Py_XDECREF(items);
    Py_XDECREF(lt);
    Py_XDECREF(tail);
    Py_XDECREF(fp);
    Py_XDECREF(tl);
    Py_XDECREF(ps);
    Py_XDECREF(pc);
    Py_XDECREF(mb);
    return result;
}

/* unpack(cache, p, like) -> Kernel, as StepCache.unpack. */
static PyObject *
py_unpack(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "unpack(cache, p: bytes, like)");
        return NULL;
    }
    PyObject *cache = args[0], *p = args[1], *like = args[2];
    PyObject *own[4] = {NULL, NULL, NULL, NULL};
    PyObject *objs = NULL, *plist = NULL, *result = NULL, *fields[K_FP] = {NULL};
    PyObject *n = NULL;
    Kview lv;
    int r = kview(like, &lv, own);
    if (r != 0) {
        result = r < 0 ? NULL : Py_NewRef(MISS);  /* (Cow lists: the Python unpacks) */
        goto out;
    }
    objs = GA(cache, "_objs");
    plist = objs ? GA(cache, "_part_list") : NULL;
    if (plist == NULL)
        goto out;
    Py_ssize_t nl = PyList_GET_SIZE(lv.lwps), nc = PyList_GET_SIZE(lv.cpus);
    Py_ssize_t np = PyList_GET_SIZE(lv.psrefs), nv = nl + nc + np + 4;
    Py_ssize_t end = PyBytes_GET_SIZE(p) - 16;
    size_t w = end == 2 * nv ? 2 : 4;
    if (end != (Py_ssize_t)w * nv) {
        PyErr_SetString(PyExc_ValueError, "unpack: not a packed state of this kernel");
        goto out;
    }
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(p);
#define AT(i) (w == 2 ? (size_t)((const uint16_t *)b)[i] : (size_t)((const uint32_t *)b)[i])
    Py_ssize_t sizes[3] = {nl, nc, np};
    Py_ssize_t at = 0;
    for (int j = 0; j < 3; j++) {
        PyObject *lst = PyList_New(sizes[j]);
        if (lst == NULL)
            goto out;
        fields[K_LWPS + j] = lst;
        for (Py_ssize_t i = 0; i < sizes[j]; i++) {
            size_t sn = AT(at);
            at++;
            if (sn >= (size_t)PyList_GET_SIZE(objs)) {
                PyErr_SetString(PyExc_IndexError, "unpack: no such structure");
                goto out;
            }
            PyList_SET_ITEM(lst, i, Py_NewRef(PyList_GET_ITEM(objs, sn)));
        }
    }
    size_t li = AT(at), ti = AT(at + 1);
    if (li >= (size_t)PyList_GET_SIZE(plist) || ti >= (size_t)PyList_GET_SIZE(plist)) {
        PyErr_SetString(PyExc_IndexError, "unpack: no such part");
        goto out;
    }
    PyObject *locks = PyList_GET_ITEM(plist, li), *tail = PyList_GET_ITEM(plist, ti);
    fields[K_LOCKS] = PyDict_New();
    if (fields[K_LOCKS] == NULL)
        goto out;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(locks); i++) {
        PyObject *kvp = PyTuple_GET_ITEM(locks, i);
        if (PyDict_SetItem(fields[K_LOCKS], PyTuple_GET_ITEM(kvp, 0),
                           PyTuple_GET_ITEM(kvp, 1)) < 0)
            goto out;
    }
    fields[K_HARDCLOCK_TICKS] = PyLong_FromSize_t(AT(at + 2));
    fields[K_WORKER_CI] = PyLong_FromSize_t(AT(at + 3));
#undef AT
    fields[K_PANICSTR] = Py_NewRef(PyTuple_GET_ITEM(tail, 0));
    fields[K_PANICCPU] = Py_NewRef(PyTuple_GET_ITEM(tail, 1));
    fields[K_MSGBUF] = Py_NewRef(PyTuple_GET_ITEM(tail, 2));
    fields[K_CONFIG] = kget(like, K_CONFIG);
    fields[K_PROCS] = kget(like, K_PROCS);
    fields[K_IFNETS] = kget(like, K_IFNETS);
    for (int i = 0; i < K_FP; i++)
        if (fields[i] == NULL)
            goto out;
    n = knew(fields);
    if (n == NULL)
        goto out;
    PyObject *fpo = PyLong_FromUnsignedLongLong(get_le64(b + end));
    PyObject *tlo = PyLong_FromUnsignedLongLong(get_le64(b + end + 8));
    int e = (fpo && tlo) ? (kset(n, K_FP, fpo) | kset(n, K_TL, tlo)) : -1;
    Py_XDECREF(fpo);
    Py_XDECREF(tlo);
    if (e < 0)
        goto out;
    result = Py_NewRef(n);
out:
    drop4(own);
    for (int i = 0; i < K_FP; i++)
        Py_XDECREF(fields[i]);
    Py_XDECREF(objs);
    Py_XDECREF(plist);
    Py_XDECREF(n);
    return result;
}

static PyObject *
py_setup(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    /* setup(Kernel, independent) */
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "setup(Kernel, independent)");
        return NULL;
    }
    Py_XSETREF(KernelType, Py_NewRef(args[0]));
    Py_XSETREF(Independent, Py_NewRef(args[1]));
    if (k_offsets() < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* clock_fp(k, t, capped) -> visited.clock_fp(k, t), compiled; capped is
 * the search's (visited._capped, *visited._COUNTDOWNS). */
static PyObject *
py_clock_fp(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyTuple_Check(args[2]) || PyTuple_GET_SIZE(args[2]) != 4) {
        PyErr_SetString(PyExc_TypeError, "clock_fp(k, t, (_capped, *_COUNTDOWNS))");
        return NULL;
    }
    long t = PyLong_AsLong(args[1]);
    if (t == -1 && PyErr_Occurred())
        return NULL;
    PyObject *cfg[C_NFIELDS] = {NULL};
    cfg[C_CLOCK_CAP] = Py_True;
    cfg[C_CAPPED] = args[2];
    cfg[C_RECORD] = Py_None;
    return clock_fp(cfg, args[0], t);
}

/* ---- a parallel search's slices (engine/explore/jobs.py) ---- */

/* decide(cfg, key, cost, ticks, left, fps): what the one-process search
 * does with a successor (expand() from cost_of on): -1 it is dropped
 * (seen as cheaply, or subsumed), 0 kept again more cheaply, 1 a new state.
 * fps: its clock fps at budgets ticks .. cfg's ticks. */
static PyObject *
py_decide(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyTuple_Check(args[0]) || PyTuple_GET_SIZE(args[0]) != C_NFIELDS
        || !PyTuple_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError, "decide(cfg, key, cost, ticks, left, fps)");
        return NULL;
    }
    PyObject *const *cfg = &PyTuple_GET_ITEM(args[0], 0);
    uint64_t key = PyLong_AsUnsignedLongLong(args[1]);
    long cost = PyLong_AsLong(args[2]), t = PyLong_AsLong(args[3]);
    long left = PyLong_AsLong(args[4]);
    long ticks = PyLong_AsLong(cfg[C_TICKS]), left0 = PyLong_AsLong(cfg[C_LEFT0]);
    int subsume = PyObject_IsTrue(cfg[C_SUBSUME]);
    if (PyErr_Occurred())
        return NULL;
    long old = cost_of(cfg, key);
    if (old == -2)
        return NULL;
    if (old >= 0 && old <= cost)
        return PyLong_FromLong(-1);
    if (subsume && (t < ticks || (0 <= left && left < left0))) {
        Py_ssize_t nf = PyTuple_GET_SIZE(args[5]);
        if (nf != ticks - t + 1) {
            PyErr_SetString(PyExc_ValueError, "decide: fps of another clock budget");
            return NULL;
        }
        uint64_t fps[64], *fp = nf <= 64 ? fps : PyMem_Malloc(sizeof(uint64_t) * (size_t)nf);
        if (fp == NULL)
            return PyErr_NoMemory();
        for (Py_ssize_t i = 0; i < nf; i++)
            fp[i] = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(args[5], i));
        int sub = PyErr_Occurred() ? -1 : subsumed(cfg, fp, t, ticks, cost, left, left0);
        if (fp != fps)
            PyMem_Free(fp);
        if (sub < 0)
            return NULL;
        if (sub)
            return PyLong_FromLong(-1);
    }
    return PyLong_FromLong(old < 0 ? 1 : 0);
}

/* replay(cache, k, edge, step, deliver_args, handler_key): the end of an
 * edge from k, each move through the step cache (a miss by the methods
 * step(k, ci) and deliver_args(k, ci, handler, ipl, argkey), handler_key
 * giving an interrupt move's (handler, ipl, argkey)). */
static PyObject *
py_replay(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyTuple_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError,
                        "replay(cache, k, edge, step, deliver_args, handler_key)");
        return NULL;
    }
    PyObject *cache = args[0], *edge = args[2];
    PyObject *table = GA(cache, "table");
    if (table == NULL)
        return NULL;
    PyObject *k = Py_NewRef(args[1]);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(edge); i++) {
        PyObject *mv = PyTuple_GET_ITEM(edge, i), *r = NULL;
        Py_ssize_t cpu = 0;
        int step = is_step(mv, &cpu);
        if (step < 0)
            goto fail;
        if (step) {
            r = step_hit(cache, table, k, cpu);
            if (r == MISS) {
                Py_DECREF(r);
                PyObject *cio = PyLong_FromSsize_t(cpu);
                r = cio ? PyObject_CallFunctionObjArgs(args[3], k, cio, NULL) : NULL;
                Py_XDECREF(cio);
            }
        } else {
            PyObject *hk = PyObject_CallOneArg(args[5], mv);
            if (hk == NULL)
                goto fail;
            r = deliver_hit(cache, table, k, cpu, PyTuple_GET_ITEM(hk, 0),
                            PyTuple_GET_ITEM(hk, 1), PyTuple_GET_ITEM(hk, 2));
            if (r == MISS) {
                Py_DECREF(r);
                PyObject *cio = PyLong_FromSsize_t(cpu);
                PyObject *a[5] = {k, cio, PyTuple_GET_ITEM(hk, 0), PyTuple_GET_ITEM(hk, 1),
                                  PyTuple_GET_ITEM(hk, 2)};
                r = cio ? PyObject_Vectorcall(args[4], a, 5, NULL) : NULL;
                Py_XDECREF(cio);
            }
            Py_DECREF(hk);
        }
        if (r == NULL)
            goto fail;
        Py_SETREF(k, Py_NewRef(PyTuple_GET_ITEM(r, 0)));
        Py_DECREF(r);
    }
    Py_DECREF(table);
    return k;
fail:
    Py_DECREF(table);
    Py_DECREF(k);
    return NULL;
}

static PyMethodDef methods[] = {
    {"setup", (PyCFunction)(void (*)(void))py_setup, METH_FASTCALL,
     "setup(Kernel, independent): the Python this calls"},
    {"step_alone", (PyCFunction)(void (*)(void))py_step_alone, METH_FASTCALL,
     "StepCache.step_alone on a hit; MISS otherwise"},
    {"lookup", (PyCFunction)(void (*)(void))py_lookup, METH_FASTCALL,
     "StepCache._lookup on a hit; None with no entry, MISS on a memo miss"},
    {"chain", (PyCFunction)(void (*)(void))py_chain, METH_FASTCALL,
     "engine.explore.reduction.ample_chain with a step cache, compiled"},
    {"steps", (PyCFunction)(void (*)(void))py_steps, METH_FASTCALL,
     "the CPUs' steps of engine.explore.moves.traced_moves with a step cache, compiled"},
    {"decide", (PyCFunction)(void (*)(void))py_decide, METH_FASTCALL,
     "what the search does with a successor a slice recorded (engine/explore/jobs.py)"},
    {"replay", (PyCFunction)(void (*)(void))py_replay, METH_FASTCALL,
     "the end of an edge, its moves through the step cache"},
    {"expand", (PyCFunction)(void (*)(void))py_expand, METH_FASTCALL,
     "the successors of one state, as engine.explore.search._search takes them"},
    {"pack", (PyCFunction)(void (*)(void))py_pack, METH_FASTCALL,
     "StepCache.pack; MISS where it would raise"},
    {"unpack", (PyCFunction)(void (*)(void))py_unpack, METH_FASTCALL,
     "StepCache.unpack; MISS where like's lists are not plain lists"},
    {"intrs", (PyCFunction)(void (*)(void))py_intrs, METH_FASTCALL,
     "the interrupts of engine.explore.moves.traced_moves with a step cache, compiled"},
    {"clock_fp", (PyCFunction)(void (*)(void))py_clock_fp, METH_FASTCALL,
     "engine.explore.visited.clock_fp, compiled"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ddbstep_stepcache",
    "The step cache's hits, compiled (engine/stepcache.py is the reference).", -1, methods,
};

#define INTERN(var, text)                                                                     \
    do {                                                                                      \
        var = PyUnicode_InternFromString(text);                                               \
        if (var == NULL)                                                                      \
            return NULL;                                                                      \
    } while (0)

PyMODINIT_FUNC
PyInit__ddbstep_stepcache(void)
{
    INTERN(s_locks, "locks");
    INTERN(s_hc, "_hc");
    INTERN(s_structs, "structs");
    INTERN(s_kvars, "kvars");
    INTERN(s_delta, "delta");
    INTERN(s_alone, "alone");
    INTERN(s_visible, "visible");
    INTERN(s_violation, "violation");
    INTERN(s_ci_curlwp, "ci_curlwp");
    INTERN(s_in_ddb, "in_ddb");
    INTERN(s_tail_hash, "tail_hash");
    INTERN(s_hits, "hits");
    INTERN(s_efp, "fp");
    INTERN(s_table, "table");
    INTERN(s_fingerprint, "fingerprint");
    INTERN(s_inv_write, "inv_write");
    INTERN(s_lock_write, "lock_write");
    INTERN(s_independent, "_independent");
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    MISS = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (MISS == NULL || PyModule_AddObjectRef(m, "MISS", MISS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
