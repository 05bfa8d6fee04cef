/* Axpy rows (BLAS's fused axpys, axpyf), for tiles_variant.h:
 *
 *   C[r][p] = beta C[r][p] + sum_s S(r, s) B_s[p],  S(r, s) = s_values[r s_row_step + s s_col_step]
 *
 * the backward products: the deltas D W of the layer below and the weights' step
 * s D^T A.  The vectors run along C's rows.  Block sizes: AXPY_RR x AXPY_KV.
 */
#if AXPY_KV > 6
#error "axpy rows: the switch on what is left of a row has cases 1 to 5 only: add cases for AXPY_KV > 6"
#endif
#if AXPY_RR < 1 || AXPY_KV < 1
#error "axpy rows: AXPY_RR and AXPY_KV must be at least 1"
#endif

/*
 * axpy rows: C[r][p] = beta C[r][p] + sum_s S(r, s) B_s[p]
 *
 * A tile of RR rows of C by KV vectors along p keeps RR x KV accumulators; each
 * term s loads KV vectors of B_s and broadcasts RR scalars S(r, s), for RR * KV
 * fused multiply-adds.  KV_ is AXPY_KV for whole groups of vectors, or what is
 * left at the end of a row, whose last vector is then `masked` by `tail`.  Rows
 * of C past the edge repeat the last real row's scalars and are not stored.
 */
static FASTNET_INLINE TARGET void FN(axpy_tile)(const int KV_, const int masked, M tail, int p,
                                                 int r_valid, const T* const* s_rows,
                                                 ptrdiff_t s_col_step, int terms,
                                                 const T* const* b, T beta, T* const* c_rows)
{
    V acc[AXPY_RR][AXPY_KV];
    V bv[AXPY_KV];
    V scale;
    int r, v, s;
#define AXPY_LOAD(ptr, v) (masked && (v) == KV_ - 1 ? VLOADM((ptr) + p + (v) * VL, tail) \
                                                    : VLOAD((ptr) + p + (v) * VL))
    if (beta == 0) {
        FASTNET_UNROLL for (r = 0; r < AXPY_RR; r++)
            FASTNET_UNROLL for (v = 0; v < KV_; v++) acc[r][v] = VZERO();
    } else if (beta == 1) {
        FASTNET_UNROLL for (r = 0; r < AXPY_RR; r++)
            FASTNET_UNROLL for (v = 0; v < KV_; v++) acc[r][v] = AXPY_LOAD(c_rows[r], v);
    } else {
        V vbeta = VSET1(beta);
        FASTNET_UNROLL for (r = 0; r < AXPY_RR; r++)
            FASTNET_UNROLL for (v = 0; v < KV_; v++) acc[r][v] = VMUL(vbeta, AXPY_LOAD(c_rows[r], v));
    }
    for (s = 0; s < terms; s++) {
        FASTNET_UNROLL for (v = 0; v < KV_; v++) bv[v] = AXPY_LOAD(b[s], v);
        FASTNET_UNROLL for (r = 0; r < AXPY_RR; r++) {
            scale = VSET1(s_rows[r][s * s_col_step]);
            FASTNET_UNROLL for (v = 0; v < KV_; v++) acc[r][v] = VFMA(scale, bv[v], acc[r][v]);
        }
    }
    FASTNET_UNROLL for (r = 0; r < AXPY_RR; r++) {
        if (r < r_valid) {
            FASTNET_UNROLL for (v = 0; v < KV_; v++) {
                if (masked && v == KV_ - 1) VSTOREM(c_rows[r] + p + v * VL, tail, acc[r][v]);
                else VSTORE(c_rows[r] + p + v * VL, acc[r][v]);
            }
        }
    }
#undef AXPY_LOAD
}

/* The sweep goes along the rows in chunks of axpy_chunk groups of AXPY_KV vectors
 * (fastnet_tuning_in_use's) and, within a chunk, over every tile of rows of C: the chunk of every B_s (a mini-batch's
 * inputs, say) is read from memory once and then stays in the L1 cache, while
 * C streams through.  If `prefetch` is given, each chunk also asks for its share
 * of those rows (the next mini-batch's inputs), so that they arrive while this
 * one computes. */

TARGET static void FN(axpy_rows)(int rows, int k, int terms, const T* s_values, ptrdiff_t s_row_step,
                          ptrdiff_t s_col_step, const T* const* b, T beta, T* c, ptrdiff_t ldc,
                          const char* const* prefetch, int prefetch_rows, ptrdiff_t prefetch_bytes)
{
    const T* s_rows[AXPY_RR];
    T* c_rows[AXPY_RR];
    const int chunk_vectors = fastnet_tuning_in_use.axpy_chunk * AXPY_KV;
    int vectors = (k + VL - 1) / VL;
    int chunks = (vectors + chunk_vectors - 1) / chunk_vectors;
    int chunk, r0, r, r_valid, v, v_end, left;
    M tail = MASK(k - (vectors - 1) * VL);     /* the lanes of the last vector in use */
    for (chunk = 0; chunk < chunks; chunk++) {
        if (prefetch != NULL && PREFETCH_WHERE(SINGLE))
            prefetch_share(PREFETCH_WHERE(SINGLE), prefetch, prefetch_rows, prefetch_bytes, chunk, chunk + 1, chunks);
        v_end = (chunk + 1) * chunk_vectors < vectors ? (chunk + 1) * chunk_vectors : vectors;
        for (r0 = 0; r0 < rows; r0 += AXPY_RR) {
            r_valid = rows - r0 < AXPY_RR ? rows - r0 : AXPY_RR;
            for (r = 0; r < AXPY_RR; r++) {
                int row = r0 + (r < r_valid ? r : r_valid - 1);
                s_rows[r] = s_values + row * s_row_step;
                c_rows[r] = c + row * ldc;
            }
            /* Whole groups whose vectors are all full, then one group of what is left. */
            for (v = chunk * chunk_vectors; v + AXPY_KV <= v_end && (v + AXPY_KV) * VL <= k; v += AXPY_KV)
                FN(axpy_tile)(AXPY_KV, 0, tail, v * VL, r_valid, s_rows, s_col_step, terms,
                              b, beta, c_rows);
            left = v_end - v;
            if (left > 0) {
                int last_is_full = v_end * VL <= k;
                switch (left) {
#define AXPY_REST(n) case n: if (last_is_full) FN(axpy_tile)(n, 0, tail, v * VL, r_valid, s_rows, \
                             s_col_step, terms, b, beta, c_rows); \
                             else FN(axpy_tile)(n, 1, tail, v * VL, r_valid, s_rows, s_col_step, \
                             terms, b, beta, c_rows); break;
                AXPY_REST(1)
#if AXPY_KV > 2
                AXPY_REST(2)
#endif
#if AXPY_KV > 3
                AXPY_REST(3)
#endif
#if AXPY_KV > 4
                AXPY_REST(4)
#endif
#if AXPY_KV > 5
                AXPY_REST(5)
#endif
                default: if (last_is_full) FN(axpy_tile)(AXPY_KV, 0, tail, v * VL, r_valid, s_rows,
                                                         s_col_step, terms, b, beta, c_rows);
                         else FN(axpy_tile)(AXPY_KV, 1, tail, v * VL, r_valid, s_rows,
                                            s_col_step, terms, b, beta, c_rows);
#undef AXPY_REST
                }
            }
        }
    }
}

