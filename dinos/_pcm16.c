/* dinos._pcm16: int16 PCM samples -> float32 in [-1, 1) (x * 2**-15) in one pass.

   The optional native half of dinos.wav: numpy needs two passes over the output (a buffered cast,
   then the multiply) and ran at about half this loop's speed on 1-s windows (BENCHMARKS.md). The
   product of an int16 and 2**-15 is exact in float32, so the result is bit-identical to numpy's
   `np.multiply(x, np.float32(2**-15), dtype=np.float32)` and to libsndfile's PCM_16 -> float. If this
   module is not built (no C compiler at install time), dinos.wav falls back to numpy. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

static int
host_is_little(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static int
get_buffer(PyObject *obj, Py_buffer *view, int writable, char code, const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    const char *fmt = view->format ? view->format : "B";
    /* native byte order only: '<' on a little-endian host, '>' ('!') on a big-endian one */
    if (fmt[0] == '=' || fmt[0] == '@' || (fmt[0] == '<' && host_is_little())
        || ((fmt[0] == '>' || fmt[0] == '!') && !host_is_little()))
        fmt++;
    if (fmt[0] != code || fmt[1] != '\0' || view->itemsize != (code == 'h' ? 2 : 4)) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous %s buffer (format '%s')", what,
                     code == 'h' ? "int16" : "float32", view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(scale_into_doc,
"scale_into(src, dst, stride=1, offset=0)\n--\n\n"
"dst[k] = src[offset + k * stride] * 2**-15 for every item k of dst.\n\n"
"src: C-contiguous int16 buffer; dst: C-contiguous writable float32 buffer (any shape, taken flat).\n"
"src must hold offset + (len(dst) - 1) * stride + 1 items (else IndexError); a buffer of another\n"
"format, or not contiguous, raises what the buffer protocol raises (TypeError, BufferError, ValueError).\n"
"The GIL is released during the loop.");

static PyObject *
scale_into(PyObject *self, PyObject *args)
{
    PyObject *src_obj, *dst_obj;
    Py_ssize_t stride = 1, offset = 0;
    if (!PyArg_ParseTuple(args, "OO|nn:scale_into", &src_obj, &dst_obj, &stride, &offset))
        return NULL;
    if (stride < 1 || offset < 0) {
        PyErr_SetString(PyExc_ValueError, "stride must be >= 1 and offset >= 0");
        return NULL;
    }
    Py_buffer src, dst;
    if (get_buffer(src_obj, &src, 0, 'h', "src") < 0)
        return NULL;
    if (get_buffer(dst_obj, &dst, 1, 'f', "dst") < 0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    Py_ssize_t n = dst.len / 4, have = src.len / 2;
    /* offset + (n - 1) * stride < have, checked without overflowing Py_ssize_t */
    if (n > 0 && (offset >= have || (n > 1 && stride > (have - 1 - offset) / (n - 1)))) {
        PyErr_Format(PyExc_IndexError, "src holds %zd items; item %zd + %zd x %zd needed", have, offset,
                     n - 1, stride);
        PyBuffer_Release(&src);
        PyBuffer_Release(&dst);
        return NULL;
    }
    const int16_t *in = (const int16_t *)src.buf + offset;
    float *out = (float *)dst.buf;
    const float scale = 1.0f / 32768.0f;
    Py_BEGIN_ALLOW_THREADS
    if (stride == 1) {
        for (Py_ssize_t k = 0; k < n; k++)
            out[k] = (float)in[k] * scale;
    } else {
        for (Py_ssize_t k = 0; k < n; k++)
            out[k] = (float)in[k * stride] * scale;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    Py_RETURN_NONE;
}

#ifndef _WIN32
#include <errno.h>
#include <unistd.h>

PyDoc_STRVAR(read_scaled_doc,
"read_scaled(fd, offset, scratch, dst, channels=1, channel=0) -> int\n--\n\n"
"Read len(dst) * channels int16 samples at byte `offset` of `fd` into `scratch` (pread, retried on\n"
"EINTR and partial reads), then dst[k] = scratch[channel + k * channels] * 2**-15 (as scale_into).\n"
"Returns the bytes read; fewer than wanted (end of file) leaves dst unwritten: the caller raises.\n"
"scratch must hold len(dst) * channels items (else IndexError). The GIL is released during the read\n"
"and the loop; a read error raises OSError.");

static PyObject *
read_scaled(PyObject *self, PyObject *args)
{
    int fd;
    long long offset;
    PyObject *scr_obj, *dst_obj;
    Py_ssize_t channels = 1, channel = 0;
    if (!PyArg_ParseTuple(args, "iLOO|nn:read_scaled", &fd, &offset, &scr_obj, &dst_obj, &channels, &channel))
        return NULL;
    if (channels < 1 || channel < 0 || channel >= channels || offset < 0) {
        PyErr_SetString(PyExc_ValueError, "need channels >= 1, 0 <= channel < channels and offset >= 0");
        return NULL;
    }
    Py_buffer scr, dst;
    if (get_buffer(scr_obj, &scr, 1, 'h', "scratch") < 0)
        return NULL;
    if (get_buffer(dst_obj, &dst, 1, 'f', "dst") < 0) {
        PyBuffer_Release(&scr);
        return NULL;
    }
    Py_ssize_t n = dst.len / 4, room = scr.len / 2;
    /* n * channels <= room, checked without overflowing Py_ssize_t (channel < channels was checked) */
    Py_ssize_t items = (n == 0 || channels <= room / n) ? n * channels : -1;
    if (items < 0 || items > room) {
        PyErr_Format(PyExc_IndexError, "scratch holds %zd items; %zd x %zd needed", room, n, channels);
        PyBuffer_Release(&scr);
        PyBuffer_Release(&dst);
        return NULL;
    }
    char *buf = (char *)scr.buf;
    size_t want = (size_t)items * 2, got = 0;
    if ((unsigned long long)offset > (unsigned long long)LLONG_MAX - want) {
        PyErr_SetString(PyExc_ValueError, "offset + bytes to read overflow a file offset");
        PyBuffer_Release(&scr);
        PyBuffer_Release(&dst);
        return NULL;
    }
    int err = 0;
    for (;;) {
        ssize_t r;
        Py_BEGIN_ALLOW_THREADS
        r = 0;
        while (got < want) {
            r = pread(fd, buf + got, want - got, (off_t)(offset + (long long)got));
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        if (r >= 0 && got == want) {
            const int16_t *in = (const int16_t *)scr.buf + channel;
            float *out = (float *)dst.buf;
            const float scale = 1.0f / 32768.0f;
            if (channels == 1) {
                for (Py_ssize_t k = 0; k < n; k++)
                    out[k] = (float)in[k] * scale;
            } else {
                for (Py_ssize_t k = 0; k < n; k++)
                    out[k] = (float)in[k * channels] * scale;
            }
        }
        err = r < 0 ? errno : 0;
        Py_END_ALLOW_THREADS
        if (err != EINTR)
            break;
        if (PyErr_CheckSignals() < 0) {  /* PEP 475: a handler that raises stops the read */
            PyBuffer_Release(&scr);
            PyBuffer_Release(&dst);
            return NULL;
        }
    }
    PyBuffer_Release(&scr);
    PyBuffer_Release(&dst);
    if (err) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromSize_t(got);
}
#endif

static PyMethodDef methods[] = {
    {"scale_into", scale_into, METH_VARARGS, scale_into_doc},
#ifndef _WIN32
    {"read_scaled", read_scaled, METH_VARARGS, read_scaled_doc},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "dinos._pcm16",
    "int16 PCM -> float32 in one native pass (optional; dinos.wav falls back to numpy).", -1, methods,
};

PyMODINIT_FUNC
PyInit__pcm16(void)
{
    return PyModule_Create(&module);
}
