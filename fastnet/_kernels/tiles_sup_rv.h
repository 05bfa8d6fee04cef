/* The column forms (BLIS's sup-rv: vectors along the outputs, no sum across lanes),
 * for tiles_variant.h.  Block sizes: COLS_MR x COLS_CV (rows times matrix) and
 * UPDATE_TERMS x UPDATE_CV (rank update).
 */
#if COLS_MR > 12
#error "rows times matrix: the switch on a short last block of rows has cases 1 to 11 only: add cases for COLS_MR > 12"
#endif
#if UPDATE_TERMS > 12
#error "rank update: the switch on a short last group of terms has cases 1 to 11 only: add cases for UPDATE_TERMS > 12"
#endif
#if COLS_CV < 1 || COLS_CV > 2 || UPDATE_CV < 1 || UPDATE_CV > 2
#error "the column forms take a last block of 1 vector or all COLS_CV (UPDATE_CV): these must be 1 or 2"
#endif
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
 * The forward keeps COLS_MR rows by COLS_CV vectors of sums in registers while
 * B streams past; the update keeps UPDATE_TERMS rows by UPDATE_CV vectors of
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
    V acc[COLS_MR][COLS_CV];
    V bv[COLS_CV];
    V s, sum, vscale = VSET1(scale);
    const T* ap[COLS_MR];
    int i, v, p = p0, p_end, last;
    FASTNET_UNROLL for (i = 0; i < MR; i++) {
        ap[i] = a[i];
        FASTNET_UNROLL for (v = 0; v < CV; v++) acc[i][v] = p0 == 0 ? VZERO() : saved[i * CV + v];
    }
    while (p < p1) {
        p_end = prefetch == NULL ? p1 : p1 - p > ROW_LINE ? p + ROW_LINE : p1;
        if (prefetch != NULL)
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

TARGET static void FN(rows_times_matrix)(int m, int n, int k, const T* const* a, const T* b,
                                  ptrdiff_t ldb, T scale, const T* bias, T* c, ptrdiff_t ldc,
                                  const char* const* prefetch, int prefetch_rows,
                                  ptrdiff_t prefetch_bytes)
{
    int vectors = (n + VL - 1) / VL;
    M tail = MASK(n - (vectors - 1) * VL);
    int v0, i0, cv, mr, masked, p0, p1, tile;
    int chunk = fastnet_tuning_in_use.columns_chunk;
    V saved[COLS_SAVED];
    const char* const* pf;
    int tiles = (vectors + COLS_CV - 1) / COLS_CV * ((m + COLS_MR - 1) / COLS_MR);
    if (chunk <= 0 || chunk >= k || tiles * COLS_MR * COLS_CV > COLS_SAVED) chunk = k;
    p0 = 0;
    do {                                /* once even when k is 0: C is then the bias */
        p1 = k - p0 > chunk ? p0 + chunk : k;
        tile = 0;
    for (v0 = 0; v0 < vectors; v0 += COLS_CV) {
        cv = vectors - v0 < COLS_CV ? vectors - v0 : COLS_CV;
        masked = v0 + cv == vectors && n % VL != 0;
        for (i0 = 0; i0 < m; i0 += COLS_MR, tile++) {
            mr = m - i0 < COLS_MR ? m - i0 : COLS_MR;
            pf = v0 == 0 && i0 == 0 && PREFETCH_WHERE(SINGLE) ? prefetch : NULL;
#define TIMES_CASE(rows) case rows: \
            if (cv == COLS_CV) FN(times_matrix_tile)(rows, COLS_CV, p0, p1, k, a + i0, b + v0 * VL, \
                ldb, scale, bias != NULL ? bias + v0 * VL : NULL, masked, tail, \
                c + i0 * ldc + v0 * VL, ldc, saved + tile * COLS_MR * COLS_CV, pf, prefetch_rows, \
                prefetch_bytes); \
            else FN(times_matrix_tile)(rows, 1, p0, p1, k, a + i0, b + v0 * VL, ldb, scale, \
                bias != NULL ? bias + v0 * VL : NULL, masked, tail, c + i0 * ldc + v0 * VL, ldc, \
                saved + tile * COLS_MR * COLS_CV, pf, prefetch_rows, prefetch_bytes); \
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
