/* The elementwise kernels, for tiles_variant.h: the sigmoid, the deltas times its
 * slope, the bias part of a step and the check that every value is finite.  Each
 * runs along its arrays a vector at a time, the last vector masked.
 */

/*
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

static FASTNET_INLINE TARGET V FN(sigmoid_vector)(V z)
{
    V e = FN(exp_nonpositive)(VSUB(VZERO(), VABS(z)));
    V s = VDIV(VSET1(1), VADD(VSET1(1), e));
    return VKEEP_NAN(z, VSELECT_GE0(z, s, VMUL(e, s)));
}

TARGET static void FN(sigmoid)(T* z, ptrdiff_t count)
{
    ptrdiff_t i;
    for (i = 0; i + VL <= count; i += VL)
        VSTORE(z + i, FN(sigmoid_vector)(VLOAD(z + i)));
    if (i < count) {
        M tail = MASK((int) (count - i));
        VSTOREM(z + i, tail, FN(sigmoid_vector)(VLOADM(z + i, tail)));
    }
}

/* The bias part of a step: with totals[j] = sum_i D[i][j] (D's m rows of n added one
 * after another), sums[j] += totals[j] unless sums is NULL, and
 * b[j] = alpha totals[j] + beta b[j] (beta = 0: written, not read).  Written as two
 * products and a sum, but GCC's default -ffp-contract=fast fuses one product into the
 * sum (an FMA, one rounding fewer) where beta is not 0: the golden results hold that
 * rounding, so a build that stops the fusion moves them by an ulp. */
TARGET static void FN(bias_step)(int m, int n, const T* d, T alpha, T beta, T* b, T* sums)
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
TARGET static void FN(times_sigmoid_slope)(T* d, const T* a, ptrdiff_t count)
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
TARGET static int FN(all_finite)(const T* x, ptrdiff_t count)
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

#undef EXP_LOWEST
#undef LN2_HI
#undef LN2_LO
#undef LOG2E
