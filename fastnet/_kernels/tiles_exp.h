/* e^x for x <= 0, vectorised, in the two parts the kernels combine: tiles_elementwise.h's
 * sigmoid takes e^x itself, conv_elementwise.h's sigmoid and tanh take e^x - 1 as well.
 *
 * x = n ln 2 + r: n = round(x / ln 2), r = x - n ln 2 taken in two parts (ln 2's high
 * part has trailing zero bits, so n * EXP_LN2_HI is exact) and |r| <= ln(2)/2, where the
 * Taylor series of e^r to r^13 (float: r^7) is below half an ulp of its sum.  x is
 * clamped where 2^n stays a normal number; e^x of anything below is below 1e-304
 * (float: 1e-37) either way.  NaN goes through as NaN.  Included once per variant by the
 * elementwise family of the file being compiled, which undefines its macros at its end.
 */
#if SINGLE
#define EXP_LOWEST -86.0f
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO -2.12194440e-4f
#define EXP_LOG2E 1.44269504088896341f
#else
#define EXP_LOWEST -700.0
#define EXP_LN2_HI 6.93147180369123816490e-01
#define EXP_LN2_LO 1.90821492927058770002e-10
#define EXP_LOG2E 1.44269504088896338700e+00
#endif

/* x clamped, and its split into n (returned through *n) and r (returned). */
static FASTNET_INLINE TARGET V FN(exp_reduce)(V x, V* n)
{
    V r;
    x = VMAX(VSET1(EXP_LOWEST), x);              /* NaN stays NaN (max takes its second) */
    *n = VROUND(VMUL(x, VSET1(EXP_LOG2E)));
    r = VFMA(*n, VSET1(-EXP_LN2_HI), x);
    return VFMA(*n, VSET1(-EXP_LN2_LO), r);
}

/* (e^r - 1) / r = 1 + r/2! + r^2/3! + ..., for the r of exp_reduce: e^r is 1 + r times
 * this, e^r - 1 is r times this. */
static FASTNET_INLINE TARGET V FN(exp_series)(V r)
{
    V p;
#if SINGLE
    p = VSET1(1.0f / 5040);
    p = VFMA(p, r, VSET1(1.0f / 720));
    p = VFMA(p, r, VSET1(1.0f / 120));
    p = VFMA(p, r, VSET1(1.0f / 24));
    p = VFMA(p, r, VSET1(1.0f / 6));
    p = VFMA(p, r, VSET1(0.5f));
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
#endif
    return p;
}
