/* The FMA-peak probe, for tiles_variant.h and the benchmarks (not for training):
 * FMA_CHAINS independent chains of fused multiply-adds, held in registers (with the
 * two constants, they fit in the vector registers this variant has): the machine's
 * peak, when nothing waits.  Returns the flops done.
 */
TARGET static double FN(fma_chain)(long long rounds)
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
