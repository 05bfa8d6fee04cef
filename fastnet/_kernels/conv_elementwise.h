/* The activations and their derivatives, vectorised, for conv_variant.h: conv.h's activate,
 * and the derivative conv_pool2x2.h takes inside the spread back.
 *
 * Both the sigmoid and tanh are built on e^y - 1 for y <= 0: y = n ln 2 + r with
 * n = round(y / ln 2), |r| <= ln(2)/2 (ln 2 in two parts, the high one exact times n), and
 * e^r - 1 = r (1 + r/2! + ... ) from its Taylor series, to r^13 in double and r^7 in float,
 * where the rest is below half an ulp.  Then e^y - 1 is the series itself where n = 0 (|y|
 * below ln(2)/2: exact to an ulp or two however tiny y is, which tanh needs), and
 * 2^n (1 + (e^r - 1)) - 1 elsewhere (at least 0.29 in size: a few ulps; 2^n times a number
 * near 1 stays normal, which the AVX2 form of 2^n needs):
 *   sigmoid(z) = 1 / (1 + e) for z >= 0, e / (1 + e) for z < 0, with e = e^-|z|  (as
 *                training.pyx writes it: exp never overflows)
 *   tanh(z)    = -m / (2 + m) with m = e^(-2|z|) - 1, the sign of z put back
 * y is clamped where 2^n stays a normal number (beyond it e^y is below the precision of 1).
 * NaN goes through as NaN.
 */
#include "tiles_exp.h"

#if CONV_AVX512 && SINGLE
#define CONV_KEEP_POSITIVE(a, d) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ), d)
#elif CONV_AVX512
#define CONV_KEEP_POSITIVE(a, d) _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(a, _mm512_setzero_pd(), _CMP_GT_OQ), d)
#elif SINGLE
#define CONV_KEEP_POSITIVE(a, d) _mm256_and_ps(_mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_GT_OQ), d)
#else
#define CONV_KEEP_POSITIVE(a, d) _mm256_and_pd(_mm256_cmp_pd(a, _mm256_setzero_pd(), _CMP_GT_OQ), d)
#endif

static FASTNET_INLINE TARGET V FN(conv_sigmoid_vector)(V z)
{
    V n, r = FN(exp_reduce)(VSUB(VZERO(), VABS(z)), &n);
    V e = VSCALE2(VADD(VMUL(FN(exp_series)(r), r), VSET1(1)), n);
    V s = VDIV(VSET1(1), VADD(VSET1(1), e));
    return VKEEP_NAN(z, VSELECT_GE0(z, s, VMUL(e, s)));
}

static FASTNET_INLINE TARGET V FN(conv_tanh_vector)(V z)
{
    V n, r = FN(exp_reduce)(VMUL(VSET1(-2), VABS(z)), &n);
    V q = VMUL(FN(exp_series)(r), r);           /* e^r - 1 */
    V m = VSELECT_GE0(n, q, VSUB(VSCALE2(VADD(q, VSET1(1)), n), VSET1(1)));
    V t = VDIV(VSUB(VZERO(), m), VADD(VSET1(2), m));
    return VKEEP_NAN(z, VSELECT_GE0(z, t, VSUB(VZERO(), t)));
}

static FASTNET_INLINE TARGET V FN(conv_activate_vector)(const int kind, V z)
{
    if (kind == FASTNET_CONV_SIGMOID) return FN(conv_sigmoid_vector)(z);
    if (kind == FASTNET_CONV_TANH) return FN(conv_tanh_vector)(z);
    if (kind == FASTNET_CONV_RELU) return VMAX(z, VZERO());      /* NaN -> 0, as z > 0 ? z : 0 */
    return z;
}

static FASTNET_INLINE TARGET void FN(conv_activate_all)(const int kind, T* x, ptrdiff_t count)
{
    ptrdiff_t i;
    for (i = 0; i + VL <= count; i += VL)
        VSTORE(x + i, FN(conv_activate_vector)(kind, VLOAD(x + i)));
    if (i < count) {
        M tail = MASK((int) (count - i));
        VSTOREM(x + i, tail, FN(conv_activate_vector)(kind, VLOADM(x + i, tail)));
    }
}

TARGET static void FN(activate)(int kind, T* x, ptrdiff_t count)
{
    /* One loop per kind, each with its activation inlined. */
    if (kind == FASTNET_CONV_SIGMOID) FN(conv_activate_all)(FASTNET_CONV_SIGMOID, x, count);
    else if (kind == FASTNET_CONV_TANH) FN(conv_activate_all)(FASTNET_CONV_TANH, x, count);
    else if (kind == FASTNET_CONV_RELU) FN(conv_activate_all)(FASTNET_CONV_RELU, x, count);
}

static FASTNET_INLINE TARGET V FN(conv_derivative_vector)(const int kind, V da, V a)
{
    if (kind == FASTNET_CONV_SIGMOID) return VMUL(da, VMUL(a, VSUB(VSET1(1), a)));
    if (kind == FASTNET_CONV_TANH) return VMUL(da, VSUB(VSET1(1), VMUL(a, a)));
    if (kind == FASTNET_CONV_RELU) return CONV_KEEP_POSITIVE(a, da);
    return da;
}

#undef EXP_LOWEST
#undef EXP_LN2_HI
#undef EXP_LN2_LO
#undef EXP_LOG2E
