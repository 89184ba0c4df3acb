/* Optional accelerator for handler/transforms/audit_line.py: the common shape of an audit line, split and
 * unescaped in one pass over its UTF-8 bytes.
 *
 * scan(line) returns (timestamp field, server, user, client, connid, queryid, operation, database, object,
 * retcode or None, connection type or None) for a line of the common shape, and None for anything else, which
 * the pure-Python parser then handles. It decides nothing the Python parser would decide differently: it only
 * declines. What it accepts:
 *   - at least 8 commas; a 16-digit (Aurora) or any 17-character (RDS, checked by the caller) timestamp field;
 *   - connection and query ids of 1-18 ASCII digits;
 *   - a quoted object whose last quote is not preceded by a backslash and is followed by a comma, and whose
 *     every backslash starts one of the plugin's escapes (\\ \' \n \r \t \b \f); or an unquoted object;
 *   - a return code that is empty or 1-9 ASCII digits.
 * tests/unit/test_accelerator.py compares it with the pure-Python parser; python -m handler.transforms.accelerator
 * builds it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static int
digits(const char *s, Py_ssize_t n, Py_ssize_t max, long long *value)
{
    long long v = 0;
    if (n < 1 || n > max)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return 1;
}

/* The plugin's escapes undone into out (at least n bytes); -1 when any other escape (or a lone trailing
 * backslash) is present. */
static Py_ssize_t
unescape(const char *s, Py_ssize_t n, char *out)
{
    Py_ssize_t o = 0;
    const char *end = s + n;
    while (s < end) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        if (bs == NULL) {
            memcpy(out + o, s, (size_t)(end - s));
            return o + (end - s);
        }
        memcpy(out + o, s, (size_t)(bs - s));
        o += bs - s;
        if (bs + 1 >= end)
            return -1;
        switch (bs[1]) {
        case '\\': out[o++] = '\\'; break;
        case '\'': out[o++] = '\''; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        default: return -1;
        }
        s = bs + 2;
    }
    return o;
}

static PyObject *
text(const char *s, Py_ssize_t n)
{
    /* Slices cut at ASCII commas and quotes of valid UTF-8 are valid UTF-8. */
    return PyUnicode_DecodeUTF8(s, n, "strict");
}

static PyObject *
scan(PyObject *module, PyObject *line)
{
    Py_ssize_t n;
    const char *s, *end, *f[9], *rest, *tail, *obj_end;
    Py_ssize_t flen[8];
    long long connid, queryid, retcode = 0;
    int has_retcode, has_type;
    const char *type = NULL;
    Py_ssize_t type_len = 0;
    char small[4096], *buffer = NULL, *unescaped = NULL;
    Py_ssize_t obj_len;
    int quoted;

    if (!PyUnicode_Check(line))
        Py_RETURN_NONE;
    s = PyUnicode_AsUTF8AndSize(line, &n);
    if (s == NULL) { /* lone surrogates: the Python parser keeps them */
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    end = s + n;
    f[0] = s;
    for (int i = 0; i < 8; i++) {
        const char *comma = memchr(f[i], ',', (size_t)(end - f[i]));
        if (comma == NULL)
            Py_RETURN_NONE;
        flen[i] = comma - f[i];
        f[i + 1] = comma + 1;
    }
    rest = f[8];
    if (flen[0] == 16) {
        for (int i = 0; i < 16; i++)
            if (s[i] < '0' || s[i] > '9')
                Py_RETURN_NONE;
    }
    else if (flen[0] != 17)
        Py_RETURN_NONE;
    if (!digits(f[4], flen[4], 18, &connid) || !digits(f[5], flen[5], 18, &queryid))
        Py_RETURN_NONE;

    quoted = rest < end && rest[0] == '\'';
    if (quoted) {
        const char *last = end - 1;
        while (last > rest && *last != '\'')
            last--;
        if (last == rest || last[-1] == '\\' || last + 1 >= end || last[1] != ',')
            Py_RETURN_NONE;
        obj_end = last;
        tail = last + 2;
    }
    else {
        const char *comma = memchr(rest, ',', (size_t)(end - rest));
        if (comma == NULL)
            Py_RETURN_NONE;
        obj_end = comma;
        tail = comma + 1;
    }
    {
        const char *comma = memchr(tail, ',', (size_t)(end - tail));
        Py_ssize_t code_len = (comma ? comma : end) - tail;
        has_retcode = code_len > 0;
        if (has_retcode && !digits(tail, code_len, 9, &retcode))
            Py_RETURN_NONE;
        has_type = comma != NULL;
        if (has_type) {
            const char *next = memchr(comma + 1, ',', (size_t)(end - comma - 1));
            type = comma + 1;
            type_len = (next ? next : end) - type;
        }
    }

    if (quoted) {
        const char *content = rest + 1;
        Py_ssize_t content_len = obj_end - content;
        if (memchr(content, '\\', (size_t)content_len) == NULL) {
            unescaped = (char *)content;
            obj_len = content_len;
        }
        else {
            if (content_len <= (Py_ssize_t)sizeof(small))
                unescaped = small;
            else {
                buffer = PyMem_Malloc((size_t)content_len);
                if (buffer == NULL)
                    return PyErr_NoMemory();
                unescaped = buffer;
            }
            obj_len = unescape(content, content_len, unescaped);
            if (obj_len < 0) {
                PyMem_Free(buffer);
                Py_RETURN_NONE;
            }
        }
    }
    else {
        unescaped = (char *)rest;
        obj_len = obj_end - rest;
    }

    PyObject *result = PyTuple_New(11);
    if (result == NULL) {
        PyMem_Free(buffer);
        return NULL;
    }
    PyObject *items[11] = {
        text(f[0], flen[0]),
        text(f[1], flen[1]),
        text(f[2], flen[2]),
        text(f[3], flen[3]),
        PyLong_FromLongLong(connid),
        PyLong_FromLongLong(queryid),
        text(f[6], flen[6]),
        text(f[7], flen[7]),
        text(unescaped, obj_len),
        has_retcode ? PyLong_FromLongLong(retcode) : Py_NewRef(Py_None),
        has_type ? text(type, type_len) : Py_NewRef(Py_None),
    };
    PyMem_Free(buffer);
    for (int i = 0; i < 11; i++) {
        if (items[i] == NULL) {
            for (int j = 0; j < 11; j++)
                Py_XDECREF(items[j]);
            Py_DECREF(result);
            return NULL;
        }
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
