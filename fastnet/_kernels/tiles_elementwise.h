/* The elementwise kernels, for tiles_variant.h: the sigmoid, the deltas times its
 * slope, the bias part of a step and the check that every value is finite.  Each
 * runs along its arrays a vector at a time, the last vector masked.
 */

/*
 * The sigmoid, vectorised
 *
 * sigmoid(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0, e = exp(-|z|),
 * as training.pyx's scalar sigmoid (exp never overflows, no branch), with exp(x)
 * for x <= 0 as tiles_exp.h computes it.
 */
#include "tiles_exp.h"

static FASTNET_INLINE TARGET V FN(exp_nonpositive)(V x)
{
    V n, r = FN(exp_reduce)(x, &n);
    return VSCALE2(VFMA(FN(exp_series)(r), r, VSET1(1)), n);
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
#undef EXP_LN2_HI
#undef EXP_LN2_LO
#undef EXP_LOG2E
