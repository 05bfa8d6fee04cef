/* The column forms (BLIS's sup-rv: vectors along the outputs, no sum across lanes),
 * for tiles_variant.h.  Block sizes: COLS_MR x COLS_CV, or the wide COLS_WIDE_MR x
 * COLS_WIDE_CV where the instruction set defines it (rows times matrix), and
 * UPDATE_TERMS x UPDATE_CV (rank update).
 */
#if COLS_MR > 12
#error "rows times matrix: the switch on a block of rows has cases 1 to 12 only"
#endif
#if UPDATE_TERMS > 12
#error "rank update: the switch on a short last group of terms has cases 1 to 11 only: add cases for UPDATE_TERMS > 12"
#endif
#if COLS_CV < 1 || COLS_CV > 4 || UPDATE_CV < 1 || UPDATE_CV > 2
#error "rows times matrix takes tiles of 1 to 4 vectors (COLS_CV), the rank update 1 or 2 (UPDATE_CV)"
#endif
#ifndef COLS_WIDE_MR                    /* no wide tile: the narrow one in its place */
#define COLS_WIDE_MR COLS_MR
#define COLS_WIDE_CV COLS_CV
#endif
#if COLS_WIDE_MR > 12 || COLS_WIDE_CV < 1 || COLS_WIDE_CV > 4
#error "rows times matrix: the wide tile must have 1 to 12 rows and 1 to 4 vectors"
#endif
#define COLS_TILE_MR (COLS_MR > COLS_WIDE_MR ? COLS_MR : COLS_WIDE_MR)
#define COLS_TILE_CV (COLS_CV > COLS_WIDE_CV ? COLS_CV : COLS_WIDE_CV)
#if COLS_MR < 1 || UPDATE_TERMS < 1
#error "COLS_MR and UPDATE_TERMS must be at least 1"
#endif

/*
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
 * The forward keeps COLS_MR rows by COLS_CV vectors of sums (or the wide tile's)
 * in registers while B streams past; the update keeps UPDATE_TERMS rows by UPDATE_CV vectors of
 * alpha D in registers while each row of C is loaded, updated and stored once.
 * ROW_LINE values of a row of A make one 64-byte cache line: the forward's
 * `prefetch` asks for its rows' share of lines that often (see dot rows).
 */
#define ROW_LINE (64 / (int) sizeof(T))
/* Vectors of sums the forward keeps between stretches of p (columns_chunk); a product with
 * more tiles than this takes p whole, as with no chunks. */
#define COLS_SAVED 512

/* MR rows of C by CV vectors over p in [p0, p1) of k; the last vector `masked` by `tail`
 * (loads of bias, stores of C).  The sums start from zero (p0 == 0) or from `saved`,
 * where the tile left them; they end in `saved` or, at p1 == k, scaled in C. */
static FASTNET_INLINE TARGET void FN(times_matrix_tile)(const int MR, const int CV, int p0,
                                                        int p1, int k, const T* const* a,
                                                        const T* b, ptrdiff_t ldb, T scale,
                                                        const T* bias, int masked, M tail,
                                                        T* c, ptrdiff_t ldc, V* saved,
                                                        const char* const* prefetch,
                                                        int prefetch_rows,
                                                        ptrdiff_t prefetch_bytes)
{
    V acc[COLS_TILE_MR][COLS_TILE_CV];
    V bv[COLS_TILE_CV];
    V s, sum, vscale = VSET1(scale);
    const T* ap[COLS_TILE_MR];
    int i, v, r, p = p0, p_end, last;
    FASTNET_UNROLL for (i = 0; i < MR; i++) {
        ap[i] = a[i];
        FASTNET_UNROLL for (v = 0; v < CV; v++) acc[i][v] = p0 == 0 ? VZERO() : saved[i * CV + v];
    }
    while (p < p1) {
        p_end = prefetch == NULL ? p1 : p1 - p > ROW_LINE ? p + ROW_LINE : p1;
        if (prefetch != NULL && prefetch_bytes == (ptrdiff_t) k * (ptrdiff_t) sizeof(T)) {
            /* Next rows as wide as A's (the usual case): the same line of each as this stretch
             * of A, a fixed count of requests with no division.  prefetch_share's varying
             * count of lines per row costs mispredicted branches in the middle of the sums:
             * this way the float32 forward took 0.71-0.74 of the time it took through
             * prefetch_share (C harness, alternating runs, Intel Xeon family 6 model 207). */
            if (PREFETCH_WHERE(SINGLE) == FASTNET_PREFETCH_TO_L2)
                for (r = 0; r < prefetch_rows; r++) FASTNET_PREFETCH_L2(prefetch[r] + p * (ptrdiff_t) sizeof(T));
            else
                for (r = 0; r < prefetch_rows; r++) FASTNET_PREFETCH(prefetch[r] + p * (ptrdiff_t) sizeof(T));
        } else if (prefetch != NULL)
            prefetch_share(PREFETCH_WHERE(SINGLE), prefetch, prefetch_rows, prefetch_bytes, p, p_end, k);
        for (; p < p_end; p++) {
            FASTNET_UNROLL for (v = 0; v < CV; v++) bv[v] = VLOAD(b + p * ldb + v * VL);
            FASTNET_UNROLL for (i = 0; i < MR; i++) {
                s = VSET1(ap[i][p]);
                FASTNET_UNROLL for (v = 0; v < CV; v++) acc[i][v] = VFMA(s, bv[v], acc[i][v]);
            }
        }
    }
    if (p1 < k) {
        FASTNET_UNROLL for (i = 0; i < MR; i++)
            FASTNET_UNROLL for (v = 0; v < CV; v++) saved[i * CV + v] = acc[i][v];
        return;
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

/* Every tile of C over p in [p0, p1), in tiles of at most MR_MAX rows by CV_MAX vectors
 * (constants once inlined: the switches below keep only the cases those allow). */
static FASTNET_INLINE TARGET void FN(times_matrix_pass)(const int MR_MAX, const int CV_MAX,
                                                        int p0, int p1, int m, int n, int k,
                                                        const T* const* a, const T* b,
                                                        ptrdiff_t ldb, T scale, const T* bias,
                                                        T* c, ptrdiff_t ldc, V* saved,
                                                        const char* const* prefetch,
                                                        int prefetch_rows,
                                                        ptrdiff_t prefetch_bytes)
{
    int vectors = (n + VL - 1) / VL;
    M tail = MASK(n - (vectors - 1) * VL);
    int v0, i0, cv, mr, masked, tile = 0;
    const char* const* pf;
    for (v0 = 0; v0 < vectors; v0 += CV_MAX) {
        cv = vectors - v0 < CV_MAX ? vectors - v0 : CV_MAX;
        masked = v0 + cv == vectors && n % VL != 0;
        for (i0 = 0; i0 < m; i0 += MR_MAX, tile++) {
            mr = m - i0 < MR_MAX ? m - i0 : MR_MAX;
            pf = v0 == 0 && i0 == 0 && PREFETCH_WHERE(SINGLE) ? prefetch : NULL;
#define TIMES_TILE(rows, vecs) FN(times_matrix_tile)(rows, vecs, p0, p1, k, a + i0, \
                b + v0 * VL, ldb, scale, bias != NULL ? bias + v0 * VL : NULL, masked, tail, \
                c + i0 * ldc + v0 * VL, ldc, saved + tile * MR_MAX * CV_MAX, pf, prefetch_rows, \
                prefetch_bytes)
#if COLS_TILE_CV > 2                    /* a last block of 1 to CV_MAX vectors */
#define TIMES_NARROWER(rows) \
                else if (CV_MAX > 3 && cv == 3) TIMES_TILE(rows, COLS_TILE_CV > 3 ? 3 : 1); \
                else if (CV_MAX > 2 && cv == 2) TIMES_TILE(rows, 2);
#else
#define TIMES_NARROWER(rows)
#endif
#define TIMES_CASE(rows) case rows: \
            if (rows <= MR_MAX) { \
                if (cv == CV_MAX) TIMES_TILE(rows, CV_MAX); \
                TIMES_NARROWER(rows) \
                else TIMES_TILE(rows, 1); \
            } \
            break;
            switch (mr) {
#if COLS_TILE_MR > 1
            TIMES_CASE(1)
#endif
#if COLS_TILE_MR > 2
            TIMES_CASE(2)
#endif
#if COLS_TILE_MR > 3
            TIMES_CASE(3)
#endif
#if COLS_TILE_MR > 4
            TIMES_CASE(4)
#endif
#if COLS_TILE_MR > 5
            TIMES_CASE(5)
#endif
#if COLS_TILE_MR > 6
            TIMES_CASE(6)
#endif
#if COLS_TILE_MR > 7
            TIMES_CASE(7)
#endif
#if COLS_TILE_MR > 8
            TIMES_CASE(8)
#endif
#if COLS_TILE_MR > 9
            TIMES_CASE(9)
#endif
#if COLS_TILE_MR > 10
            TIMES_CASE(10)
#endif
#if COLS_TILE_MR > 11
            TIMES_CASE(11)
#endif
            default: TIMES_CASE(COLS_TILE_MR)
            }
#undef TIMES_CASE
#undef TIMES_NARROWER
#undef TIMES_TILE
        }
    }
}

/* The narrow tile (COLS_MR x COLS_CV) reads each row of A once per COLS_CV vectors of
 * the outputs; the wide one (COLS_WIDE_MR x COLS_WIDE_CV), used where the table asks
 * for it (columns_wide) and a row of C has more than COLS_CV vectors, reads each row of
 * B once per COLS_WIDE_MR rows instead, whole lines in order.  Every sum is the same
 * either way: along p, from p = 0, then scaled. */
TARGET static void FN(rows_times_matrix)(int m, int n, int k, const T* const* a, const T* b,
                                  ptrdiff_t ldb, T scale, const T* bias, T* c, ptrdiff_t ldc,
                                  const char* const* prefetch, int prefetch_rows,
                                  ptrdiff_t prefetch_bytes)
{
    int vectors = (n + VL - 1) / VL;
    int wide = fastnet_tuning_in_use.columns_wide && vectors > COLS_CV;
    int mr = wide ? COLS_WIDE_MR : COLS_MR, cv = wide ? COLS_WIDE_CV : COLS_CV;
    int p0, p1, chunk = fastnet_tuning_in_use.columns_chunk;
    V saved[COLS_SAVED];
    int tiles = (vectors + cv - 1) / cv * ((m + mr - 1) / mr);
    if (chunk <= 0 || chunk >= k || tiles * mr * cv > COLS_SAVED) chunk = k;
    p0 = 0;
    do {                                /* once even when k is 0: C is then the bias */
        p1 = k - p0 > chunk ? p0 + chunk : k;
        if (wide)
            FN(times_matrix_pass)(COLS_WIDE_MR, COLS_WIDE_CV, p0, p1, m, n, k, a, b, ldb, scale,
                                  bias, c, ldc, saved, prefetch, prefetch_rows, prefetch_bytes);
        else
            FN(times_matrix_pass)(COLS_MR, COLS_CV, p0, p1, m, n, k, a, b, ldb, scale, bias,
                                  c, ldc, saved, prefetch, prefetch_rows, prefetch_bytes);
        p0 = p1;
    } while (p0 < k);
}

/* TERMS rows of D (terms s0 .. s0+TERMS of the sum) by CV vectors, over all k rows of C;
 * D's last vector `masked` by `tail` (read as zeros past n).  A row's terms are
 * summed in two chains, the even terms onto the row and the odd ones apart, added
 * at the end: one chain of ten dependent fused multiply-adds keeps a row 40 cycles
 * in flight (Zen 5), more than the out-of-order window hides.  Measured on the
 * book's network, whole epochs: 0.97 (float64) and 0.98 (float32) of the time. */
static FASTNET_INLINE TARGET void FN(rank_update_tile)(const int TERMS, const int CV, int p0,
                                                       int k, const T* const* a, const T* d,
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
        ap[s] = a[s] + p0;
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
TARGET static void FN(rank_update)(int k, int n, int terms, const T* const* a, const T* d,
                            ptrdiff_t ldd, T alpha, T* c, ptrdiff_t ldc)
{
    int vectors = (n + VL - 1) / VL;
    M tail = MASK(n - (vectors - 1) * VL);
    int v0, s0, cv, group, masked, p0, kc;
    int chunk = fastnet_tuning_in_use.columns_chunk;
    if (chunk <= 0 || chunk > k) chunk = k;
    for (p0 = 0; p0 < k; p0 += chunk) {
        kc = k - p0 < chunk ? k - p0 : chunk;
    for (v0 = 0; v0 < vectors; v0 += UPDATE_CV) {
        cv = vectors - v0 < UPDATE_CV ? vectors - v0 : UPDATE_CV;
        masked = v0 + cv == vectors && n % VL != 0;
        for (s0 = 0; s0 < terms; s0 += UPDATE_TERMS) {
            group = terms - s0 < UPDATE_TERMS ? terms - s0 : UPDATE_TERMS;
#define UPDATE_CASE(rows) case rows: \
            if (cv == UPDATE_CV) FN(rank_update_tile)(rows, UPDATE_CV, p0, kc, a + s0, \
                d + s0 * ldd + v0 * VL, ldd, alpha, masked, tail, c + p0 * ldc + v0 * VL, ldc); \
            else FN(rank_update_tile)(rows, 1, p0, kc, a + s0, d + s0 * ldd + v0 * VL, ldd, \
                alpha, masked, tail, c + p0 * ldc + v0 * VL, ldc); \
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
}

#undef ROW_LINE
#undef COLS_SAVED
#undef COLS_TILE_MR
#undef COLS_TILE_CV
