/* The register blocks of the engines' inner loops: 64 outputs, each a sum
 * of weighted taps.
 *
 * cf_taps_block_{f,d}: out[j0 + t] = sum_{m, l} w[m * kw + l] *
 * rows[m][j0 + t + l * dx] for t < 64 (``taps_block`` in _taps.pxd).
 * With kw = 1 it is the separable engine's column block.
 *
 * Written with GCC/Clang vector types rather than as Cython loops: from a
 * loop over the taps around a loop over the block, gcc either vectorises
 * the tap loop with gathers, or keeps the block in registers only through
 * the innermost tap loop, storing and reloading it between kernel rows.
 * Here the block is eight named vector accumulators, which stay in
 * registers through every tap (64 doubles are sixteen vectors, more than
 * the registers hold, so doubles go in two halves of eight).  Each sum is
 * formed in the taps' order, as in the scalar loops of the .pxd files, so
 * an output's value does not depend on which loop computed it.
 */
#ifndef CFILTER_BLOCKS_H
#define CFILTER_BLOCKS_H

#include <stddef.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)

#define CF_EIGHT(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define CF_DECL(i) cf_v a##i = zero;
#define CF_ACC(i) { cf_v x; memcpy(&x, s + i * cf_lanes, sizeof x); a##i += wv * x; }
#define CF_STORE(i) memcpy(out + h + i * cf_lanes, &a##i, sizeof a##i);

/* The taps block for samples of type T in vectors V of LANES samples. */
#define CF_TAPS_BLOCK(NAME, T, V, LANES)                                   \
static inline void NAME(T* out, const T* const* rows, const T* w,          \
                        ptrdiff_t kh, ptrdiff_t kw, ptrdiff_t dx,          \
                        ptrdiff_t j0) {                                    \
    typedef V cf_v;                                                        \
    enum { cf_lanes = LANES };                                             \
    const cf_v zero = {0};                                                 \
    for (ptrdiff_t h = j0; h < j0 + 64; h += 8 * cf_lanes) {               \
        CF_EIGHT(CF_DECL)                                                  \
        for (ptrdiff_t m = 0; m < kh; m++) {                               \
            const T* s = rows[m] + h;                                      \
            for (ptrdiff_t l = 0; l < kw; l++, s += dx) {                  \
                const cf_v wv = zero + w[m * kw + l];                      \
                CF_EIGHT(CF_ACC)                                           \
            }                                                              \
        }                                                                  \
        CF_EIGHT(CF_STORE)                                                 \
    }                                                                      \
}

typedef float cf_f8 __attribute__((vector_size(32)));
typedef double cf_d4 __attribute__((vector_size(32)));
CF_TAPS_BLOCK(cf_taps_block_f, float, cf_f8, 8)
CF_TAPS_BLOCK(cf_taps_block_d, double, cf_d4, 4)

#else  /* other compilers: the plain loop */

#define CF_TAPS_BLOCK(NAME, T)                                             \
static inline void NAME(T* out, const T* const* rows, const T* w,          \
                        ptrdiff_t kh, ptrdiff_t kw, ptrdiff_t dx,          \
                        ptrdiff_t j0) {                                    \
    T acc[64] = {0};                                                       \
    for (ptrdiff_t m = 0; m < kh; m++)                                     \
        for (ptrdiff_t l = 0; l < kw; l++)                                 \
            for (int t = 0; t < 64; t++)                                   \
                acc[t] += w[m * kw + l] * rows[m][j0 + t + l * dx];        \
    memcpy(out + j0, acc, sizeof acc);                                     \
}

CF_TAPS_BLOCK(cf_taps_block_f, float)
CF_TAPS_BLOCK(cf_taps_block_d, double)

#endif

#endif
