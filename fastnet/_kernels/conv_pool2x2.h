/* Rows of 2 x 2 max-pooling windows and their spread back, vectorised, for conv_variant.h
 * (conv_pool.h takes them for its 2 x 2 windows, the book's).  A row of windows reads two
 * rows of z, top and bottom; a vector of VL windows reads 2 VL values of each, split into
 * the windows' left and right entries (even and odd columns).  The row's first largest
 * entry is then found as the first largest of the top pair unless the bottom pair's
 * largest is larger: the order of np.argmax over the window read row by row.  The spread
 * back interleaves again.  Whatever does not fill a vector is masked.
 */
#if CONV_AVX512 && SINGLE
#define P2_GT(a, b, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), y, x)
#define P2_EQ(a, b, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ), y, x)
#define P2_EVEN(lo, hi) _mm512_permutex2var_ps(lo, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), hi)
#define P2_ODD(lo, hi) _mm512_permutex2var_ps(lo, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), hi)
#define P2_ZIP_LO(a, b) _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b)
#define P2_ZIP_HI(a, b) _mm512_permutex2var_ps(a, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b)
#define P2_STORE_INT(p, n, v) _mm512_mask_storeu_epi32(p, MASK(n), _mm512_cvttps_epi32(v))
#define P2_STORE_INT_ALL(p, v) _mm512_storeu_si512((void*) (p), _mm512_cvttps_epi32(v))
#define P2_LOAD_INT(p, n) _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(MASK(n), p))
#elif CONV_AVX512
#define P2_GT(a, b, x, y) _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_GT_OQ), y, x)
#define P2_EQ(a, b, x, y) _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ), y, x)
#define P2_EVEN(lo, hi) _mm512_permutex2var_pd(lo, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), hi)
#define P2_ODD(lo, hi) _mm512_permutex2var_pd(lo, _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15), hi)
#define P2_ZIP_LO(a, b) _mm512_permutex2var_pd(a, _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11), b)
#define P2_ZIP_HI(a, b) _mm512_permutex2var_pd(a, _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15), b)
#define P2_STORE_INT(p, n, v) _mm256_mask_storeu_epi32(p, MASK(n), _mm512_cvttpd_epi32(v))
#define P2_STORE_INT_ALL(p, v) _mm256_storeu_si256((__m256i*) (p), _mm512_cvttpd_epi32(v))
#define P2_LOAD_INT(p, n) _mm512_cvtepi32_pd(_mm256_maskz_loadu_epi32(MASK(n), p))
#elif SINGLE
#define P2_GT(a, b, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GT_OQ))
#define P2_EQ(a, b, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_EQ_OQ))
#define P2_EVEN(lo, hi) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8))
#define P2_ODD(lo, hi) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xDD)), 0xD8))
#define P2_ZIP_LO(a, b) _mm256_permute2f128_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b), 0x20)
#define P2_ZIP_HI(a, b) _mm256_permute2f128_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b), 0x31)
#define P2_STORE_INT(p, n, v) _mm256_maskstore_epi32(p, MASK(n), _mm256_cvttps_epi32(v))
#define P2_STORE_INT_ALL(p, v) _mm256_storeu_si256((__m256i*) (p), _mm256_cvttps_epi32(v))
#define P2_LOAD_INT(p, n) _mm256_cvtepi32_ps(_mm256_maskload_epi32(p, MASK(n)))
#else
#define P2_GT(a, b, x, y) _mm256_blendv_pd(y, x, _mm256_cmp_pd(a, b, _CMP_GT_OQ))
#define P2_EQ(a, b, x, y) _mm256_blendv_pd(y, x, _mm256_cmp_pd(a, b, _CMP_EQ_OQ))
#define P2_EVEN(lo, hi) _mm256_permute4x64_pd(_mm256_unpacklo_pd(lo, hi), 0xD8)
#define P2_ODD(lo, hi) _mm256_permute4x64_pd(_mm256_unpackhi_pd(lo, hi), 0xD8)
#define P2_ZIP_LO(a, b) _mm256_permute2f128_pd(_mm256_unpacklo_pd(a, b), _mm256_unpackhi_pd(a, b), 0x20)
#define P2_ZIP_HI(a, b) _mm256_permute2f128_pd(_mm256_unpacklo_pd(a, b), _mm256_unpackhi_pd(a, b), 0x31)
#define P2_MASK4(n) _mm_cmpgt_epi32(_mm_set1_epi32(n), _mm_setr_epi32(0, 1, 2, 3))
#define P2_STORE_INT(p, n, v) _mm_maskstore_epi32(p, P2_MASK4(n), _mm256_cvttpd_epi32(v))
#define P2_STORE_INT_ALL(p, v) _mm_storeu_si128((__m128i*) (p), _mm256_cvttpd_epi32(v))
#define P2_LOAD_INT(p, n) _mm256_cvtepi32_pd(_mm_maskload_epi32(p, P2_MASK4(n)))
#endif

/* Up to 2 VL values of a row from p (n of them), as its even and odd entries (lanes past n
 * hold whatever follows in z, read whole where z goes on, and are not used). */
static FASTNET_INLINE TARGET void FN(pool2_split)(const T* p, int n, const T* end, V* even, V* odd)
{
    V lo, hi;
    if (p + 2 * VL <= end) {
        lo = VLOAD(p);
        hi = VLOAD(p + VL);
    } else {
        lo = VLOADM(p, MASK(n));
        hi = VLOADM(p + VL, MASK(n - VL));
    }
    *even = P2_EVEN(lo, hi);
    *odd = P2_ODD(lo, hi);
}

/* The vectors a and b interleaved into n values at p: written whole unless that would pass
 * `end` (what lies between is written later by the caller, which overwrites the spill), since
 * masked stores are slow on AMD's cores (AVX2's maskstore most of all). */
static FASTNET_INLINE TARGET void FN(pool2_join)(T* p, int n, const T* end, V a, V b)
{
    V lo = P2_ZIP_LO(a, b), hi = P2_ZIP_HI(a, b);
    if (p + 2 * VL <= end) {
        VSTORE(p, lo);
        VSTORE(p + VL, hi);
    } else {
        VSTOREM(p, MASK(n), lo);
        VSTOREM(p + VL, MASK(n - VL), hi);
    }
}

static FASTNET_INLINE TARGET void FN(pool_rows_2x2)(const T* top, const T* bottom, int ow,
                                                    T bias, T* out, int* where, const T* z_end,
                                                    const T* out_end)
{
    int j, n;
    V t0, t1, b0, b1, tbest, tat, bbest, bat, best, at;
    for (j = 0; j < ow; j += VL) {
        n = ow - j < VL ? ow - j : VL;
        FN(pool2_split)(top + 2 * j, 2 * n, z_end, &t0, &t1);
        FN(pool2_split)(bottom + 2 * j, 2 * n, z_end, &b0, &b1);
        tbest = P2_GT(t1, t0, t1, t0);
        tat = P2_GT(t1, t0, VSET1(1), VZERO());
        bbest = P2_GT(b1, b0, b1, b0);
        bat = P2_GT(b1, b0, VSET1(3), VSET1(2));
        best = P2_GT(bbest, tbest, bbest, tbest);
        at = P2_GT(bbest, tbest, bat, tat);
        /* out and where are written in order (where alongside out, as long): whole vectors
         * unless past their ends */
        if (out + j + VL <= out_end) {
            VSTORE(out + j, VADD(best, VSET1(bias)));
            P2_STORE_INT_ALL(where + j, at);
        } else {
            VSTOREM(out + j, MASK(n), VADD(best, VSET1(bias)));
            P2_STORE_INT(where + j, n, at);
        }
    }
}

/* delta = da f'(z) is taken on the way (masked: zero past n).  The top row's last vector stops
 * at the bottom row (written already when it spills there); the bottom row's spills land
 * where the caller writes next. */
static FASTNET_INLINE TARGET T FN(unpool_rows_2x2)(const T* da, const T* a, int kind,
                                                   const int* where, int ow, T* top, T* bottom,
                                                   const T* dz_end)
{
    int j, n;
    V total = VZERO(), d, at, zero = VZERO();
    for (j = 0; j < ow; j += VL) {
        n = ow - j < VL ? ow - j : VL;
        if (n == VL) d = FN(conv_derivative_vector)(kind, VLOAD(da + j), VLOAD(a + j));
        else d = FN(conv_derivative_vector)(kind, VLOADM(da + j, MASK(n)), VLOADM(a + j, MASK(n)));
        at = P2_LOAD_INT(where + j, n);
        total = VADD(total, d);
        FN(pool2_join)(top + 2 * j, 2 * n, bottom, P2_EQ(at, zero, d, zero),
                       P2_EQ(at, VSET1(1), d, zero));
        FN(pool2_join)(bottom + 2 * j, 2 * n, dz_end, P2_EQ(at, VSET1(2), d, zero),
                       P2_EQ(at, VSET1(3), d, zero));
    }
    return VSUM(total);
}

#undef P2_GT
#undef P2_EQ
#undef P2_EVEN
#undef P2_ODD
#undef P2_ZIP_LO
#undef P2_ZIP_HI
#undef P2_STORE_INT
#undef P2_STORE_INT_ALL
#undef P2_LOAD_INT
#undef P2_MASK4
#undef CONV_KEEP_POSITIVE
