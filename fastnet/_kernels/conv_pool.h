/* Max-pooling and its spread back (conv.h), for conv_kernels.c: portable C, the same code at
 * every level (comparisons and copies: the activation after it is where the time goes,
 * and that is vectorised).  conv_kernels.c includes it once per precision with T and POOL(name).
 */

/* The 2 x 2 window, the book's, written out: its comparisons compile to selects. */
static void POOL(pool_max_2x2)(const T* z, int h, int w, const T bias, T* out, int* where)
{
    int i, j, oh = h / 2, ow = w / 2;
    for (i = 0; i < oh; i++) {
        const T* top = z + (ptrdiff_t) 2 * i * w;
        const T* bottom = top + w;
        T* out_row = out + (ptrdiff_t) i * ow;
        int* where_row = where + (ptrdiff_t) i * ow;
        for (j = 0; j < ow; j++) {
            T best = top[2 * j], v;
            int at = 0;
            v = top[2 * j + 1]; at = v > best ? 1 : at; best = v > best ? v : best;
            v = bottom[2 * j]; at = v > best ? 2 : at; best = v > best ? v : best;
            v = bottom[2 * j + 1]; at = v > best ? 3 : at; best = v > best ? v : best;
            out_row[j] = best + bias;
            where_row[j] = at;
        }
    }
}

void POOL(pool_max)(const T* z, int planes, int filters, int h, int w, int ph, int pw,
                    const T* bias, T* out, int* where)
{
    int plane, i, j, p, q, oh = h / ph, ow = w / pw;
    ptrdiff_t in_size = (ptrdiff_t) h * w, out_size = (ptrdiff_t) oh * ow;
    for (plane = 0; plane < planes; plane++) {
        const T* zp = z + plane * in_size;
        T* op = out + plane * out_size;
        int* wp = where + plane * out_size;
        T b = bias[plane % filters];
        if (ph == 2 && pw == 2) {
            POOL(pool_max_2x2)(zp, h, w, b, op, wp);
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

void POOL(unpool)(const T* delta, const int* where, int planes, int filters, int h, int w,
                  int ph, int pw, T* dz, T* db)
{
    int plane, i, j, f, oh = h / ph, ow = w / pw;
    ptrdiff_t in_size = (ptrdiff_t) h * w, out_size = (ptrdiff_t) oh * ow;
    for (f = 0; f < filters; f++) db[f] = 0;
    for (plane = 0; plane < planes; plane++) {
        const T* dp = delta + plane * out_size;
        const int* wp = where + plane * out_size;
        T* zp = dz + plane * in_size;
        T total = 0;
        memset(zp, 0, (size_t) in_size * sizeof(T));
        for (i = 0; i < oh; i++)
            for (j = 0; j < ow; j++) {
                /* where is p pw + q, read only for the window's place: the division is
                 * by a small constant of the call. */
                int at = wp[(ptrdiff_t) i * ow + j];
                T d = dp[(ptrdiff_t) i * ow + j];
                zp[(ptrdiff_t) (i * ph + at / pw) * w + (ptrdiff_t) j * pw + at % pw] = d;
                total += d;
            }
        db[plane % filters] += total;
    }
}
