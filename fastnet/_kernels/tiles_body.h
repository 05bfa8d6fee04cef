/* The kernels of tiles.h, written once over a vector type (tiles.c includes this
 * file once per instruction set and precision, with the macros below defined):
 *
 *   T, V, M      element, vector and lane-mask types; VL lanes per vector; SINGLE 1 for float
 *   FN(name)     the name with this variant's suffix;  TARGET  its target attribute
 *   VZERO() VSET1(x) VLOAD(p) VSTORE(p, v) VFMA(a, b, c) = a*b + c  VMUL VADD VDIV VMAX VSUM(v)
 *   MASK(n)      the first n lanes (n <= 0: none, n >= VL: all)
 *   VLOADM(p, m) VSTOREM(p, m, v)   masked: lanes outside m are read as 0 / not written
 *   VABS(v) VROUND(v) VSCALE2(p, n) = p * 2^n for integral n   VSELECT_GE0(z, a, b) = z >= 0 ? a : b
 *   VKEEP_NAN(z, v)  v, with z's NaN lanes passed through
 *   VSUB(a, b)   a - b
 *   DOT_MR x DOT_NR      the register tile of dot rows (rows of A x rows of B)
 *   AXPY_RR x AXPY_KV    the register tile of axpy rows (rows of C x vectors along a row)
 *   COLS_MR x COLS_CV    the register tile of rows times matrix (rows of C x vectors)
 *   UPDATE_TERMS x UPDATE_CV  the rows of D x vectors that rank update holds in registers
 *   FMA_CHAINS           how many independent accumulators fma_chain keeps in registers
 * and, from tiles.c for every variant: FASTNET_INLINE (forced inlining) and
 * prefetch_share (ask for a share of the next mini-batch's rows).  The variant's macros are
 * undefined at the end of this file.
 */

/* Unrolled loops keep a tile's accumulators in registers (GCC and Clang: the
 * loops over a tile have constant trip counts; Clang needs to be told to unroll
 * them fully, or its tiles stay in memory and run 3x slower). */
#ifndef FASTNET_UNROLL
#if defined(__clang__)
#define FASTNET_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define FASTNET_UNROLL _Pragma("GCC unroll 16")
#else
#define FASTNET_UNROLL
#endif
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

/* The sum along p is cut into chunks of at most DOT_CHUNK vectors (as equal as
 * can be: a last chunk of one or two vectors would cost a tile's saving and
 * summing for almost no work), and the tiles are
 * visited DOT_BLOCK columns of tiles at a time: for each chunk, every tile of
 * the block.  So a chunk of A's rows is read from memory once per block, and
 * the block's chunk of B once, both then staying in the L1 cache; without the
 * chunks, the rows of a 784-input layer (6 KB each) overflow it.  Between
 * chunks each tile's accumulators wait in `saved`.  If `prefetch` is given,
 * the first block's chunks ask for their shares of those rows (the next
 * mini-batch's inputs), as axpy rows does below. */
#define DOT_CHUNK 24
#define DOT_BLOCK 2
#define DOT_ROW_TILES 8                 /* up to 8 * DOT_MR rows in one pass */

TARGET void FN(dot_rows)(int m, int n, int k, const T* const* a, const T* const* b,
                         const T* bias, T* c, ptrdiff_t ldc, const char* const* prefetch,
                         int prefetch_rows, ptrdiff_t prefetch_bytes)
{
    int vectors = (k + VL - 1) / VL;
    int chunks = vectors > 0 ? (vectors + DOT_CHUNK - 1) / DOT_CHUNK : 1, chunk_index = 0;
    int chunk_length = (vectors + chunks - 1) / chunks * VL;     /* in elements */
    V saved[DOT_ROW_TILES * DOT_BLOCK * DOT_MR * DOT_NR];
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
        for (jb = 0; jb < n; jb += DOT_BLOCK * DOT_NR) {
            for (p0 = 0; p0 < k; p0 = p1) {
                p1 = k - p0 > chunk_length ? p0 + chunk_length : k;
                if (prefetch != NULL && jb == 0 && rows_done == 0) {
                    prefetch_share(prefetch, prefetch_rows, prefetch_bytes, chunk_index,
                                   chunk_index + 1, chunks);
                    chunk_index++;
                }
                first = p0 == 0;
                last = p1 == k;
                tile = 0;
                for (i0 = rows_done; i0 < rows_done + rows_now; i0 += DOT_MR) {
                    m_valid = rows_done + rows_now - i0 < DOT_MR ? rows_done + rows_now - i0 : DOT_MR;
                    for (r = 0; r < DOT_MR; r++) ap[r] = a[i0 + (r < m_valid ? r : m_valid - 1)];
                    for (j0 = jb; j0 < n && j0 < jb + DOT_BLOCK * DOT_NR; j0 += DOT_NR, tile++) {
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

#undef DOT_CHUNK
#undef DOT_BLOCK
#undef DOT_ROW_TILES

/* ---------------------------------------------------------------------------
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

/* The sweep goes along the rows in chunks of AXPY_CHUNK vectors and, within a
 * chunk, over every tile of rows of C: the chunk of every B_s (a mini-batch's
 * inputs, say) is read from memory once and then stays in the L1 cache, while
 * C streams through.  If `prefetch` is given, each chunk also asks for its share
 * of those rows (the next mini-batch's inputs), so that they arrive while this
 * one computes. */
#define AXPY_CHUNK (4 * AXPY_KV)

TARGET void FN(axpy_rows)(int rows, int k, int terms, const T* s_values, ptrdiff_t s_row_step,
                          ptrdiff_t s_col_step, const T* const* b, T beta, T* c, ptrdiff_t ldc,
                          const char* const* prefetch, int prefetch_rows, ptrdiff_t prefetch_bytes)
{
    const T* s_rows[AXPY_RR];
    T* c_rows[AXPY_RR];
    int vectors = (k + VL - 1) / VL;
    int chunks = (vectors + AXPY_CHUNK - 1) / AXPY_CHUNK;
    int chunk, r0, r, r_valid, v, v_end, left;
    M tail = MASK(k - (vectors - 1) * VL);     /* the lanes of the last vector in use */
    for (chunk = 0; chunk < chunks; chunk++) {
        if (prefetch != NULL)
            prefetch_share(prefetch, prefetch_rows, prefetch_bytes, chunk, chunk + 1, chunks);
        v_end = (chunk + 1) * AXPY_CHUNK < vectors ? (chunk + 1) * AXPY_CHUNK : vectors;
        for (r0 = 0; r0 < rows; r0 += AXPY_RR) {
            r_valid = rows - r0 < AXPY_RR ? rows - r0 : AXPY_RR;
            for (r = 0; r < AXPY_RR; r++) {
                int row = r0 + (r < r_valid ? r : r_valid - 1);
                s_rows[r] = s_values + row * s_row_step;
                c_rows[r] = c + row * ldc;
            }
            /* Whole groups whose vectors are all full, then one group of what is left. */
            for (v = chunk * AXPY_CHUNK; v + AXPY_KV <= v_end && (v + AXPY_KV) * VL <= k; v += AXPY_KV)
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

/* ---------------------------------------------------------------------------
 * The column forms, for weights kept transposed: B (or C) is k rows (one per
 * input) by n columns (one per output), each row padded to whole vectors.
 *
 *   rows times matrix  C[i][j] = scale sum_p A_i[p] B[p][j] + bias[j]   (Z = A W^T + b: forward)
 *   rank update        C[p][j] += alpha sum_i A_i[p] D_i[j]             (W^T += alpha A^T D)
 *
 * A layer's outputs then lie along the vectors: each A_i[p] is broadcast and
 * multiplies whole vectors of a row of B, so no sum is taken across lanes and
 * the sum along p needs no chunks.  For the book's first layer (784 inputs,
 * 30 outputs, mini-batches of 10), forward and update take 0.76 of the time of
 * the dot and axpy rows above, which sum along the 784 inputs.  The update has no beta: a
 * weight decay is carried as the forward's `scale` instead (training.pyx), so
 * that each row of C costs a load, the fused multiply-adds and a store.
 *
 * The forward keeps COLS_MR rows by COLS_CV vectors of sums in registers while
 * B streams past; the update keeps UPDATE_TERMS rows by UPDATE_CV vectors of
 * alpha D in registers while each row of C is loaded, updated and stored once.
 * ROW_LINE values of a row of A make one 64-byte cache line: the forward's
 * `prefetch` asks for its rows' share of lines that often (see dot rows).
 */
#define ROW_LINE (64 / (int) sizeof(T))

/* MR rows of C by CV vectors; the last vector `masked` by `tail` (loads of bias, stores of C). */
static FASTNET_INLINE TARGET void FN(times_matrix_tile)(const int MR, const int CV, int k,
                                                        const T* const* a, const T* b,
                                                        ptrdiff_t ldb, T scale, const T* bias,
                                                        int masked, M tail, T* c, ptrdiff_t ldc,
                                                        const char* const* prefetch,
                                                        int prefetch_rows,
                                                        ptrdiff_t prefetch_bytes)
{
    V acc[COLS_MR][COLS_CV];
    V bv[COLS_CV];
    V s, sum, vscale = VSET1(scale);
    const T* ap[COLS_MR];
    int i, v, p = 0, p_end, last;
    FASTNET_UNROLL for (i = 0; i < MR; i++) {
        ap[i] = a[i];
        FASTNET_UNROLL for (v = 0; v < CV; v++) acc[i][v] = VZERO();
    }
    while (p < k) {
        p_end = prefetch == NULL ? k : k - p > ROW_LINE ? p + ROW_LINE : k;
        if (prefetch != NULL) prefetch_share(prefetch, prefetch_rows, prefetch_bytes, p, p_end, k);
        for (; p < p_end; p++) {
            FASTNET_UNROLL for (v = 0; v < CV; v++) bv[v] = VLOAD(b + p * ldb + v * VL);
            FASTNET_UNROLL for (i = 0; i < MR; i++) {
                s = VSET1(ap[i][p]);
                FASTNET_UNROLL for (v = 0; v < CV; v++) acc[i][v] = VFMA(s, bv[v], acc[i][v]);
            }
        }
    }
    FASTNET_UNROLL for (i = 0; i < MR; i++) {
        FASTNET_UNROLL for (v = 0; v < CV; v++) {
            last = masked && v == CV - 1;
            if (bias != NULL)
                sum = VFMA(acc[i][v], vscale,
                           last ? VLOADM(bias + v * VL, tail) : VLOAD(bias + v * VL));
            else
                sum = VMUL(acc[i][v], vscale);
            if (last) VSTOREM(c + i * ldc + v * VL, tail, sum);
            else VSTORE(c + i * ldc + v * VL, sum);
        }
    }
}

TARGET void FN(rows_times_matrix)(int m, int n, int k, const T* const* a, const T* b,
                                  ptrdiff_t ldb, T scale, const T* bias, T* c, ptrdiff_t ldc,
                                  const char* const* prefetch, int prefetch_rows,
                                  ptrdiff_t prefetch_bytes)
{
    int vectors = (n + VL - 1) / VL;
    M tail = MASK(n - (vectors - 1) * VL);
    int v0, i0, cv, mr, masked;
    const char* const* pf;
    for (v0 = 0; v0 < vectors; v0 += COLS_CV) {
        cv = vectors - v0 < COLS_CV ? vectors - v0 : COLS_CV;
        masked = v0 + cv == vectors && n % VL != 0;
        for (i0 = 0; i0 < m; i0 += COLS_MR) {
            mr = m - i0 < COLS_MR ? m - i0 : COLS_MR;
            pf = v0 == 0 && i0 == 0 ? prefetch : NULL;
#define TIMES_CASE(rows) case rows: \
            if (cv == COLS_CV) FN(times_matrix_tile)(rows, COLS_CV, k, a + i0, b + v0 * VL, ldb, \
                scale, bias != NULL ? bias + v0 * VL : NULL, masked, tail, c + i0 * ldc + v0 * VL, \
                ldc, pf, prefetch_rows, prefetch_bytes); \
            else FN(times_matrix_tile)(rows, 1, k, a + i0, b + v0 * VL, ldb, scale, \
                bias != NULL ? bias + v0 * VL : NULL, masked, tail, c + i0 * ldc + v0 * VL, ldc, \
                pf, prefetch_rows, prefetch_bytes); \
            break;
            switch (mr) {
#if COLS_MR > 1
            TIMES_CASE(1)
#endif
#if COLS_MR > 2
            TIMES_CASE(2)
#endif
#if COLS_MR > 3
            TIMES_CASE(3)
#endif
#if COLS_MR > 4
            TIMES_CASE(4)
#endif
#if COLS_MR > 5
            TIMES_CASE(5)
#endif
#if COLS_MR > 6
            TIMES_CASE(6)
#endif
#if COLS_MR > 7
            TIMES_CASE(7)
#endif
#if COLS_MR > 8
            TIMES_CASE(8)
#endif
#if COLS_MR > 9
            TIMES_CASE(9)
#endif
#if COLS_MR > 10
            TIMES_CASE(10)
#endif
#if COLS_MR > 11
            TIMES_CASE(11)
#endif
            default: TIMES_CASE(COLS_MR)
            }
#undef TIMES_CASE
        }
    }
}

/* TERMS rows of D (terms s0 .. s0+TERMS of the sum) by CV vectors, over all k rows of C;
 * D's last vector `masked` by `tail` (read as zeros past n).  A row's terms are
 * summed in two chains, the even terms onto the row and the odd ones apart, added
 * at the end: one chain of ten dependent fused multiply-adds keeps a row 40 cycles
 * in flight (Zen 5), more than the out-of-order window hides.  Measured on the
 * book's network, whole epochs: 0.97 (float64) and 0.98 (float32) of the time. */
static FASTNET_INLINE TARGET void FN(rank_update_tile)(const int TERMS, const int CV, int k,
                                                       const T* const* a, const T* d,
                                                       ptrdiff_t ldd, T alpha, int masked,
                                                       M tail, T* c, ptrdiff_t ldc)
{
    V dv[UPDATE_TERMS][UPDATE_CV];
    V acc[UPDATE_CV];
    V x, valpha = VSET1(alpha);
    const T* ap[UPDATE_TERMS];
    int s, v, p;
    T* row;
    FASTNET_UNROLL for (s = 0; s < TERMS; s++) {
        ap[s] = a[s];
        FASTNET_UNROLL for (v = 0; v < CV; v++)
            dv[s][v] = VMUL(valpha, masked && v == CV - 1 ? VLOADM(d + s * ldd + v * VL, tail)
                                                          : VLOAD(d + s * ldd + v * VL));
    }
    V odd[UPDATE_CV];
    for (p = 0; p < k; p++) {
        row = c + p * ldc;
        FASTNET_UNROLL for (v = 0; v < CV; v++) acc[v] = VLOAD(row + v * VL);
        FASTNET_UNROLL for (s = 0; s < TERMS; s++) {
            x = VSET1(ap[s][p]);
            if (s % 2 == 0) {
                FASTNET_UNROLL for (v = 0; v < CV; v++) acc[v] = VFMA(x, dv[s][v], acc[v]);
            } else if (s == 1) {
                FASTNET_UNROLL for (v = 0; v < CV; v++) odd[v] = VMUL(x, dv[s][v]);
            } else {
                FASTNET_UNROLL for (v = 0; v < CV; v++) odd[v] = VFMA(x, dv[s][v], odd[v]);
            }
        }
        if (TERMS > 1) FASTNET_UNROLL for (v = 0; v < CV; v++) acc[v] = VADD(acc[v], odd[v]);
        FASTNET_UNROLL for (v = 0; v < CV; v++) VSTORE(row + v * VL, acc[v]);
    }
}

/* Whole vectors of C's rows are written (n rounded up to VL); their columns past n
 * get nothing added, as D's are read as zeros there. */
TARGET void FN(rank_update)(int k, int n, int terms, const T* const* a, const T* d,
                            ptrdiff_t ldd, T alpha, T* c, ptrdiff_t ldc)
{
    int vectors = (n + VL - 1) / VL;
    M tail = MASK(n - (vectors - 1) * VL);
    int v0, s0, cv, group, masked;
    for (v0 = 0; v0 < vectors; v0 += UPDATE_CV) {
        cv = vectors - v0 < UPDATE_CV ? vectors - v0 : UPDATE_CV;
        masked = v0 + cv == vectors && n % VL != 0;
        for (s0 = 0; s0 < terms; s0 += UPDATE_TERMS) {
            group = terms - s0 < UPDATE_TERMS ? terms - s0 : UPDATE_TERMS;
#define UPDATE_CASE(rows) case rows: \
            if (cv == UPDATE_CV) FN(rank_update_tile)(rows, UPDATE_CV, k, a + s0, \
                d + s0 * ldd + v0 * VL, ldd, alpha, masked, tail, c + v0 * VL, ldc); \
            else FN(rank_update_tile)(rows, 1, k, a + s0, d + s0 * ldd + v0 * VL, ldd, alpha, \
                masked, tail, c + v0 * VL, ldc); \
            break;
            switch (group) {
#if UPDATE_TERMS > 1
            UPDATE_CASE(1)
#endif
#if UPDATE_TERMS > 2
            UPDATE_CASE(2)
#endif
#if UPDATE_TERMS > 3
            UPDATE_CASE(3)
#endif
#if UPDATE_TERMS > 4
            UPDATE_CASE(4)
#endif
#if UPDATE_TERMS > 5
            UPDATE_CASE(5)
#endif
#if UPDATE_TERMS > 6
            UPDATE_CASE(6)
#endif
#if UPDATE_TERMS > 7
            UPDATE_CASE(7)
#endif
#if UPDATE_TERMS > 8
            UPDATE_CASE(8)
#endif
#if UPDATE_TERMS > 9
            UPDATE_CASE(9)
#endif
#if UPDATE_TERMS > 10
            UPDATE_CASE(10)
#endif
#if UPDATE_TERMS > 11
            UPDATE_CASE(11)
#endif
            default: UPDATE_CASE(UPDATE_TERMS)
            }
#undef UPDATE_CASE
        }
    }
}

#undef ROW_LINE

/* ---------------------------------------------------------------------------
 * The sigmoid, vectorised
 *
 * sigmoid(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0, e = exp(-|z|),
 * as training.pyx's scalar sigmoid (exp never overflows, no branch).  exp(x)
 * for x <= 0 is 2^n exp(r): n = round(x / ln 2), r = x - n ln 2 taken in two
 * parts (ln 2's high part has trailing zero bits, so n * LN2_HI is exact) and
 * |r| <= ln(2)/2, where the Taylor series to r^13 (float: r^7) is below half
 * an ulp of its sum.  x is clamped where 2^n stays a normal number; exp of
 * anything below is below 1e-304 (float: 1e-37) either way.
 */
#if SINGLE
#define EXP_LOWEST -86.0f
#define LN2_HI 0.693359375f
#define LN2_LO -2.12194440e-4f
#define LOG2E 1.44269504088896341f
#else
#define EXP_LOWEST -700.0
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define LOG2E 1.44269504088896338700e+00
#endif

static FASTNET_INLINE TARGET V FN(exp_nonpositive)(V x)
{
    V n, r, p;
    x = VMAX(VSET1(EXP_LOWEST), x);              /* NaN stays NaN (max takes its second) */
    n = VROUND(VMUL(x, VSET1(LOG2E)));
    r = VFMA(n, VSET1(-LN2_HI), x);
    r = VFMA(n, VSET1(-LN2_LO), r);
#if SINGLE
    p = VSET1(1.0f / 5040);
    p = VFMA(p, r, VSET1(1.0f / 720));
    p = VFMA(p, r, VSET1(1.0f / 120));
    p = VFMA(p, r, VSET1(1.0f / 24));
    p = VFMA(p, r, VSET1(1.0f / 6));
    p = VFMA(p, r, VSET1(0.5f));
    p = VFMA(p, r, VSET1(1.0f));
    p = VFMA(p, r, VSET1(1.0f));
#else
    p = VSET1(1.0 / 6227020800.0);
    p = VFMA(p, r, VSET1(1.0 / 479001600.0));
    p = VFMA(p, r, VSET1(1.0 / 39916800.0));
    p = VFMA(p, r, VSET1(1.0 / 3628800.0));
    p = VFMA(p, r, VSET1(1.0 / 362880.0));
    p = VFMA(p, r, VSET1(1.0 / 40320.0));
    p = VFMA(p, r, VSET1(1.0 / 5040.0));
    p = VFMA(p, r, VSET1(1.0 / 720.0));
    p = VFMA(p, r, VSET1(1.0 / 120.0));
    p = VFMA(p, r, VSET1(1.0 / 24.0));
    p = VFMA(p, r, VSET1(1.0 / 6.0));
    p = VFMA(p, r, VSET1(0.5));
    p = VFMA(p, r, VSET1(1.0));
    p = VFMA(p, r, VSET1(1.0));
#endif
    return VSCALE2(p, n);
}

static FASTNET_INLINE TARGET V FN(sigmoid)(V z)
{
    V e = FN(exp_nonpositive)(VSUB(VZERO(), VABS(z)));
    V s = VDIV(VSET1(1), VADD(VSET1(1), e));
    return VKEEP_NAN(z, VSELECT_GE0(z, s, VMUL(e, s)));
}

TARGET void FN(sigmoid_all)(T* z, ptrdiff_t count)
{
    ptrdiff_t i;
    for (i = 0; i + VL <= count; i += VL)
        VSTORE(z + i, FN(sigmoid)(VLOAD(z + i)));
    if (i < count) {
        M tail = MASK((int) (count - i));
        VSTOREM(z + i, tail, FN(sigmoid)(VLOADM(z + i, tail)));
    }
}

/* The bias part of a step: with totals[j] = sum_i D[i][j] (D's m rows of n added one
 * after another), sums[j] += totals[j] unless sums is NULL, and
 * b[j] = alpha totals[j] + beta b[j] (beta = 0: written, not read), the products
 * rounded apart as training.pyx's scalar loop rounds them. */
TARGET void FN(bias_step)(int m, int n, const T* d, T alpha, T beta, T* b, T* sums)
{
    int i, j;
    V total, step;
    M lanes;
    for (j = 0; j < n; j += VL) {
        lanes = MASK(n - j);
        total = VLOADM(d + j, lanes);
        for (i = 1; i < m; i++) total = VADD(total, VLOADM(d + (ptrdiff_t) i * n + j, lanes));
        if (sums != NULL) VSTOREM(sums + j, lanes, VADD(VLOADM(sums + j, lanes), total));
        step = VMUL(VSET1(alpha), total);
        if (beta != 0) step = VADD(step, VMUL(VSET1(beta), VLOADM(b + j, lanes)));
        VSTOREM(b + j, lanes, step);
    }
}

/* d[i] <- d[i] * (a[i] (1 - a[i])): the deltas times the sigmoid's slope, taken from its
 * outputs a (the backward half of the sigmoid), in this variant's precision. */
TARGET void FN(times_sigmoid_slope)(T* d, const T* a, ptrdiff_t count)
{
    V one = VSET1(1);
    ptrdiff_t i;
    for (i = 0; i + VL <= count; i += VL) {
        V av = VLOAD(a + i);
        VSTORE(d + i, VMUL(VLOAD(d + i), VMUL(av, VSUB(one, av))));
    }
    if (i < count) {
        M tail = MASK((int) (count - i));
        V av = VLOADM(a + i, tail);
        VSTOREM(d + i, tail, VMUL(VLOADM(d + i, tail), VMUL(av, VSUB(one, av))));
    }
}

/* Whether no value is NaN or infinite: x * 0 is 0 for a finite x and NaN otherwise,
 * summed in four running vectors (a mini-batch of 10 MNIST rows: about 0.1 us). */
TARGET int FN(all_finite)(const T* x, ptrdiff_t count)
{
    V zero = VZERO(), s0 = VZERO(), s1 = VZERO(), s2 = VZERO(), s3 = VZERO();
    ptrdiff_t i = 0;
    for (; i + 4 * VL <= count; i += 4 * VL) {
        s0 = VFMA(VLOAD(x + i), zero, s0);
        s1 = VFMA(VLOAD(x + i + VL), zero, s1);
        s2 = VFMA(VLOAD(x + i + 2 * VL), zero, s2);
        s3 = VFMA(VLOAD(x + i + 3 * VL), zero, s3);
    }
    for (; i + VL <= count; i += VL)
        s0 = VFMA(VLOAD(x + i), zero, s0);
    if (i < count)
        s1 = VFMA(VLOADM(x + i, MASK((int) (count - i))), zero, s1);
    return VSUM(VADD(VADD(s0, s1), VADD(s2, s3))) == 0;
}

/* FMA_CHAINS independent chains of fused multiply-adds, held in registers (with the
 * two constants, they fit in the vector registers this variant has): the machine's
 * peak, when nothing waits.  Returns the flops done. */
TARGET double FN(fma_chain)(long long rounds)
{
    V acc[FMA_CHAINS];
    V x = VSET1((T) 0.999999), y = VSET1((T) 1e-7);
    long long t;
    int i;
    T out[VL];
    double total = 0;
    FASTNET_UNROLL for (i = 0; i < FMA_CHAINS; i++) acc[i] = VSET1((T) i);
    for (t = 0; t < rounds; t++) {
        FASTNET_UNROLL for (i = 0; i < FMA_CHAINS; i++) acc[i] = VFMA(acc[i], x, y);
    }
    FASTNET_UNROLL for (i = 1; i < FMA_CHAINS; i++) acc[0] = VADD(acc[0], acc[i]);
    VSTORE(out, acc[0]);
    for (i = 0; i < VL; i++) total += out[i];
    fma_sink = total;                          /* so that the chains are not optimised away */
    return (double) rounds * FMA_CHAINS * 2 * VL;
}

#undef EXP_LOWEST
#undef LN2_HI
#undef LN2_LO
#undef LOG2E
#undef AXPY_CHUNK

/* The variant's macros, so that the next variant can define its own. */
#undef T
#undef V
#undef M
#undef VL
#undef SINGLE
#undef FN
#undef TARGET
#undef VZERO
#undef VSET1
#undef VLOAD
#undef VSTORE
#undef VLOADM
#undef VSTOREM
#undef MASK
#undef VFMA
#undef VMUL
#undef VADD
#undef VSUB
#undef VDIV
#undef VMAX
#undef VSUM
#undef VABS
#undef VROUND
#undef VSCALE2
#undef VSELECT_GE0
#undef VKEEP_NAN
#undef FMA_CHAINS
#undef DOT_MR
#undef DOT_NR
#undef AXPY_RR
#undef AXPY_KV
#undef COLS_MR
#undef COLS_CV
#undef UPDATE_TERMS
#undef UPDATE_CV
