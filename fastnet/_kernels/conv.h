/* Kernels of chapter 6's convolutional layers (conv_kernels.c), beside the tile kernels of tiles.c.
 *
 * A valid-mode convolution of an (H, W) image with (fh, fw) filters is written here as
 * products over "shifted copies" of the image: for each channel c and column offset q,
 * S[c][q] is the (H, ow) array x[c, :, q:q + ow] (ow = W - fw + 1), stored row after row.
 * Then every output of one filter, flattened (o = i ow + j, oh ow of them), reads for tap
 * (c, p, q) the contiguous stretch S[c][q][p ow + o]: a product whose rows are pointers into
 * the shifted copies, with no im2col matrix of fh fw times the image's size.  The forward
 * pass is then tiles.h's axpy rows; the filters' gradient is the "dot over segments" below
 * (one segment per image of the mini-batch); the inputs' gradient an axpy rows and an
 * accumulation back through the same offsets.
 *
 * The activations are applied in place after pooling, and their derivative (taken from the
 * activation's value a = f(z)) inside the spread back, vectorised per instruction set.  The
 * pooling kernels (max with its place in the window, and its spread back) are the same C
 * at every level, compiled for each.  Nothing here checks its arguments: conv.pyx's callers have.
 */
#ifndef FASTNET_CONV_H
#define FASTNET_CONV_H

#include <stddef.h>

/* Activation codes, as fastnet._kernels.conv exports them. */
#define FASTNET_CONV_LINEAR 0
#define FASTNET_CONV_SIGMOID 1
#define FASTNET_CONV_TANH 2
#define FASTNET_CONV_RELU 3

/* The kernels of one level in one precision T:
 *   dot_segments   c[i][j] = sum_g sum_{o < len} A(g, i)[o] B(g, j)[o] for i < m, j < n, g < segments,
 *                  A(g, i) = a + g a_seg + i a_row, B(g, j) = b + g b_seg + b_off[j]; c's rows ldc apart
 *   activate       x[i] <- f(x[i]) for i < count (kind: FASTNET_CONV_*)
 *   pool_max       max-pooling of the planes of z (planes of h x w, one bias per plane as
 *                  plane % filters says): out[i][j] = max over the ph x pw window
 *                  (i ph + p, j pw + q) + bias, where[i][j] = p pw + q of the window's first
 *                  largest entry (row by row); rows and columns that do not fill a window are
 *                  left out.  `out` then holds the pooled values before the activation.
 *   unpool         its spread back: with delta = da f'(z) (f' taken from a = f(z)),
 *                  dz (planes of h x w) zero except dz[i ph + p][j pw + q] = delta[i][j] at the
 *                  entry where[i][j] names (none if it names no place of the window); db[f] =
 *                  the sum of delta over the planes of filter f (plane % filters == f)
 *   shift          the shifted copies s[c][q] = x[c, :, q:q + ow] of one image x (channels, h,
 *                  w), ow = w - fw + 1, one after another, each row after row
 *   unshift        its way back: x = 0, then x[c, r, q:q + ow] += s[c][q][r] for every copy
 * Level 0's are portable C (any CPU). */
#define FASTNET_CONV_TABLE_FIELDS(T)                                                        \
    int lanes;                                                                              \
    void (*dot_segments)(int m, int n, int len, int segments, const T* a, ptrdiff_t a_seg,  \
                         ptrdiff_t a_row, const T* b, ptrdiff_t b_seg,                      \
                         const ptrdiff_t* b_off, T* c, ptrdiff_t ldc);                      \
    void (*activate)(int kind, T* x, ptrdiff_t count);                                      \
    void (*pool_max)(const T* z, int planes, int filters, int h, int w, int ph, int pw,      \
                     const T* bias, T* out, int* where);                                    \
    void (*unpool)(const T* da, const T* a, int kind, const int* where, int planes,         \
                   int filters, int h, int w, int ph, int pw, T* dz, T* db);                \
    void (*shift)(const T* x, int channels, int h, int w, int fw, T* s);                    \
    void (*unshift)(const T* s, int channels, int h, int w, int fw, T* x);

#define FASTNET_CONV_KERNEL_NAMES(X) \
    X(dot_segments) X(activate) X(pool_max) X(unpool) X(shift) X(unshift)

typedef struct { FASTNET_CONV_TABLE_FIELDS(double) } fastnet_conv_table_d;
typedef struct { FASTNET_CONV_TABLE_FIELDS(float) } fastnet_conv_table_f;

/* One table per level (tiles.h's FASTNET_SIMD_*), indexed by the level. */
extern const fastnet_conv_table_d* const fastnet_conv_tables_d[3];
extern const fastnet_conv_table_f* const fastnet_conv_tables_f[3];

#endif
