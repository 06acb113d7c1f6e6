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
#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define DINOS_STREAM 1
#else
#define DINOS_STREAM 0
#endif
/* An AVX2 build of the mono loop, picked at run time where the CPU has AVX2: GCC or clang on x86-64,
   not Windows (no read_scaled there) and not macOS (Apple's runtime lacks the `__cpu_model` that
   `__builtin_cpu_supports` reads: the module would not load) */
#if DINOS_STREAM && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32) \
    && !defined(__APPLE__)
#include <immintrin.h>
#define DINOS_AVX2 1
#else
#define DINOS_AVX2 0
#endif

/* bytes per pread of read_scaled (whole frames of it): small enough to stay in a core's L2 cache */
#ifndef DINOS_CHUNK_BYTES
#define DINOS_CHUNK_BYTES (256 * 1024)
#endif

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

/* out[k] = in[k * stride] * 2**-15 for k < m, plain stores. GCC on x86-64 Linux (glibc: ifunc) builds it twice, for
   AVX2 and for the baseline, and picks one when the module loads (2-6 % faster on 1-s windows here);
   the products are exact in float32, so every version gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
__attribute__((target_clones("avx2", "default")))
#endif
static void
scale_plain(const int16_t *in, float *out, Py_ssize_t m, Py_ssize_t stride)
{
    const float scale = 1.0f / 32768.0f;
    if (stride == 1) {
        for (Py_ssize_t k = 0; k < m; k++)
            out[k] = (float)in[k] * scale;
    } else {
        for (Py_ssize_t k = 0; k < m; k++)
            out[k] = (float)in[k * stride] * scale;
    }
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
    Py_BEGIN_ALLOW_THREADS
    scale_plain(in, out, n, stride);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    Py_RETURN_NONE;
}

#ifndef _WIN32
#include <errno.h>
#include <unistd.h>

/* Samples k, k + 1, ... of `in` one at a time into the floats of `region`, up to m or (align > 0) up to
   the first float at an `align`-byte boundary; returns where it stopped. Bytes move through memcpy
   (no type punning). */
static inline Py_ssize_t
scale_each(const char *in, char *region, Py_ssize_t k, Py_ssize_t m, uintptr_t align)
{
    for (; k < m && (align == 0 || ((uintptr_t)(region + 4 * k) & (align - 1))); k++) {
        int16_t x;
        memcpy(&x, in + 2 * k, 2);
        const float y = (float)x * (1.0f / 32768.0f);
        memcpy(region + 4 * k, &y, 4);
    }
    return k;
}

/* out[4k:4k+4] = sample k of `in` * 2**-15 for k < m, as float32; `in` may be `out + 2 * m` (in place).

   In place: with plain stores, a window's int16 bytes are read into the upper half of its own float32
   output, so no scratch buffer is read or written (one copy of 96 kB per 1-s window less in the cache:
   ~15 % faster into an output that stays cached). Safe going forward: before writing floats [k, k + 8)
   (bytes [4k, 4k + 32)) the samples [k, k + 8) (bytes [2m + 2k, 2m + 2k + 16)) are loaded, and every
   sample still unread starts at byte 2m + 2k + 16 >= 4k + 32 whenever k + 8 <= m; one sample at a time
   likewise (4k + 4 <= 2m + 2k + 2 for k < m). Bytes move through intrinsics or memcpy (no type punning).

   With `stream` (x86-64), whole 16-byte blocks of floats are written with non-temporal stores: they
   go to memory without first reading the destination's cache lines. For a batch larger than the
   cache (a 12 MB block of 64 one-second windows) that read is wasted: ds.iter ran ~15-25 % faster
   with them, and no slower when another job had just evicted the block. For a small destination that
   stays in the cache, plain stores are faster, so the caller decides. Streamed output is read through
   scratch: reading into the output itself would pull its lines into the cache first (measured: ds.iter
   33 % slower). The same products either way. */
static void
scale_mono(const char *in, char *region, Py_ssize_t m, int stream)
{
    Py_ssize_t k = 0;
#if DINOS_STREAM
    if (stream)
        k = scale_each(in, region, k, m, 16);
    const __m128 sc = _mm_set1_ps(1.0f / 32768.0f);
    for (; k + 8 <= m; k += 8) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(in + 2 * k));
        /* sign-extend each int16 to int32: interleave with itself, then shift right by 16 */
        const __m128 lo = _mm_mul_ps(_mm_cvtepi32_ps(_mm_srai_epi32(_mm_unpacklo_epi16(v, v), 16)), sc);
        const __m128 hi = _mm_mul_ps(_mm_cvtepi32_ps(_mm_srai_epi32(_mm_unpackhi_epi16(v, v), 16)), sc);
        float *out = (float *)(region + 4 * k);
        if (stream) {
            _mm_stream_ps(out, lo);
            _mm_stream_ps(out + 4, hi);
        } else {
            _mm_storeu_ps(out, lo);
            _mm_storeu_ps(out + 4, hi);
        }
    }
    if (stream)
        _mm_sfence(); /* the streamed stores are ordered before whatever follows (another thread's reads) */
#else
    (void)stream;
#endif
    scale_each(in, region, k, m, 0);
}

#if DINOS_AVX2
/* scale_mono with 16 samples per step (AVX2: two 8-lane sign extensions, conversions, products and
   stores). In place is safe as in scale_mono: before writing floats [k, k + 16) (bytes [4k, 4k + 64))
   the samples [k, k + 16) (bytes [2m + 2k, 2m + 2k + 32)) are loaded, and every sample still unread
   starts at byte 2m + 2k + 32 >= 4k + 64 whenever k + 16 <= m. Streamed stores take 32-byte blocks.
   The same products as scale_mono, so the same bits; faster on 1-s windows read into a batch block
   (benchmarks/bench_loading.py pairs the two loops: row "... with the sse2 loop"). */
__attribute__((target("avx2")))
static void
scale_mono_avx2(const char *in, char *region, Py_ssize_t m, int stream)
{
    Py_ssize_t k = 0;
    if (stream)
        k = scale_each(in, region, k, m, 32);
    const __m256 sc = _mm256_set1_ps(1.0f / 32768.0f);
    for (; k + 16 <= m; k += 16) {
        const __m128i a = _mm_loadu_si128((const __m128i *)(in + 2 * k));
        const __m128i b = _mm_loadu_si128((const __m128i *)(in + 2 * k + 16));
        const __m256 lo = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(a)), sc);
        const __m256 hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(b)), sc);
        float *out = (float *)(region + 4 * k);
        if (stream) {
            _mm256_stream_ps(out, lo);
            _mm256_stream_ps(out + 8, hi);
        } else {
            _mm256_storeu_ps(out, lo);
            _mm256_storeu_ps(out + 8, hi);
        }
    }
    if (stream)
        _mm_sfence();
    scale_each(in, region, k, m, 0);
}
#endif

#define DINOS_BASE_LOOP (DINOS_STREAM ? "sse2" : "c")

/* the mono loop in use (1: AVX2), picked when the module loads: AVX2 where the CPU has it, else the
   baseline ("sse2"; "c" in a build without SSE2); `kernel()` reports and, for tests, switches it.
   `loop_calls` counts the read_scaled calls that converted with each (updated under the GIL). */
static int use_avx2 = 0;
static int have_avx2 = 0;
static unsigned long long loop_calls[2] = {0, 0};

static PyObject *
kernel(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"name", NULL};
    const char *name = NULL;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|z:kernel", keywords, &name))
        return NULL;
    const int before = use_avx2;
    if (name != NULL) {
        if (strcmp(name, "avx2") == 0) {
            if (!have_avx2) {
                PyErr_SetString(PyExc_ValueError, DINOS_AVX2 ? "this CPU has no AVX2" : "this build has no AVX2 loop");
                return NULL;
            }
            use_avx2 = 1;
        } else if (strcmp(name, DINOS_BASE_LOOP) == 0) {
            use_avx2 = 0;
        } else {
            PyErr_Format(PyExc_ValueError, "unknown loop '%s' (this build has %s%s)", name, DINOS_BASE_LOOP,
                         have_avx2 ? " and avx2" : "");
            return NULL;
        }
    }
    return PyUnicode_FromString(before ? "avx2" : DINOS_BASE_LOOP);
}

PyDoc_STRVAR(kernel_doc,
"kernel(name=None)\n--\n\n"
"The loop read_scaled converts one channel with, as a str: 'avx2' (picked when the module loads,\n"
"where the CPU has AVX2), else 'sse2' ('c' in a build without SSE2). `name` switches to that loop\n"
"(for tests and benchmarks: every loop gives the same bits) and the loop in use before the call is\n"
"returned, so `kernel(kernel('sse2'))` switches back (as numpy.seterr); ValueError for a loop this\n"
"build or CPU lacks. `LOOPS` holds the loops this build can run here, the module's pick last.");

static PyObject *
kernel_calls(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (have_avx2)
        return Py_BuildValue("{sKsK}", DINOS_BASE_LOOP, loop_calls[0], "avx2", loop_calls[1]);
    return Py_BuildValue("{sK}", DINOS_BASE_LOOP, loop_calls[0]);
}

PyDoc_STRVAR(kernel_calls_doc,
"kernel_calls()\n--\n\n"
"{loop name: read_scaled calls that converted one channel with it} since the module loaded (tests\n"
"check with it which loop ran).");

PyDoc_STRVAR(read_scaled_doc,
"read_scaled(fd, offset, scratch, dst, channels=1, channel=0, stream=False)\n--\n\n"
"Read len(dst) * channels int16 samples at byte `offset` of `fd` (pread, retried on EINTR and partial\n"
"reads, 256 KiB at a time) and write dst[k] = sample[channel + k * channels] * 2**-15 (as scale_into).\n"
"One channel without stream: each piece is read into dst itself and converted in place; else through\n"
"scratch.\n"
"Returns the bytes read; fewer than wanted (end of file): the frames of the pieces read whole are\n"
"written, the rest of dst is unspecified (it may hold raw samples): the caller raises.\n"
"scratch must hold len(dst) * channels items (else IndexError). The GIL is released during the read\n"
"and the loop; a read error raises OSError. stream=True (one channel, x86-64): dst is written with\n"
"non-temporal stores, for a destination larger than the CPU cache (same values).");

static PyObject *
read_scaled(PyObject *self, PyObject *args)
{
    int fd;
    long long offset;
    PyObject *scr_obj, *dst_obj;
    Py_ssize_t channels = 1, channel = 0;
    int stream = 0;
    if (!PyArg_ParseTuple(args, "iLOO|nnp:read_scaled", &fd, &offset, &scr_obj, &dst_obj, &channels, &channel,
                          &stream))
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
    /* Read and convert chunk by chunk (into the start of scratch, or in place): the int16 bytes are
       converted while they are still in the core's cache (a 2 MiB run read whole, then converted,
       ran ~15 % slower on 1-s windows: benchmarks/bench_loading.py). */
    const size_t frame_bytes = (size_t)channels * 2;
    size_t chunk = DINOS_CHUNK_BYTES / frame_bytes * frame_bytes;
    if (chunk == 0)
        chunk = frame_bytes;
    size_t have = 0; /* bytes of the current chunk already read */
    int err = 0;
    const int loop = use_avx2; /* one loop for the whole call */
    int used = -1;             /* the loop that converted (one channel), counted once the GIL is back */
    (void)loop;
    for (;;) {
        ssize_t r = 0;
        Py_BEGIN_ALLOW_THREADS
        while (got < want) {
            size_t part = want - got < chunk ? want - got : chunk;
            /* one channel, plain stores: the chunk's samples go into the upper half of their own floats
               (converted in place); else into scratch (several channels: one is picked from it) */
            char *region = channels == 1 ? (char *)dst.buf + 2 * got : NULL; /* its floats (one channel) */
            char *into = channels == 1 && !stream ? region + part : buf;
            while (have < part) {
                r = pread(fd, into + have, part - have, (off_t)(offset + (long long)(got + have)));
                if (r <= 0)
                    break;
                have += (size_t)r;
            }
            if (have < part)
                break;
            const Py_ssize_t m = (Py_ssize_t)(part / frame_bytes);
            if (channels == 1) {
#if DINOS_AVX2
                if (loop) {
                    scale_mono_avx2(into, region, m, stream);
                    used = 1;
                } else
#endif
                {
                    scale_mono(into, region, m, stream);
                    used = 0;
                }
            }
            else
                scale_plain((const int16_t *)scr.buf + channel, (float *)dst.buf + got / frame_bytes, m, channels);
            got += part;
            have = 0;
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
    got += have;
    if (used >= 0)
        loop_calls[used]++;
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
    {"kernel", (PyCFunction)(void (*)(void))kernel, METH_VARARGS | METH_KEYWORDS, kernel_doc},
    {"kernel_calls", kernel_calls, METH_NOARGS, kernel_calls_doc},
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
    PyObject *mod = PyModule_Create(&module);
    if (mod == NULL)
        return NULL;
#ifndef _WIN32
#if DINOS_AVX2
    __builtin_cpu_init();
    have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    use_avx2 = have_avx2;
#endif
    PyObject *loops = have_avx2 ? Py_BuildValue("(ss)", DINOS_BASE_LOOP, "avx2") : Py_BuildValue("(s)", DINOS_BASE_LOOP);
    if (loops == NULL || PyModule_AddObject(mod, "LOOPS", loops) < 0) {
        Py_XDECREF(loops);
        Py_DECREF(mod);
        return NULL;
    }
#endif
    return mod;
}
