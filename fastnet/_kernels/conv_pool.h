/* Max-pooling and its spread back (conv.h's pool_max and unpool), for conv_kernels.c and
 * conv_variant.h: compiled once per level and precision (T, POOL(name) and POOL_TARGET,
 * the level's target attribute, defined by the includer).  A row of 2 x 2 windows, the
 * book's, is pool_rows_2x2 and unpool_rows_2x2: written here in plain C unless the
 * includer has vector ones (POOL_VECTOR_ROWS: conv_pool2x2.h); other windows are plain C.
 */

/* delta = da f'(z), f' from a = f(z) (kind: FASTNET_CONV_*), as conv.h's derivative. */
static FASTNET_INLINE POOL_TARGET T POOL(delta)(int kind, T da, T a)
{
    if (kind == FASTNET_CONV_SIGMOID) return da * (a * (1 - a));
    if (kind == FASTNET_CONV_TANH) return da * (1 - a * a);
    if (kind == FASTNET_CONV_RELU) return a > 0 ? da : 0;
    return da;
}

#ifndef POOL_VECTOR_ROWS
static FASTNET_INLINE POOL_TARGET void POOL(pool_rows_2x2)(const T* top, const T* bottom, int ow,
                                                           T bias, T* out, int* where,
                                                           const T* z_end, const T* out_end)
{
    int j;
    (void) z_end; (void) out_end;       /* the bounds of the vector form's whole vectors */
    for (j = 0; j < ow; j++) {
        T best = top[2 * j], v;
        int at = 0;
        v = top[2 * j + 1]; at = v > best ? 1 : at; best = v > best ? v : best;
        v = bottom[2 * j]; at = v > best ? 2 : at; best = v > best ? v : best;
        v = bottom[2 * j + 1]; at = v > best ? 3 : at; best = v > best ? v : best;
        out[j] = best + bias;
        where[j] = at;
    }
}

/* One row of 2 x 2 windows spread back: both rows of dz written whole (ow windows). */
static FASTNET_INLINE POOL_TARGET T POOL(unpool_rows_2x2)(const T* da, const T* a, int kind,
                                                          const int* where, int ow, T* top,
                                                          T* bottom, const T* dz_end)
{
    T total = 0;
    int j;
    (void) dz_end;
    for (j = 0; j < ow; j++) {
        T d = POOL(delta)(kind, da[j], a[j]);
        int at = where[j];
        top[2 * j] = at == 0 ? d : 0;
        top[2 * j + 1] = at == 1 ? d : 0;
        bottom[2 * j] = at == 2 ? d : 0;
        bottom[2 * j + 1] = at == 3 ? d : 0;
        total += d;
    }
    return total;
}
#endif

POOL_TARGET static void POOL(pool_max)(const T* z, int planes, int filters, int h, int w, int ph,
                                       int pw, const T* bias, T* out, int* where)
{
    int plane, i, j, p, q, oh = h / ph, ow = w / pw;
    ptrdiff_t in_size = (ptrdiff_t) h * w, out_size = (ptrdiff_t) oh * ow;
    for (plane = 0; plane < planes; plane++) {
        const T* zp = z + plane * in_size;
        T* op = out + plane * out_size;
        int* wp = where + plane * out_size;
        T b = bias[plane % filters];
        if (ph == 2 && pw == 2) {
            for (i = 0; i < oh; i++)
                POOL(pool_rows_2x2)(zp + (ptrdiff_t) 2 * i * w, zp + (ptrdiff_t) (2 * i + 1) * w,
                                    ow, b, op + (ptrdiff_t) i * ow, wp + (ptrdiff_t) i * ow,
                                    z + planes * in_size, out + planes * out_size);
            continue;
        }
        for (i = 0; i < oh; i++)
            for (j = 0; j < ow; j++) {
                const T* window = zp + (ptrdiff_t) i * ph * w + (ptrdiff_t) j * pw;
                T best = window[0];
                int at = 0;
                for (p = 0; p < ph; p++)
                    for (q = 0; q < pw; q++)
                        if (window[(ptrdiff_t) p * w + q] > best) {
                            best = window[(ptrdiff_t) p * w + q];
                            at = p * pw + q;
                        }
                op[(ptrdiff_t) i * ow + j] = best + b;
                wp[(ptrdiff_t) i * ow + j] = at;
            }
    }
}


POOL_TARGET static void POOL(unpool)(const T* da, const T* a, int kind, const int* where,
                                     int planes, int filters, int h, int w, int ph, int pw, T* dz,
                                     T* db)
{
    int plane, i, j, f, r, oh = h / ph, ow = w / pw;
    ptrdiff_t in_size = (ptrdiff_t) h * w, out_size = (ptrdiff_t) oh * ow;
    for (f = 0; f < filters; f++) db[f] = 0;
    for (plane = 0; plane < planes; plane++) {
        const T* dap = da + plane * out_size;
        const T* ap = a + plane * out_size;
        const int* wp = where + plane * out_size;
        T* zp = dz + plane * in_size;
        T total = 0;
        if (ph == 2 && pw == 2) {
            for (i = 0; i < oh; i++) {
                T* top = zp + (ptrdiff_t) 2 * i * w;
                total += POOL(unpool_rows_2x2)(dap + (ptrdiff_t) i * ow, ap + (ptrdiff_t) i * ow,
                                               kind, wp + (ptrdiff_t) i * ow, ow, top, top + w,
                                               dz + planes * in_size);
                for (r = 0; r < 2; r++)                 /* a dropped last column */
                    for (j = 2 * ow; j < w; j++) top[r * w + j] = 0;
            }
            for (j = 2 * oh * w; j < in_size; j++) zp[j] = 0;      /* a dropped last row */
        } else {
            memset(zp, 0, (size_t) in_size * sizeof(T));
            for (i = 0; i < oh; i++)
                for (j = 0; j < ow; j++) {
                    int at = wp[(ptrdiff_t) i * ow + j];
                    T d = POOL(delta)(kind, dap[(ptrdiff_t) i * ow + j], ap[(ptrdiff_t) i * ow + j]);
                    if ((unsigned) at < (unsigned) (ph * pw))   /* else not a place: nowhere */
                        zp[(ptrdiff_t) (i * ph + at / pw) * w + (ptrdiff_t) j * pw + at % pw] = d;
                    total += d;
                }
        }
        db[plane % filters] += total;
    }
}
