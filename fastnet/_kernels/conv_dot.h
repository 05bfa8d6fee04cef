/* Dot over segments (conv.h), for conv_variant.h: the filters' gradient
 *
 *   C[i][j] = sum_g sum_{o < len} A(g, i)[o] B(g, j)[o],
 *   A(g, i) = a + g a_seg + i a_row,  B(g, j) = b + g b_seg + b_off[j]
 *
 * with i a filter, j a tap (channel, row, column of the filter), g an image of the
 * mini-batch, A its output gradients and B a stretch of its shifted copies.  A tile of
 * DOT_MR x DOT_NR sums (tiles.c's dot-rows tile: 5 x 5 with AVX-512, 3 x 4 with AVX2) runs
 * along o in vectors, through every image, and is summed across lanes once at the end, so
 * the reductions are spread over segments x len products each.  Rows and columns past the
 * edge repeat the last real one and are not stored.
 */

static FASTNET_INLINE TARGET void FN(dot_segments_tile)(int len, int segments, const T* a,
                                                        ptrdiff_t a_seg, const ptrdiff_t* a_at,
                                                        const T* b, ptrdiff_t b_seg,
                                                        const ptrdiff_t* b_at, T* c,
                                                        ptrdiff_t ldc, int m_valid, int n_valid)
{
    V acc[DOT_MR][DOT_NR];
    V av[DOT_MR];
    int i, j, g, o;
    M tail = MASK(len % VL);
    FASTNET_UNROLL for (i = 0; i < DOT_MR; i++)
        FASTNET_UNROLL for (j = 0; j < DOT_NR; j++) acc[i][j] = VZERO();
    for (g = 0; g < segments; g++) {
        const T* ag = a + g * a_seg;
        const T* bg = b + g * b_seg;
        for (o = 0; o + VL <= len; o += VL) {
            FASTNET_UNROLL for (i = 0; i < DOT_MR; i++) av[i] = VLOAD(ag + a_at[i] + o);
            FASTNET_UNROLL for (j = 0; j < DOT_NR; j++) {
                V bv = VLOAD(bg + b_at[j] + o);
                FASTNET_UNROLL for (i = 0; i < DOT_MR; i++) acc[i][j] = VFMA(av[i], bv, acc[i][j]);
            }
        }
        if (o < len) {
            FASTNET_UNROLL for (i = 0; i < DOT_MR; i++) av[i] = VLOADM(ag + a_at[i] + o, tail);
            FASTNET_UNROLL for (j = 0; j < DOT_NR; j++) {
                V bv = VLOADM(bg + b_at[j] + o, tail);
                FASTNET_UNROLL for (i = 0; i < DOT_MR; i++) acc[i][j] = VFMA(av[i], bv, acc[i][j]);
            }
        }
    }
    FASTNET_UNROLL for (i = 0; i < DOT_MR; i++)
        FASTNET_UNROLL for (j = 0; j < DOT_NR; j++)
            if (i < m_valid && j < n_valid) c[i * ldc + j] = VSUM(acc[i][j]);
}

/* The taps' tiles outside, the filters' inside: one tile of taps (DOT_NR stretches of every
 * image's copies) stays in the L1 cache while the output gradients stream past it. */
TARGET static void FN(dot_segments)(int m, int n, int len, int segments, const T* a,
                                    ptrdiff_t a_seg, ptrdiff_t a_row, const T* b,
                                    ptrdiff_t b_seg, const ptrdiff_t* b_off, T* c, ptrdiff_t ldc)
{
    ptrdiff_t a_at[DOT_MR], b_at[DOT_NR];
    int i0, j0, r, m_valid, n_valid;
    for (j0 = 0; j0 < n; j0 += DOT_NR) {
        n_valid = n - j0 < DOT_NR ? n - j0 : DOT_NR;
        for (r = 0; r < DOT_NR; r++) b_at[r] = b_off[j0 + (r < n_valid ? r : n_valid - 1)];
        for (i0 = 0; i0 < m; i0 += DOT_MR) {
            m_valid = m - i0 < DOT_MR ? m - i0 : DOT_MR;
            for (r = 0; r < DOT_MR; r++) a_at[r] = (i0 + (r < m_valid ? r : m_valid - 1)) * a_row;
            FN(dot_segments_tile)(len, segments, a, a_seg, a_at, b, b_seg, b_at,
                                  c + i0 * ldc + j0, ldc, m_valid, n_valid);
        }
    }
}
