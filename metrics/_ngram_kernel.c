/* Clipped n-gram match counts of a hypothesis against a reference, in C.
 *
 * clipped(hyp, ref, max_n) -> list of max_n ints: for n = 1..max_n,
 * sum over hypothesis n-grams g of min(H[g], R[g]). hyp and ref are sequences of
 * hashable tokens (str or bytes); tokens are mapped to ids with a dict built from
 * ref, hypothesis tokens the reference lacks get -1.
 *
 * Every n-gram that occurs in the reference gets a class number: order-1 classes are
 * token ids, and the order-n class at position p is the class of the pair
 * (order-(n-1) class at p, token id at p+n-1), numbered through a hash table filled
 * from the reference. A hypothesis n-gram whose pair is not in the table (or whose
 * prefix already had none) is not in the reference. With R[c] counted over the
 * reference, sum(min(H, R)) is the number of hypothesis positions i whose class c has
 * had fewer than R[c] earlier occurrences. Pure-Python fallback: metrics/ngrams.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define EMPTY UINT64_MAX

static int
to_ids(PyObject *seq, Py_ssize_t len, PyObject *vocab, int32_t *ids, int add)
{
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *found = PyDict_GetItemWithError(vocab, items[i]); /* borrowed */
        if (found != NULL) {
            ids[i] = (int32_t)PyLong_AsLong(found);
        }
        else if (PyErr_Occurred()) {
            return -1;
        }
        else if (add) {
            Py_ssize_t next = PyDict_GET_SIZE(vocab);
            PyObject *id = PyLong_FromSsize_t(next);
            if (id == NULL || PyDict_SetItem(vocab, items[i], id) < 0) {
                Py_XDECREF(id);
                return -1;
            }
            Py_DECREF(id);
            ids[i] = (int32_t)next;
        }
        else {
            ids[i] = -1;
        }
    }
    return 0;
}

static inline size_t
slot_of(uint64_t key, int bits)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
}

static PyObject *
clipped(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "clipped(hyp, ref, max_n) takes 3 arguments");
        return NULL;
    }
    long max_n = PyLong_AsLong(args[2]);
    if (max_n == -1 && PyErr_Occurred())
        return NULL;
    if (max_n < 1 || max_n > 64) {
        PyErr_SetString(PyExc_ValueError, "max_n must be in 1..64");
        return NULL;
    }
    PyObject *hyp = PySequence_Fast(args[0], "hyp must be a sequence");
    if (hyp == NULL)
        return NULL;
    PyObject *ref = PySequence_Fast(args[1], "ref must be a sequence");
    if (ref == NULL) {
        Py_DECREF(hyp);
        return NULL;
    }
    Py_ssize_t nh = PySequence_Fast_GET_SIZE(hyp), nr = PySequence_Fast_GET_SIZE(ref);
    long found[64] = {0};
    PyObject *vocab = NULL, *out = NULL;
    int32_t *buf = NULL;
    uint64_t *keys = NULL;
    if (nr >= INT32_MAX / 2 || nh >= INT32_MAX / 2) {
        PyErr_SetString(PyExc_OverflowError, "sequence too long");
        goto done;
    }
    if (nh == 0 || nr == 0)
        goto build;

    vocab = PyDict_New();
    /* rid, rc, hid, hc, R, H, table values */
    int bits = 4;
    while (((Py_ssize_t)1 << bits) < 2 * nr)
        bits++;
    size_t tsize = (size_t)1 << bits;
    buf = PyMem_Malloc(sizeof(int32_t) * (size_t)(4 * nr + 2 * nh) + sizeof(int32_t) * tsize);
    keys = PyMem_Malloc(sizeof(uint64_t) * tsize);
    if (vocab == NULL || buf == NULL || keys == NULL) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    int32_t *rid = buf, *rc = rid + nr, *R = rc + nr, *H = R + nr;
    int32_t *hid = H + nr, *hc = hid + nh, *vals = hc + nh;
    if (to_ids(ref, nr, vocab, rid, 1) < 0 || to_ids(hyp, nh, vocab, hid, 0) < 0)
        goto done;
    memcpy(rc, rid, sizeof(int32_t) * (size_t)nr);
    memcpy(hc, hid, sizeof(int32_t) * (size_t)nh);
    Py_ssize_t classes = PyDict_GET_SIZE(vocab);

    for (long n = 1; n <= max_n; n++) {
        Py_ssize_t rn = nr - n + 1, hn = nh - n + 1;
        if (rn <= 0 || hn <= 0)
            break;
        if (n > 1) {
            memset(keys, 0xff, sizeof(uint64_t) * tsize);
            classes = 0;
            for (Py_ssize_t p = 0; p < rn; p++) {
                uint64_t key = ((uint64_t)(uint32_t)rc[p] << 32) | (uint32_t)rid[p + n - 1];
                size_t s = slot_of(key, bits);
                while (keys[s] != EMPTY && keys[s] != key)
                    s = (s + 1) & (tsize - 1);
                if (keys[s] == EMPTY) {
                    keys[s] = key;
                    vals[s] = (int32_t)classes++;
                }
                rc[p] = vals[s];
            }
            for (Py_ssize_t i = 0; i < hn; i++) {
                int32_t last = hid[i + n - 1];
                if (hc[i] < 0 || last < 0) {
                    hc[i] = -1;
                    continue;
                }
                uint64_t key = ((uint64_t)(uint32_t)hc[i] << 32) | (uint32_t)last;
                size_t s = slot_of(key, bits);
                while (keys[s] != EMPTY && keys[s] != key)
                    s = (s + 1) & (tsize - 1);
                hc[i] = keys[s] == EMPTY ? -1 : vals[s];
            }
        }
        memset(R, 0, sizeof(int32_t) * (size_t)classes);
        memset(H, 0, sizeof(int32_t) * (size_t)classes);
        for (Py_ssize_t p = 0; p < rn; p++)
            R[rc[p]]++;
        long match = 0;
        for (Py_ssize_t i = 0; i < hn; i++) {
            int32_t c = hc[i];
            if (c >= 0 && H[c]++ < R[c])
                match++;
        }
        found[n - 1] = match;
        if (match == 0)
            break; /* no longer n-gram can match either */
    }

build:
    out = PyList_New(max_n);
    if (out == NULL)
        goto done;
    for (long n = 0; n < max_n; n++) {
        PyObject *v = PyLong_FromLong(found[n]);
        if (v == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, n, v);
    }

done:
    PyMem_Free(buf);
    PyMem_Free(keys);
    Py_XDECREF(vocab);
    Py_DECREF(hyp);
    Py_DECREF(ref);
    return out;
}

/* ids(ref, hyp) -> (ref_ids, hyp_ids): tokens as small ints, numbered in order of first
 * appearance in ref; a hyp token that ref lacks gets len(distinct ref tokens), an id no
 * ref token has. Equal tokens get equal ids (dict equality: exact, no hashing shortcut),
 * so an LCS over the ids is the LCS over the tokens. */
static PyObject *
ids(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "ids(ref, hyp) takes 2 arguments");
        return NULL;
    }
    PyObject *ref = PySequence_Fast(args[0], "ref must be a sequence");
    if (ref == NULL)
        return NULL;
    PyObject *hyp = PySequence_Fast(args[1], "hyp must be a sequence");
    if (hyp == NULL) {
        Py_DECREF(ref);
        return NULL;
    }
    Py_ssize_t nr = PySequence_Fast_GET_SIZE(ref), nh = PySequence_Fast_GET_SIZE(hyp);
    PyObject *vocab = PyDict_New(), *ref_ids = PyList_New(nr), *hyp_ids = PyList_New(nh);
    PyObject *out = NULL, *unseen = NULL;
    if (vocab == NULL || ref_ids == NULL || hyp_ids == NULL)
        goto done;
    PyObject **items = PySequence_Fast_ITEMS(ref);
    for (Py_ssize_t i = 0; i < nr; i++) {
        PyObject *id = PyDict_GetItemWithError(vocab, items[i]); /* borrowed */
        if (id == NULL) {
            if (PyErr_Occurred())
                goto done;
            id = PyLong_FromSsize_t(PyDict_GET_SIZE(vocab));
            if (id == NULL)
                goto done;
            if (PyDict_SetItem(vocab, items[i], id) < 0) {
                Py_DECREF(id);
                goto done;
            }
            Py_DECREF(id); /* the dict holds it */
        }
        Py_INCREF(id);
        PyList_SET_ITEM(ref_ids, i, id);
    }
    unseen = PyLong_FromSsize_t(PyDict_GET_SIZE(vocab));
    if (unseen == NULL)
        goto done;
    items = PySequence_Fast_ITEMS(hyp);
    for (Py_ssize_t i = 0; i < nh; i++) {
        PyObject *id = PyDict_GetItemWithError(vocab, items[i]); /* borrowed */
        if (id == NULL) {
            if (PyErr_Occurred())
                goto done;
            id = unseen;
        }
        Py_INCREF(id);
        PyList_SET_ITEM(hyp_ids, i, id);
    }
    out = PyTuple_Pack(2, ref_ids, hyp_ids);

done:
    Py_XDECREF(unseen);
    Py_XDECREF(vocab);
    Py_XDECREF(ref_ids);
    Py_XDECREF(hyp_ids);
    Py_DECREF(ref);
    Py_DECREF(hyp);
    return out;
}

static PyMethodDef methods[] = {
    {"ids", (PyCFunction)(void (*)(void))ids, METH_FASTCALL,
     "ids(ref, hyp) -> (ref_ids, hyp_ids): tokens numbered by first appearance in ref; hyp-only tokens share one unused id"},
    {"clipped", (PyCFunction)(void (*)(void))clipped, METH_FASTCALL,
     "clipped(hyp, ref, max_n) -> [sum over n-grams of min(count in hyp, count in ref) for n in 1..max_n]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "metrics._ngram_kernel",
    "Clipped n-gram match counts in C (pure-Python fallback: metrics.ngrams).", -1, methods,
};

PyMODINIT_FUNC
PyInit__ngram_kernel(void)
{
    return PyModule_Create(&module);
}
