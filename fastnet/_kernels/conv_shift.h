/* The shifted copies of an image and their way back (conv.h's shift and unshift), for
 * conv_variant.h: rows of ow values copied, or added, a vector at a time, the last one
 * masked (ow is 8 to 24 in the book's layers: a row is one or two vectors, where a
 * compiler's own loop spends its time on the checks around short copies).
 */

/* A row's last vector is written whole where the array goes on past it (a copy's rows are
 * written in order, so what spills over is overwritten by the next row; an addition adds
 * zeros there) and masked only at an array's end: masked stores are slow on AMD's cores. */
static FASTNET_INLINE TARGET void FN(conv_copy_row)(const T* from, const T* from_end, T* to,
                                                    const T* to_end, int n)
{
    int j;
    V v;
    for (j = 0; j + VL <= n; j += VL) VSTORE(to + j, VLOAD(from + j));
    if (j < n) {
        v = from + j + VL <= from_end ? VLOAD(from + j) : VLOADM(from + j, MASK(n - j));
        if (to + j + VL <= to_end) VSTORE(to + j, v);
        else VSTOREM(to + j, MASK(n - j), v);
    }
}

TARGET static void FN(shift)(const T* x, int channels, int h, int w, int fw, T* s)
{
    int c, q, r, ow = w - fw + 1;
    const T* x_end = x + (ptrdiff_t) channels * h * w;
    const T* s_end = s + (ptrdiff_t) channels * fw * h * ow;
    for (c = 0; c < channels; c++)
        for (q = 0; q < fw; q++)
            for (r = 0; r < h; r++) {
                FN(conv_copy_row)(x + ((ptrdiff_t) c * h + r) * w + q, x_end, s, s_end, ow);
                s += ow;
            }
}

#if CONV_AVX512
#define CONV_LANES_BETWEEN(lo, hi) ((M) (MASK(hi) & ~MASK(lo)))
#else
#define CONV_LANES_BETWEEN(lo, hi) _mm256_andnot_si256(MASK(lo), MASK(hi))
#endif

/* Each row of x summed in registers from the fw copies that hold a part of it (copy q holds
 * x[c, r, q:q + ow]), then stored once: adding into x row by row instead stalls, each row's
 * loads waiting on the stores of the row before, which overlap them when a vector is wider
 * than a row. */
TARGET static void FN(unshift)(const T* s, int channels, int h, int w, int fw, T* x)
{
    int c, q, r, j, lo, hi, ow = w - fw + 1;
    ptrdiff_t copy = (ptrdiff_t) h * ow;
    const T* x_end = x + (ptrdiff_t) channels * h * w;
    V acc;
    for (c = 0; c < channels; c++)
        for (r = 0; r < h; r++) {
            const T* rows = s + (ptrdiff_t) c * fw * copy + (ptrdiff_t) r * ow;
            T* out = x + ((ptrdiff_t) c * h + r) * w;
            for (j = 0; j < w; j += VL) {
                acc = VZERO();
                for (q = 0; q < fw; q++) {
                    /* lanes l of this vector with 0 <= j + l - q < ow */
                    lo = q - j > 0 ? q - j : 0;
                    hi = q - j + ow < VL ? q - j + ow : VL;
                    if (lo < hi)
                        acc = VADD(acc, VLOADM(rows + q * copy + j - q, CONV_LANES_BETWEEN(lo, hi)));
                }
                if (out + j + VL <= x_end) VSTORE(out + j, acc);
                else VSTOREM(out + j, MASK(w - j), acc);
            }
        }
}

#undef CONV_LANES_BETWEEN
