/* Dot rows (BLAS's fused dot products, dotxf; BLIS's sup-rd), for tiles_variant.h:
 *
 *   C[i][j] = sum_p A_i[p] B_j[p] (+ bias[j])     Z = A W^T + b: the forward product
 *
 * Each sum runs along p within a vector's lanes and is reduced across them once,
 * at the end.  Block sizes: DOT_MR x DOT_NR.
 */
#if DOT_MR > 5
#error "dot rows: the switch on a short last block of rows has cases 1 to 4 only: add cases for DOT_MR > 5"
#endif
#if DOT_MR < 1 || DOT_NR < 1
#error "dot rows: DOT_MR and DOT_NR must be at least 1"
#endif

/* ---------------------------------------------------------------------------
 * dot rows: C[i][j] = sum_p A_i[p] B_j[p]
 *
 * A tile of MR rows of A against NR rows of B keeps MR x NR vector accumulators
 * running along p: each step loads MR + NR vectors and does MR * NR fused
 * multiply-adds, and each accumulator is summed across its lanes once, at the
 * end.  The tile's sizes are constants in every call below, so the loops unroll
 * and the accumulators stay in registers.  Rows past the edge repeat the last
 * real row (their sums are computed but not stored).
 *
 * A tile covers p in [p0, p1) of a longer sum: it starts from zero (first) or
 * from the accumulators it saved last time, and ends by saving them, or (last)
 * by summing them into C, plus bias[j] unless bias is NULL.
 */
static FASTNET_INLINE TARGET void FN(dot_tile)(const int MR, const int NR, const T* const* a,
                                                const T* const* b, int p0, int p1, int k,
                                                V* saved, int first, int last, const T* bias,
                                                T* c, ptrdiff_t ldc, int m_valid, int n_valid)
{
    V acc[DOT_MR][DOT_NR];
    V av[DOT_MR];
    int i, j, p = p0;
    FASTNET_UNROLL for (i = 0; i < MR; i++)
        FASTNET_UNROLL for (j = 0; j < NR; j++) acc[i][j] = first ? VZERO() : saved[i * NR + j];
    for (; p + VL <= p1; p += VL) {
        FASTNET_UNROLL for (i = 0; i < MR; i++) av[i] = VLOAD(a[i] + p);
        FASTNET_UNROLL for (j = 0; j < NR; j++) {
            V bv = VLOAD(b[j] + p);
            FASTNET_UNROLL for (i = 0; i < MR; i++) acc[i][j] = VFMA(av[i], bv, acc[i][j]);
        }
    }
    if (p < p1) {                       /* only in the last chunk: p1 == k */
        M tail = MASK(k - p);
        FASTNET_UNROLL for (i = 0; i < MR; i++) av[i] = VLOADM(a[i] + p, tail);
        FASTNET_UNROLL for (j = 0; j < NR; j++) {
            V bv = VLOADM(b[j] + p, tail);
            FASTNET_UNROLL for (i = 0; i < MR; i++) acc[i][j] = VFMA(av[i], bv, acc[i][j]);
        }
    }
    if (last) {
        FASTNET_UNROLL for (i = 0; i < MR; i++)
            FASTNET_UNROLL for (j = 0; j < NR; j++)
                if (i < m_valid && j < n_valid)
                    c[i * ldc + j] = bias != NULL ? VSUM(acc[i][j]) + bias[j] : VSUM(acc[i][j]);
    } else {
        FASTNET_UNROLL for (i = 0; i < MR; i++)
            FASTNET_UNROLL for (j = 0; j < NR; j++) saved[i * NR + j] = acc[i][j];
    }
}

/* One row of A (one example: a matrix-vector product).  Eight rows of B at a
 * time keep eight sums in flight, enough to hide the latency of the fused
 * multiply-adds, which a tile's one row of sums would wait on; the row of A
 * stays in L1, and B streams through once. */
#define DOT_ONE_NR 8

TARGET static void FN(dot_one_row)(int n, int k, const T* a, const T* const* b, const T* bias,
                                   T* c)
{
    V acc[DOT_ONE_NR];
    const T* bp[DOT_ONE_NR];
    int j0, j, r, n_valid, p;
    for (j0 = 0; j0 < n; j0 += DOT_ONE_NR) {
        n_valid = n - j0 < DOT_ONE_NR ? n - j0 : DOT_ONE_NR;
        for (r = 0; r < DOT_ONE_NR; r++) bp[r] = b[j0 + (r < n_valid ? r : n_valid - 1)];
        FASTNET_UNROLL for (j = 0; j < DOT_ONE_NR; j++) acc[j] = VZERO();
        for (p = 0; p + VL <= k; p += VL) {
            V av = VLOAD(a + p);
            FASTNET_UNROLL for (j = 0; j < DOT_ONE_NR; j++) acc[j] = VFMA(av, VLOAD(bp[j] + p), acc[j]);
        }
        if (p < k) {
            M tail = MASK(k - p);
            V av = VLOADM(a + p, tail);
            FASTNET_UNROLL for (j = 0; j < DOT_ONE_NR; j++)
                acc[j] = VFMA(av, VLOADM(bp[j] + p, tail), acc[j]);
        }
        FASTNET_UNROLL for (j = 0; j < DOT_ONE_NR; j++)
            if (j < n_valid)
                c[j0 + j] = bias != NULL ? VSUM(acc[j]) + bias[j0 + j] : VSUM(acc[j]);
    }
}

#undef DOT_ONE_NR

/* The sum along p is cut into chunks of at most dot_chunk vectors (as equal as
 * can be: a last chunk of one or two vectors would cost a tile's saving and
 * summing for almost no work), and the tiles are
 * visited dot_block columns of tiles at a time: for each chunk, every tile of
 * the block.  So a chunk of A's rows is read from memory once per block, and
 * the block's chunk of B once, both then staying in the L1 cache; without the
 * chunks, the rows of a 784-input layer (6 KB each) overflow it.  Between
 * chunks each tile's accumulators wait in `saved`.  dot_chunk and dot_block are
 * fastnet_tuning_in_use's: they change which tiles run when, not any tile's sums.  If `prefetch` is given,
 * the first block's chunks ask for their shares of those rows (the next
 * mini-batch's inputs), as axpy rows does below. */
#define DOT_ROW_TILES 8                 /* up to 8 * DOT_MR rows in one pass */

TARGET static void FN(dot_rows)(int m, int n, int k, const T* const* a, const T* const* b,
                         const T* bias, T* c, ptrdiff_t ldc, const char* const* prefetch,
                         int prefetch_rows, ptrdiff_t prefetch_bytes)
{
    const int dot_chunk = fastnet_tuning_in_use.dot_chunk, dot_block = fastnet_tuning_in_use.dot_block;
    int vectors = (k + VL - 1) / VL;
    int chunks = vectors > 0 ? (vectors + dot_chunk - 1) / dot_chunk : 1, chunk_index = 0;
    int chunk_length = (vectors + chunks - 1) / chunks * VL;     /* in elements */
    V saved[DOT_ROW_TILES * FASTNET_DOT_BLOCK_MAX * DOT_MR * DOT_NR];
    const T* ap[DOT_MR];
    const T* bp[DOT_NR];
    int i0, j0, jb, r, m_valid, n_valid, p0, p1, first, last, tile;
    int rows_done, rows_now;
    V* slot;
    if (m == 1) {
        FN(dot_one_row)(n, k, a[0], b, bias, c);
        return;
    }
    for (rows_done = 0; rows_done < m; rows_done += rows_now) {
        rows_now = m - rows_done < DOT_ROW_TILES * DOT_MR ? m - rows_done : DOT_ROW_TILES * DOT_MR;
        for (jb = 0; jb < n; jb += dot_block * DOT_NR) {
            for (p0 = 0; p0 < k; p0 = p1) {
                p1 = k - p0 > chunk_length ? p0 + chunk_length : k;
                if (prefetch != NULL && PREFETCH_WHERE(SINGLE) && jb == 0 && rows_done == 0) {
                    prefetch_share(PREFETCH_WHERE(SINGLE), prefetch, prefetch_rows, prefetch_bytes, chunk_index,
                                   chunk_index + 1, chunks);
                    chunk_index++;
                }
                first = p0 == 0;
                last = p1 == k;
                tile = 0;
                for (i0 = rows_done; i0 < rows_done + rows_now; i0 += DOT_MR) {
                    m_valid = rows_done + rows_now - i0 < DOT_MR ? rows_done + rows_now - i0 : DOT_MR;
                    for (r = 0; r < DOT_MR; r++) ap[r] = a[i0 + (r < m_valid ? r : m_valid - 1)];
                    for (j0 = jb; j0 < n && j0 < jb + dot_block * DOT_NR; j0 += DOT_NR, tile++) {
                        n_valid = n - j0 < DOT_NR ? n - j0 : DOT_NR;
                        for (r = 0; r < DOT_NR; r++) bp[r] = b[j0 + (r < n_valid ? r : n_valid - 1)];
                        slot = saved + tile * DOT_MR * DOT_NR;
                        /* A short last block of rows gets a tile of its own height, so that a
                         * single row (one example) does not pay for DOT_MR. */
                        switch (m_valid) {
                        case 1: FN(dot_tile)(1, DOT_NR, ap, bp, p0, p1, k, slot, first, last, bias != NULL ? bias + j0 : NULL, c + i0 * ldc + j0, ldc, m_valid, n_valid); break;
                        case 2: FN(dot_tile)(2, DOT_NR, ap, bp, p0, p1, k, slot, first, last, bias != NULL ? bias + j0 : NULL, c + i0 * ldc + j0, ldc, m_valid, n_valid); break;
#if DOT_MR > 3
                        case 3: FN(dot_tile)(3, DOT_NR, ap, bp, p0, p1, k, slot, first, last, bias != NULL ? bias + j0 : NULL, c + i0 * ldc + j0, ldc, m_valid, n_valid); break;
#endif
#if DOT_MR > 4
                        case 4: FN(dot_tile)(4, DOT_NR, ap, bp, p0, p1, k, slot, first, last, bias != NULL ? bias + j0 : NULL, c + i0 * ldc + j0, ldc, m_valid, n_valid); break;
#endif
                        default: FN(dot_tile)(DOT_MR, DOT_NR, ap, bp, p0, p1, k, slot, first, last, bias != NULL ? bias + j0 : NULL, c + i0 * ldc + j0, ldc, m_valid, n_valid);
                        }
                    }
                }
            }
        }
    }
}

#undef DOT_ROW_TILES
