/* Level 0 of conv.h's table in plain C, for conv_kernels.c (any CPU: the level of CPUs without
 * AVX2, and of ARM).  conv_kernels.c includes it once per precision with T, FN0(name) and the
 * libm functions LIBM_EXP, LIBM_TANH defined.  At this level conv.pyx takes the products
 * of the forward pass and of the gradients to BLAS; dot_segments is here so that the
 * table is whole, and for tests.
 */

static void FN0(dot_segments)(int m, int n, int len, int segments, const T* a, ptrdiff_t a_seg,
                              ptrdiff_t a_row, const T* b, ptrdiff_t b_seg,
                              const ptrdiff_t* b_off, T* c, ptrdiff_t ldc)
{
    int i, j, g, o;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            T total = 0;
            for (g = 0; g < segments; g++) {
                const T* ag = a + g * a_seg + i * a_row;
                const T* bg = b + g * b_seg + b_off[j];
                for (o = 0; o < len; o++) total += ag[o] * bg[o];
            }
            c[i * ldc + j] = total;
        }
}

/* The sigmoid as training.pyx writes it: exp of -|z| only, so it never overflows. */
static T FN0(sigmoid)(T z)
{
    T e = LIBM_EXP(z < 0 ? z : -z);
    T s = 1 / (1 + e);
    return z >= 0 ? s : e * s;
}

static void FN0(activate)(int kind, T* x, ptrdiff_t count)
{
    ptrdiff_t i;
    if (kind == FASTNET_CONV_SIGMOID)
        for (i = 0; i < count; i++) x[i] = FN0(sigmoid)(x[i]);
    else if (kind == FASTNET_CONV_TANH)
        for (i = 0; i < count; i++) x[i] = LIBM_TANH(x[i]);
    else if (kind == FASTNET_CONV_RELU)
        for (i = 0; i < count; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

static void FN0(shift)(const T* x, int channels, int h, int w, int fw, T* s)
{
    int c, q, r, j, ow = w - fw + 1;
    for (c = 0; c < channels; c++)
        for (q = 0; q < fw; q++)
            for (r = 0; r < h; r++) {
                const T* row = x + ((ptrdiff_t) c * h + r) * w + q;
                for (j = 0; j < ow; j++) s[j] = row[j];
                s += ow;
            }
}

static void FN0(unshift)(const T* s, int channels, int h, int w, int fw, T* x)
{
    int c, q, r, j, ow = w - fw + 1;
    memset(x, 0, (size_t) channels * h * w * sizeof(T));
    for (c = 0; c < channels; c++)
        for (q = 0; q < fw; q++)
            for (r = 0; r < h; r++) {
                T* row = x + ((ptrdiff_t) c * h + r) * w + q;
                for (j = 0; j < ow; j++) row[j] += s[j];
                s += ow;
            }
}
