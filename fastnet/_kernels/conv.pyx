# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled kernels of chapter 6's convolutional layers (fastnet.network3).

Four calls, in float32 or float64, all arrays C-contiguous and of one dtype
(``where``: int32), outputs preallocated and overwritten, the GIL released:

    conv_forward(x, w, z)                 z[n,f,i,j] = sum_{c,p,q} x[n,c,i+p,j+q] w[f,c,fh-1-p,fw-1-q]
    conv_backward(x, w, dz, dw, dx)       dw = d(cost)/dw summed over the mini-batch,
                                          dx = d(cost)/dx (None: not computed)
    pool_forward(z, b, ph, pw, act, a, where)
                                          a = act(max over each ph x pw window + b[f]),
                                          where = the place p*pw+q of its first largest entry
    pool_backward(da, a, where, act, dz, db[, ph, pw])
                                          delta = da * act'(a); db = delta summed over n, i, j;
                                          dz zero but at the windows' largest entries (ph, pw:
                                          the window; by default the largest the shapes allow)

The convolution is Theano's conv2d (valid mode, the filter rotated 180 degrees).
``act`` is one of LINEAR, SIGMOID, TANH, RELU; its derivative is taken from
the activation a = f(z).  Each call checks, in a few comparisons, that its
arrays' shapes fit one another (ValueError if not; types and contiguity are
its typed memoryviews'); the Python layer checks everything once, with a
message for each mistake (``check_conv_shapes``, ``check_pool_shapes``:
ValueError).  Each call takes a keyword ``level`` (fastnet.dispatch's
levels: 0 BLAS, 1 AVX2, 2 AVX-512; default, the one dispatch has in use).

How (conv.h says more): every product reads "shifted copies" of an image,
S[c][q] = x[c, :, q:q+ow], in which tap (c, p, q) of all of a filter's
outputs is one contiguous stretch.  At the vector levels the forward pass is
tiles.c's axpy rows (a register tile of 5 filters x 5 vectors of outputs with
AVX-512) over pointers into S, and the filters' gradient conv.h's dot over
segments (one segment per image).  Level 0 does these products with BLAS
(scipy.linalg.cython_blas), one per row of the filter, reading S in place;
so do the vector levels where BLAS measured faster (blas_forward_wins: the
float32 forward pass of layers with many channels).  The inputs' gradient is,
at every level, one BLAS product per filter row into the shifted copies'
gradient, then added back along the shifts.  Scratch memory is taken with
malloc for the call.
"""
from cython cimport floating
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from ._blas cimport AS_STORED, TRANSPOSED, gemm
from ._tiles cimport axpy_rows as tile_axpy_rows, fastnet_simd_supported

cdef extern from "conv.h" nogil:
    ctypedef struct fastnet_conv_table_d:
        int lanes
        void (*dot_segments)(int m, int n, int len, int segments, const double* a,
                             Py_ssize_t a_seg, Py_ssize_t a_row, const double* b,
                             Py_ssize_t b_seg, const Py_ssize_t* b_off, double* c,
                             Py_ssize_t ldc) noexcept nogil
        void (*activate)(int kind, double* x, Py_ssize_t count) noexcept nogil
        void (*pool_max)(const double* z, int planes, int filters, int h, int w, int ph, int pw,
                         const double* bias, double* out, int* where) noexcept nogil
        void (*unpool)(const double* da, const double* a, int kind, const int* where, int planes,
                       int filters, int h, int w, int ph, int pw, double* dz, double* db) noexcept nogil
        void (*shift)(const double* x, int channels, int h, int w, int fw, double* s) noexcept nogil
        void (*unshift)(const double* s, int channels, int h, int w, int fw, double* x) noexcept nogil
    ctypedef struct fastnet_conv_table_f:
        int lanes
        void (*dot_segments)(int m, int n, int len, int segments, const float* a,
                             Py_ssize_t a_seg, Py_ssize_t a_row, const float* b,
                             Py_ssize_t b_seg, const Py_ssize_t* b_off, float* c,
                             Py_ssize_t ldc) noexcept nogil
        void (*activate)(int kind, float* x, Py_ssize_t count) noexcept nogil
        void (*pool_max)(const float* z, int planes, int filters, int h, int w, int ph, int pw,
                         const float* bias, float* out, int* where) noexcept nogil
        void (*unpool)(const float* da, const float* a, int kind, const int* where, int planes,
                       int filters, int h, int w, int ph, int pw, float* dz, float* db) noexcept nogil
        void (*shift)(const float* x, int channels, int h, int w, int fw, float* s) noexcept nogil
        void (*unshift)(const float* s, int channels, int h, int w, int fw, float* x) noexcept nogil
    const fastnet_conv_table_d* fastnet_conv_tables_d[]
    const fastnet_conv_table_f* fastnet_conv_tables_f[]

LINEAR = 0
SIGMOID = 1
TANH = 2
RELU = 3
ACTIVATIONS = {"linear": LINEAR, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU}
cdef enum:
    LINEAR_CODE = 0



#### Which level runs

cdef object _dispatch = None


cdef int resolve_level(int level) except -1:
    """`level`, or fastnet.dispatch's level in use when it is negative, capped at what the CPU runs."""
    global _dispatch
    if level < 0:
        if _dispatch is None:
            from fastnet import dispatch
            _dispatch = dispatch
        # dispatch numbers its levels as the kernels here do (an index into its LEVELS).
        level = _dispatch.current_index()
    return min(level, fastnet_simd_supported())


#### The shapes of one convolution

cdef struct Geometry:
    int m, C, H, W, F, fh, fw, oh, ow
    int P            # outputs per filter and image: oh * ow
    int K            # taps per filter: C * fh * fw
    int CQ           # shifted copies per image: C * fw
    Py_ssize_t copy  # values of one shifted copy: H * ow
    Py_ssize_t shift # values of an image's shifted copies: C * fw * H * ow


cdef Geometry geometry(Py_ssize_t* xs, Py_ssize_t* ws) noexcept:
    cdef Geometry g
    g.m, g.C, g.H, g.W = xs[0], xs[1], xs[2], xs[3]
    g.F, g.fh, g.fw = ws[0], ws[2], ws[3]
    g.oh, g.ow = g.H - g.fh + 1, g.W - g.fw + 1
    g.P = g.oh * g.ow
    g.K = g.C * g.fh * g.fw
    g.CQ = g.C * g.fw
    g.copy = <Py_ssize_t> g.H * g.ow
    g.shift = g.CQ * g.copy
    return g


cdef inline void shift_image(int level, const floating* x, const Geometry* g,
                             floating* s) noexcept nogil:
    """s[c][q] = x[c, :, q:q+ow], row after row, for one image x (C, H, W)."""
    if floating is float:
        fastnet_conv_tables_f[level].shift(x, g.C, g.H, g.W, g.fw, s)
    else:
        fastnet_conv_tables_d[level].shift(x, g.C, g.H, g.W, g.fw, s)


cdef inline void unshift_image(int level, const floating* s, const Geometry* g,
                               floating* x) noexcept nogil:
    """x (C, H, W) = the sum of the shifted copies' gradients s put back where they came from."""
    if floating is float:
        fastnet_conv_tables_f[level].unshift(s, g.C, g.H, g.W, g.fw, x)
    else:
        fastnet_conv_tables_d[level].unshift(s, g.C, g.H, g.W, g.fw, x)


cdef inline Py_ssize_t tap_offset(const Geometry* g, int c, int p_w, int q_w) noexcept nogil:
    """Where, in an image's shifted copies, the inputs that meet w[f, c, p_w, q_w] start:
    that tap of the rotated filter is (fh-1-p_w, fw-1-q_w)."""
    return (c * g.fw + g.fw - 1 - q_w) * g.copy + (g.fh - 1 - p_w) * g.ow


cdef inline void rows_by_filter_row(const floating* w, const Geometry* g, bint filters_first,
                                    floating* out) noexcept nogil:
    """w rearranged in one block per filter row p_w (rotated: p = fh-1-p_w), each block's
    rows the shifted copies (c, q) in order: filters_first, out[p_w][f][c*fw+q]; otherwise
    out[p_w][c*fw+q][f] (= w[f, c, p_w, fw-1-q])."""
    cdef int pw_, f, c, q
    cdef floating value
    for pw_ in range(g.fh):
        for f in range(g.F):
            for c in range(g.C):
                for q in range(g.fw):
                    value = w[((<Py_ssize_t> f * g.C + c) * g.fh + pw_) * g.fw + g.fw - 1 - q]
                    if filters_first:
                        out[(<Py_ssize_t> pw_ * g.F + f) * g.CQ + c * g.fw + q] = value
                    else:
                        out[(<Py_ssize_t> pw_ * g.CQ + c * g.fw + q) * g.F + f] = value


#### The convolution

cdef inline Py_ssize_t whole_words(Py_ssize_t values, size_t size) noexcept nogil:
    """Bytes for `values` of `size` bytes, rounded up to whole 64-byte lines (so that what
    follows in one scratch block starts aligned)."""
    return (values * <Py_ssize_t> size + 63) // 64 * 64


cdef inline bint blas_forward_wins(const Geometry* g, size_t value_size) noexcept nogil:
    """Whether the forward pass goes to BLAS at a vector level: the rule measured on AMD Zen 4
    (AVX-512, OpenBLAS 0.3 on one thread; time with tiles / time with BLAS, medians of 40
    interleaved pairs, mini-batch 10).  In float32, with C fw >= 40 (the rows of each of
    BLAS's products) sgemm is ahead by a little: 1.01 at C = 8, 1.03 at C = 20 (the book's
    second layer), 1.05 at C = 40, 1.01 with 3 x 3 filters; below it the tiles lead: 0.74 at
    C = 1 (the first layer), 0.95 at C = 3.  In float64 the tiles lead or tie wherever
    measured (0.61 to 0.99).  The filters' gradient stays with the tiles everywhere (0.58 to
    0.83 of BLAS's time); the inputs' gradient goes to BLAS at every level (see backward).
    """
    return value_size == sizeof(float) and g.CQ >= 40


cdef int forward(int level, const floating* x, const floating* w, floating* z,
                 const Geometry* g) noexcept nogil:
    """z = the convolution of x with w; 0 if scratch memory was not to be had."""
    cdef Py_ssize_t n, s, image = <Py_ssize_t> g.C * g.H * g.W, out = <Py_ssize_t> g.F * g.P
    cdef int c, pw_, qw, pw_rot
    cdef bint tiles = level > 0 and not blas_forward_wins(g, sizeof(floating))
    cdef Py_ssize_t shift_bytes = whole_words(g.shift, sizeof(floating))
    cdef Py_ssize_t rest_bytes = (whole_words(g.K, sizeof(floating*)) if tiles
                                  else whole_words(<Py_ssize_t> g.K * g.F, sizeof(floating)))
    cdef char* scratch = <char*> malloc(shift_bytes + rest_bytes)
    cdef floating* shifted = <floating*> scratch
    cdef floating* blocks = <floating*> (scratch + shift_bytes)
    cdef const floating** taps = <const floating**> (scratch + shift_bytes)
    if scratch == NULL:
        return 0
    if tiles:
        for n in range(g.m):
            shift_image(level, x + n * image, g, shifted)
            s = 0
            for c in range(g.C):
                for pw_ in range(g.fh):
                    for qw in range(g.fw):
                        taps[s] = shifted + tap_offset(g, c, pw_, qw)
                        s += 1
            # z[n][f][o] = sum_s w[f][s] taps[s][o]: rows of z by filter, terms by tap.
            tile_axpy_rows(level, g.F, g.P, g.K, w, g.K, 1, taps, 0, z + n * out, g.P,
                           NULL, 0, 0)
    else:
        rows_by_filter_row(w, g, True, blocks)
        for n in range(g.m):
            shift_image(level, x + n * image, g, shifted)
            # One product per filter row: z[n] (F x P) += block (F x C fw) @ the copies' rows
            # starting at that row (C fw rows of P, H ow apart).
            for pw_ in range(g.fh):
                pw_rot = g.fh - 1 - pw_
                gemm(AS_STORED, AS_STORED, g.F, g.P, g.CQ, <floating> 1,
                     blocks + <Py_ssize_t> pw_ * g.F * g.CQ, g.CQ,
                     shifted + pw_rot * g.ow, <int> g.copy,
                     <floating> (0 if pw_ == 0 else 1), z + n * out, g.P)
    free(scratch)
    return 1


cdef int backward(int level, const floating* x, const floating* w, const floating* dz,
                  floating* dw, floating* dx, const Geometry* g) noexcept nogil:
    """dw (and dx unless NULL) from dz; 0 if scratch memory was not to be had."""
    cdef Py_ssize_t n, s, image = <Py_ssize_t> g.C * g.H * g.W, out = <Py_ssize_t> g.F * g.P
    cdef int c, f, pw_, qw, q, pw_rot
    # One block: the shifted copies (every image's at the vector levels), the filters
    # rearranged, the taps' offsets.
    cdef Py_ssize_t shift_bytes = whole_words(g.shift * (g.m if level > 0 else 1), sizeof(floating))
    cdef Py_ssize_t blocks_bytes = whole_words(<Py_ssize_t> g.K * g.F, sizeof(floating))
    cdef Py_ssize_t offsets_bytes = whole_words(g.K, sizeof(Py_ssize_t))
    cdef char* scratch = <char*> malloc(shift_bytes + blocks_bytes + offsets_bytes)
    cdef floating* shifted = <floating*> scratch
    cdef floating* blocks = <floating*> (scratch + shift_bytes)
    cdef Py_ssize_t* offsets = <Py_ssize_t*> (scratch + shift_bytes + blocks_bytes)
    if scratch == NULL:
        return 0

    # The filters' gradient.
    if level > 0:
        # Every image's shifted copies, then one pass of dot over segments (one per image).
        for n in range(g.m):
            shift_image(level, x + n * image, g, shifted + n * g.shift)
        s = 0
        for c in range(g.C):
            for pw_ in range(g.fh):
                for qw in range(g.fw):
                    offsets[s] = tap_offset(g, c, pw_, qw)
                    s += 1
        if floating is float:
            fastnet_conv_tables_f[level].dot_segments(g.F, g.K, g.P, g.m, dz, out, g.P,
                                                      shifted, g.shift, offsets, dw, g.K)
        else:
            fastnet_conv_tables_d[level].dot_segments(g.F, g.K, g.P, g.m, dz, out, g.P,
                                                      shifted, g.shift, offsets, dw, g.K)
    else:
        # Per image and filter row: block[p_w] (C fw x F) += the copies' rows (C fw x P) @ dz^T.
        for n in range(g.m):
            shift_image(level, x + n * image, g, shifted)
            for pw_ in range(g.fh):
                pw_rot = g.fh - 1 - pw_
                gemm(AS_STORED, TRANSPOSED, g.CQ, g.F, g.P, <floating> 1,
                     shifted + pw_rot * g.ow, <int> g.copy, dz + n * out, g.P,
                     <floating> (0 if n == 0 else 1),
                     blocks + <Py_ssize_t> pw_ * g.CQ * g.F, g.F)
        for f in range(g.F):
            for c in range(g.C):
                for pw_ in range(g.fh):
                    for qw in range(g.fw):
                        q = g.fw - 1 - qw
                        dw[((<Py_ssize_t> f * g.C + c) * g.fh + pw_) * g.fw + qw] = \
                            blocks[(<Py_ssize_t> pw_ * g.CQ + c * g.fw + q) * g.F + f]

    # The inputs' gradient: per image, the shifted copies' gradient (one product per filter
    # row, whose rows do not overlap one another), then added back along the shifts.
    if dx != NULL:
        rows_by_filter_row(w, g, False, blocks)
        for n in range(g.m):
            memset(shifted, 0, g.shift * sizeof(floating))
            for pw_ in range(g.fh):
                pw_rot = g.fh - 1 - pw_
                # dS[c][q][p ow + o] += sum_f w[f, c, p_w, fw-1-q] dz[n, f, o], by BLAS at
                # every level: measured on Zen 4 against tiles.c's axpy rows (which took it
                # before), sgemm and dgemm were 4-10% ahead at every shape tried (C = 1 to 40,
                # 3 x 3 and 5 x 5 filters, mini-batch 10).
                gemm(AS_STORED, AS_STORED, g.CQ, g.P, g.F, <floating> 1,
                     blocks + <Py_ssize_t> pw_ * g.CQ * g.F, g.F, dz + n * out, g.P,
                     <floating> 1, shifted + pw_rot * g.ow, <int> g.copy)
            unshift_image(level, shifted, g, dx + n * image)
    free(scratch)
    return 1


#### Pooling

cdef int pool(int level, const floating* z, const floating* b, int planes, int filters, int h,
              int w, int ph, int pw, int act, floating* a, int* where) noexcept nogil:
    cdef Py_ssize_t count = <Py_ssize_t> planes * (h // ph) * (w // pw)
    if floating is float:
        fastnet_conv_tables_f[level].pool_max(z, planes, filters, h, w, ph, pw, b, a, where)
        if act != LINEAR_CODE:
            fastnet_conv_tables_f[level].activate(act, a, count)
    else:
        fastnet_conv_tables_d[level].pool_max(z, planes, filters, h, w, ph, pw, b, a, where)
        if act != LINEAR_CODE:
            fastnet_conv_tables_d[level].activate(act, a, count)
    return 1


cdef int unpool(int level, const floating* da, const floating* a, const int* where, int act,
                int planes, int filters, int h, int w, int ph, int pw, floating* dz,
                floating* db) noexcept nogil:
    if floating is float:
        fastnet_conv_tables_f[level].unpool(da, a, act, where, planes, filters, h, w, ph, pw, dz, db)
    else:
        fastnet_conv_tables_d[level].unpool(da, a, act, where, planes, filters, h, w, ph, pw, dz, db)
    return 1


#### The Python-visible calls
#
# Each checks, in a few integer comparisons, that the shapes fit one another (so that a
# call with arrays that do not fit raises instead of reading past them); the full checks,
# with messages for each mistake, are check_conv_shapes and check_pool_shapes.

cdef int conv_shapes_fit(Py_ssize_t* xs, Py_ssize_t* ws, Py_ssize_t* zs) except -1:
    if not (xs[0] >= 1 and xs[1] >= 1 and ws[0] >= 1 and ws[1] == xs[1] and 1 <= ws[2] <= xs[2] and 1 <= ws[3] <= xs[3]
            and zs[0] == xs[0] and zs[1] == ws[0] and zs[2] == xs[2] - ws[2] + 1
            and zs[3] == xs[3] - ws[3] + 1):
        raise ValueError("the arrays' shapes do not fit a convolution (check_conv_shapes says "
                         "which)")
    return 0


cdef int pool_shapes_fit(Py_ssize_t* zs, Py_ssize_t b, int ph, int pw, Py_ssize_t* a_s,
                         Py_ssize_t* ws) except -1:
    if not (zs[0] >= 1 and zs[1] >= 1 and b == zs[1] and 1 <= ph <= zs[2] and 1 <= pw <= zs[3] and a_s[0] == zs[0]
            and a_s[1] == zs[1] and a_s[2] == zs[2] // ph and a_s[3] == zs[3] // pw
            and ws[0] == a_s[0] and ws[1] == a_s[1] and ws[2] == a_s[2] and ws[3] == a_s[3]):
        raise ValueError("the arrays' shapes do not fit a pooling (check_pool_shapes says which)")
    return 0


def conv_forward(floating[:, :, :, ::1] x not None, floating[:, :, :, ::1] w not None,
                 floating[:, :, :, ::1] z not None, int level=-1):
    """z (m, F, H-fh+1, W-fw+1) = x (m, C, H, W) convolved with w (F, C, fh, fw)."""
    conv_shapes_fit(x.shape, w.shape, z.shape)
    cdef int lv = resolve_level(level)
    cdef Geometry g = geometry(x.shape, w.shape)
    cdef int ok
    with nogil:
        ok = forward(lv, &x[0, 0, 0, 0], &w[0, 0, 0, 0], &z[0, 0, 0, 0], &g)
    if not ok:
        raise MemoryError("conv_forward: no memory for its scratch")


def conv_backward(floating[:, :, :, ::1] x not None, floating[:, :, :, ::1] w not None,
                  floating[:, :, :, ::1] dz not None, floating[:, :, :, ::1] dw not None,
                  floating[:, :, :, ::1] dx, int level=-1):
    """dw (F, C, fh, fw) = d(cost)/dw summed over the mini-batch and, unless dx is None,
    dx (m, C, H, W) = d(cost)/dx, from dz = d(cost)/dz (m, F, H-fh+1, W-fw+1)."""
    conv_shapes_fit(x.shape, w.shape, dz.shape)
    conv_shapes_fit(x.shape, dw.shape, dz.shape)
    if dx is not None:
        conv_shapes_fit(dx.shape, w.shape, dz.shape)
    cdef int lv = resolve_level(level)
    cdef Geometry g = geometry(x.shape, w.shape)
    cdef floating* dx_data = NULL if dx is None else &dx[0, 0, 0, 0]
    cdef int ok
    with nogil:
        ok = backward(lv, &x[0, 0, 0, 0], &w[0, 0, 0, 0], &dz[0, 0, 0, 0], &dw[0, 0, 0, 0],
                      dx_data, &g)
    if not ok:
        raise MemoryError("conv_backward: no memory for its scratch")


def pool_forward(floating[:, :, :, ::1] z not None, floating[::1] b not None, int ph, int pw,
                 int act, floating[:, :, :, ::1] a not None, int[:, :, :, ::1] where not None,
                 int level=-1):
    """a[n,f,i,j] = act(max of z over window (i, j) + b[f]); where = the window's place
    p*pw + q of its first largest entry."""
    pool_shapes_fit(z.shape, b.shape[0], ph, pw, a.shape, where.shape)
    cdef int lv = resolve_level(level)
    with nogil:
        pool(lv, &z[0, 0, 0, 0], &b[0], z.shape[0] * z.shape[1], z.shape[1], z.shape[2],
             z.shape[3], ph, pw, act, &a[0, 0, 0, 0], &where[0, 0, 0, 0])


def pool_backward(floating[:, :, :, ::1] da not None, floating[:, :, :, ::1] a not None,
                  int[:, :, :, ::1] where not None, int act, floating[:, :, :, ::1] dz not None,
                  floating[::1] db not None, int ph=0, int pw=0, int level=-1):
    """delta = da * act'(a); db[f] = delta summed over n, i, j; dz zero but at each
    window's entry `where` names, which gets delta (a place outside the window: none).
    ph and pw default to H // (H // ph) and W // (W // pw) as dz and a give them: the
    largest window that fits the shapes, which is the one used unless pooling dropped at
    least a window's worth of rows or columns; give them when it may have."""
    if ph <= 0 and a.shape[2] > 0:
        ph = dz.shape[2] // a.shape[2]
    if pw <= 0 and a.shape[3] > 0:
        pw = dz.shape[3] // a.shape[3]
    pool_shapes_fit(dz.shape, db.shape[0], ph, pw, a.shape, where.shape)
    pool_shapes_fit(dz.shape, db.shape[0], ph, pw, da.shape, where.shape)
    cdef int lv = resolve_level(level)
    with nogil:
        unpool(lv, &da[0, 0, 0, 0], &a[0, 0, 0, 0], &where[0, 0, 0, 0], act,
               dz.shape[0] * dz.shape[1], dz.shape[1], dz.shape[2], dz.shape[3], ph, pw,
               &dz[0, 0, 0, 0], &db[0])


#### Checks, for the Python layer (the kernels trust their arguments)

_INT_LIMIT = 2 ** 31 - 1        # the kernels index with C ints and BLAS takes int sizes


def _operand(name, array, ndim, dtype=None, writeable=False):
    """`array` if a kernel can take it as it is: an ndarray of `ndim` dimensions, C-contiguous
    and aligned, of `dtype` (None: float32 or float64), none of its sizes 0."""
    import numpy as np
    if not isinstance(array, np.ndarray):
        raise ValueError("{} must be a NumPy array, not {}".format(name, type(array).__name__))
    if dtype is None:
        if array.dtype not in (np.float32, np.float64):
            raise ValueError("{} must be float32 or float64, not {}".format(name, array.dtype))
    elif array.dtype != dtype:
        raise ValueError("{} must be {} (as the other arrays), not {}".format(
            name, np.dtype(dtype).name, array.dtype))
    if array.ndim != ndim:
        raise ValueError("{} must have {} dimensions, not {} (shape {})".format(
            name, ndim, array.ndim, array.shape))
    if not (array.flags.c_contiguous and array.flags.aligned):
        raise ValueError("{} must be C-contiguous and aligned (np.ascontiguousarray makes it so)"
                         .format(name))
    if array.size == 0:
        raise ValueError("{} is empty (shape {})".format(name, array.shape))
    if array.size > _INT_LIMIT:
        raise ValueError("{} has {} values, more than the kernels index ({})".format(
            name, array.size, _INT_LIMIT))
    if writeable and not array.flags.writeable:
        raise ValueError("{} is written, so must be writeable".format(name))
    return array


def _shape_is(name, array, shape):
    if array.shape != tuple(shape):
        raise ValueError("{} must have shape {}, not {}".format(name, tuple(shape), array.shape))


def _apart(outputs, inputs):
    """No output may overlap an input or another output (the kernels read what they have
    not yet written)."""
    import numpy as np
    named = [(n, a) for n, a in outputs if a is not None]
    for i, (name, out) in enumerate(named):
        for other, array in named[i + 1:] + [(n, a) for n, a in inputs if a is not None]:
            if np.may_share_memory(out, array):
                raise ValueError("{} overlaps {} in memory; outputs need memory of their own"
                                 .format(name, other))


def check_conv_shapes(x, w, z=None, dz=None, dw=None, dx=None):
    """Raise ValueError unless conv_forward(x, w, z) and conv_backward(x, w, dz, dw, dx)
    (give the arrays of the call to check; None skips one) can run on these arrays:
    x (m, C, H, W) and w (F, C, fh, fw) float32 or float64 alike, fh <= H, fw <= W; z and
    dz (m, F, H-fh+1, W-fw+1), dw like w, dx like x; every one C-contiguous, outputs
    writeable and apart from the inputs."""
    x = _operand("x", x, 4)
    dtype = x.dtype
    w = _operand("w", w, 4, dtype)
    m, C, H, W = x.shape
    F, wc, fh, fw = w.shape
    if wc != C:
        raise ValueError("w has {} input channels, x has {} (w is (filters, channels, fh, fw),"
                         " x (images, channels, height, width))".format(wc, C))
    if fh > H or fw > W:
        raise ValueError("the filters ({} x {}) are larger than the images ({} x {})".format(
            fh, fw, H, W))
    out_shape = (m, F, H - fh + 1, W - fw + 1)
    if z is not None:
        _shape_is("z", _operand("z", z, 4, dtype, writeable=True), out_shape)
    if dz is not None:
        _shape_is("dz", _operand("dz", dz, 4, dtype), out_shape)
    if dw is not None:
        _shape_is("dw", _operand("dw", dw, 4, dtype, writeable=True), w.shape)
    if dx is not None:
        _shape_is("dx", _operand("dx", dx, 4, dtype, writeable=True), x.shape)
    if m * C * max(H, fh * fw) * W > _INT_LIMIT or F * C * fh * fw * 5 > _INT_LIMIT:
        raise ValueError("these shapes are too large for the kernels' indices")
    _apart([("z", z), ("dw", dw), ("dx", dx)], [("x", x), ("w", w), ("dz", dz)])


def check_pool_shapes(z, b, ph, pw, act, a=None, where=None, da=None, dz=None, db=None):
    """Raise ValueError unless pool_forward(z, b, ph, pw, act, a, where) and
    pool_backward(da, a, where, act, dz, db, ph, pw) can run on these arrays (None skips
    one; z is the pooled layer's input, or an array of its shape): z (m, F, H, W) float32
    or float64, b (F,), 1 <= ph <= H, 1 <= pw <= W, act one of LINEAR, SIGMOID, TANH, RELU;
    a and da (m, F, H // ph, W // pw) of z's dtype, where of that shape int32 (for
    pool_backward its values must name places in a window: checked when da is given);
    dz like z, db like b; C-contiguous, outputs writeable and apart from the inputs."""
    import numpy as np
    z = _operand("z", z, 4)
    dtype = z.dtype
    m, F, H, W = z.shape
    b = _operand("b", b, 1, dtype)
    _shape_is("b", b, (F,))
    if not (isinstance(ph, (int, np.integer)) and isinstance(pw, (int, np.integer))):
        raise ValueError("the pool size must be whole numbers, not {!r} x {!r}".format(ph, pw))
    if not (1 <= ph <= H and 1 <= pw <= W):
        raise ValueError("the pool ({} x {}) must be at least 1 x 1 and at most the maps' size"
                         " ({} x {})".format(ph, pw, H, W))
    if act not in (LINEAR, SIGMOID, TANH, RELU):
        raise ValueError("act must be LINEAR (0), SIGMOID (1), TANH (2) or RELU (3), not {!r}"
                         .format(act))
    pooled = (m, F, H // ph, W // pw)
    if a is not None:
        _shape_is("a", _operand("a", a, 4, dtype, writeable=da is None), pooled)
    if where is not None:
        _shape_is("where", _operand("where", where, 4, np.int32, writeable=da is None), pooled)
    if da is not None:
        _shape_is("da", _operand("da", da, 4, dtype), pooled)
        if where is not None and (where.min() < 0 or where.max() >= ph * pw):
            raise ValueError("where has places outside a {} x {} window ({} to {})".format(
                ph, pw, where.min(), where.max()))
    if dz is not None:
        _shape_is("dz", _operand("dz", dz, 4, dtype, writeable=True), z.shape)
    if db is not None:
        _shape_is("db", _operand("db", db, 1, dtype, writeable=True), (F,))
    if da is None:
        _apart([("a", a), ("where", where)], [("z", z), ("b", b)])
    else:
        _apart([("dz", dz), ("db", db)], [("da", da), ("a", a), ("where", where)])
