/* dinos._pcm16: int16 PCM samples -> float32 in [-1, 1) (x * 2**-15) in one pass.

   The optional native half of dinos.wav: numpy needs two passes over the output (a buffered cast,
   then the multiply) and ran at about half this loop's speed on 1-s windows (BENCHMARKS.md). The
   product of an int16 and 2**-15 is exact in float32, so the result is bit-identical to numpy's
   `np.multiply(x, np.float32(2**-15), dtype=np.float32)` and to libsndfile's PCM_16 -> float. If this
   module is not built (no C compiler at install time), dinos.wav falls back to numpy. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static int
get_buffer(PyObject *obj, Py_buffer *view, int writable, char code, const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    const char *fmt = view->format ? view->format : "B";
    if (fmt[0] == '<' || fmt[0] == '=' || fmt[0] == '@')
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
    if (n > 0 && (offset + (n - 1) * stride + 1 > have)) {
        PyErr_Format(PyExc_IndexError, "src holds %zd items; %zd needed", have, offset + (n - 1) * stride + 1);
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

static PyMethodDef methods[] = {
    {"scale_into", scale_into, METH_VARARGS, scale_into_doc},
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
