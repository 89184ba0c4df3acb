/* Optional accelerator for handler/transforms/audit_line.py: the common shape of an audit line, split and
 * unescaped in one pass over its UTF-8 bytes.
 *
 * scan(line) returns (timestamp field, server, user, client, connid, queryid, operation, database, object,
 * retcode or None, connection type or None) for a line of the common shape, and None for anything else, which
 * the pure-Python parser then handles. It decides nothing the Python parser would decide differently: it only
 * declines. It reads the str's own code points (no conversion to UTF-8 and back). What it accepts:
 *   - at least 8 commas; a 16-digit (Aurora) or any 17-character (RDS, checked by the caller) timestamp field;
 *   - connection and query ids of 1-18 ASCII digits;
 *   - a quoted object whose last quote is not preceded by a backslash and is followed by a comma, and whose
 *     every backslash starts one of the plugin's escapes (\\ \' \n \r \t \b \f); or an unquoted object;
 *   - a return code that is empty or 1-9 ASCII digits, alone or followed by `,TYPE` or `,,` (nothing else);
 *   - no unquoted QUERY object (a comma in a database name moved it: the Python parser reads its anchors).
 * tests/unit/test_accelerator.py compares it with the pure-Python parser; python -m handler.transforms.accelerator
 * builds it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Where the pieces of a common-shape line are, as code-point offsets into the line. */
typedef struct {
    Py_ssize_t field[9], field_end[8]; /* the 8 leading fields; field[8] is where the rest starts */
    Py_ssize_t obj, obj_end;           /* the object, without its quotes */
    int quoted, escaped;               /* escaped: the object holds backslashes */
    Py_ssize_t type, type_end;         /* the connection type, when the tail has a second field */
    int has_type, has_retcode;
    long long connid, queryid, retcode;
} Shape;

/* The scanner and the unescaper once per string kind (1, 2 or 4 bytes a code point): the str's own code
 * points are read, so nothing is converted to UTF-8 and back. */
#define KIND_FUNCTIONS(SUFFIX, T)                                                                            \
    static int digits_##SUFFIX(const T *s, Py_ssize_t a, Py_ssize_t b, Py_ssize_t max, long long *value)    \
    {                                                                                                        \
        long long v = 0;                                                                                     \
        if (b - a < 1 || b - a > max)                                                                        \
            return 0;                                                                                        \
        for (Py_ssize_t i = a; i < b; i++) {                                                                 \
            if (s[i] < '0' || s[i] > '9')                                                                    \
                return 0;                                                                                    \
            v = v * 10 + (long long)(s[i] - '0');                                                            \
        }                                                                                                    \
        *value = v;                                                                                          \
        return 1;                                                                                            \
    }                                                                                                        \
                                                                                                             \
    static int shape_##SUFFIX(const T *s, Py_ssize_t n, Shape *p)                                           \
    {                                                                                                        \
        Py_ssize_t i = 0, f = 0, last, comma;                                                                \
        p->field[0] = 0;                                                                                     \
        for (; i < n && f < 8; i++)                                                                          \
            if (s[i] == ',') {                                                                               \
                p->field_end[f] = i;                                                                         \
                p->field[++f] = i + 1;                                                                       \
            }                                                                                                \
        if (f < 8)                                                                                           \
            return 0;                                                                                        \
        if (p->field_end[0] == 16) {                                                                         \
            for (i = 0; i < 16; i++)                                                                         \
                if (s[i] < '0' || s[i] > '9')                                                                \
                    return 0;                                                                                \
        }                                                                                                    \
        else if (p->field_end[0] != 17)                                                                      \
            return 0;                                                                                        \
        if (!digits_##SUFFIX(s, p->field[4], p->field_end[4], 18, &p->connid) ||                            \
            !digits_##SUFFIX(s, p->field[5], p->field_end[5], 18, &p->queryid))                             \
            return 0;                                                                                        \
        Py_ssize_t rest = p->field[8], tail;                                                                 \
        p->quoted = rest < n && s[rest] == '\'';                                                             \
        p->escaped = 0;                                                                                      \
        if (p->quoted) {                                                                                     \
            for (last = n - 1; last > rest && s[last] != '\''; last--)                                       \
                ;                                                                                            \
            if (last == rest || s[last - 1] == '\\' || last + 1 >= n || s[last + 1] != ',')                  \
                return 0;                                                                                    \
            p->obj = rest + 1;                                                                               \
            p->obj_end = last;                                                                               \
            tail = last + 2;                                                                                 \
        }                                                                                                    \
        else {                                                                                               \
            /* an unquoted QUERY object: a comma in the database name moved it (Python decides) */           \
            if (p->field_end[6] - p->field[6] == 5 && s[p->field[6]] == 'Q' && s[p->field[6] + 1] == 'U' &&  \
                s[p->field[6] + 2] == 'E' && s[p->field[6] + 3] == 'R' && s[p->field[6] + 4] == 'Y')         \
                return 0;                                                                                    \
            for (comma = rest; comma < n && s[comma] != ','; comma++)                                        \
                ;                                                                                            \
            if (comma >= n)                                                                                  \
                return 0;                                                                                    \
            p->obj = rest;                                                                                   \
            p->obj_end = comma;                                                                              \
            tail = comma + 1;                                                                                \
        }                                                                                                    \
        for (comma = tail; comma < n && s[comma] != ','; comma++)                                            \
            ;                                                                                                \
        p->has_retcode = comma > tail;                                                                       \
        if (p->has_retcode && !digits_##SUFFIX(s, tail, comma, 9, &p->retcode))                              \
            return 0;                                                                                        \
        p->has_type = comma < n;                                                                             \
        if (p->has_type) {                                                                                   \
            p->type = comma + 1;                                                                             \
            for (p->type_end = p->type; p->type_end < n && s[p->type_end] != ','; p->type_end++)             \
                ;                                                                                            \
            /* only `code,TYPE` and `code,,`: any other tail may be a comma in a name (Python decides) */    \
            if (p->type_end < n ? (p->type_end != p->type || p->type_end + 1 != n) : p->type_end == p->type) \
                return 0;                                                                                    \
        }                                                                                                    \
        if (p->quoted)                                                                                       \
            for (i = p->obj; i < p->obj_end; i++)                                                            \
                if (s[i] == '\\') {                                                                          \
                    p->escaped = 1;                                                                          \
                    break;                                                                                   \
                }                                                                                            \
        return 1;                                                                                            \
    }                                                                                                        \
                                                                                                             \
    /* The plugin's escapes undone into out; -1 when another escape (or a lone final backslash) is there. */ \
    static Py_ssize_t unescape_##SUFFIX(const T *s, Py_ssize_t a, Py_ssize_t b, T *out)                     \
    {                                                                                                        \
        Py_ssize_t o = 0;                                                                                    \
        for (Py_ssize_t i = a; i < b; i++) {                                                                 \
            T c = s[i];                                                                                      \
            if (c != '\\') {                                                                                 \
                out[o++] = c;                                                                                \
                continue;                                                                                    \
            }                                                                                                \
            if (++i >= b)                                                                                    \
                return -1;                                                                                   \
            switch (s[i]) {                                                                                  \
            case '\\': out[o++] = '\\'; break;                                                               \
            case '\'': out[o++] = '\''; break;                                                               \
            case 'n': out[o++] = '\n'; break;                                                                \
            case 'r': out[o++] = '\r'; break;                                                                \
            case 't': out[o++] = '\t'; break;                                                                \
            case 'b': out[o++] = '\b'; break;                                                                \
            case 'f': out[o++] = '\f'; break;                                                                \
            default: return -1;                                                                              \
            }                                                                                                \
        }                                                                                                    \
        return o;                                                                                            \
    }

KIND_FUNCTIONS(1, Py_UCS1)
KIND_FUNCTIONS(2, Py_UCS2)
KIND_FUNCTIONS(4, Py_UCS4)

/* The unescaped object as a str (the narrowest kind its code points allow), or None to decline. */
static PyObject *
object(PyObject *line, int kind, const void *data, const Shape *p)
{
    Py_ssize_t len = p->obj_end - p->obj, n;
    char small[8192];
    void *buffer;
    PyObject *result;
    if (!p->escaped)
        return PyUnicode_Substring(line, p->obj, p->obj_end);
    buffer = (Py_ssize_t)(len * kind) <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)(len * kind));
    if (buffer == NULL)
        return PyErr_NoMemory();
    if (kind == PyUnicode_1BYTE_KIND)
        n = unescape_1((const Py_UCS1 *)data, p->obj, p->obj_end, (Py_UCS1 *)buffer);
    else if (kind == PyUnicode_2BYTE_KIND)
        n = unescape_2((const Py_UCS2 *)data, p->obj, p->obj_end, (Py_UCS2 *)buffer);
    else
        n = unescape_4((const Py_UCS4 *)data, p->obj, p->obj_end, (Py_UCS4 *)buffer);
    result = n < 0 ? Py_NewRef(Py_None) : PyUnicode_FromKindAndData(kind, buffer, n);
    if (buffer != small)
        PyMem_Free(buffer);
    return result;
}

static PyObject *
scan(PyObject *module, PyObject *line)
{
    Shape p;
    int kind, ok;
    const void *data;
    Py_ssize_t n;
    PyObject *obj, *result, *items[11];

    if (!PyUnicode_Check(line))
        Py_RETURN_NONE;
#if PY_VERSION_HEX < 0x030C0000 /* strings are always ready from 3.12 on */
    if (PyUnicode_READY(line) < 0)
        return NULL;
#endif
    kind = PyUnicode_KIND(line);
    data = PyUnicode_DATA(line);
    n = PyUnicode_GET_LENGTH(line);
    if (kind == PyUnicode_1BYTE_KIND)
        ok = shape_1((const Py_UCS1 *)data, n, &p);
    else if (kind == PyUnicode_2BYTE_KIND)
        ok = shape_2((const Py_UCS2 *)data, n, &p);
    else
        ok = shape_4((const Py_UCS4 *)data, n, &p);
    if (!ok)
        Py_RETURN_NONE;
    obj = object(line, kind, data, &p);
    if (obj == NULL || obj == Py_None)
        return obj;
    items[0] = PyUnicode_Substring(line, p.field[0], p.field_end[0]);
    items[1] = PyUnicode_Substring(line, p.field[1], p.field_end[1]);
    items[2] = PyUnicode_Substring(line, p.field[2], p.field_end[2]);
    items[3] = PyUnicode_Substring(line, p.field[3], p.field_end[3]);
    items[4] = PyLong_FromLongLong(p.connid);
    items[5] = PyLong_FromLongLong(p.queryid);
    items[6] = PyUnicode_Substring(line, p.field[6], p.field_end[6]);
    items[7] = PyUnicode_Substring(line, p.field[7], p.field_end[7]);
    items[8] = obj;
    items[9] = p.has_retcode ? PyLong_FromLongLong(p.retcode) : Py_NewRef(Py_None);
    items[10] = p.has_type ? PyUnicode_Substring(line, p.type, p.type_end) : Py_NewRef(Py_None);
    result = PyTuple_New(11);
    for (int i = 0; i < 11; i++)
        if (items[i] == NULL || result == NULL) {
            for (int j = 0; j < 11; j++)
                Py_XDECREF(items[j]);
            Py_XDECREF(result);
            return NULL;
        }
    for (int i = 0; i < 11; i++)
        PyTuple_SET_ITEM(result, i, items[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_O, "The fields of a common-shape audit line, unescaped; None for any other line."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scan", NULL, 0, methods};

PyMODINIT_FUNC
PyInit__scan(void)
{
    return PyModule_Create(&module);
}
