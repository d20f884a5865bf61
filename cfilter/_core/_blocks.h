/* The register blocks of the engines' inner loops: 64 outputs, each a sum
 * of weighted taps.
 *
 * cf_taps_block_{f,d}: out[j0 + t] = sum_{m, l} w[m * kw + l] *
 * rows[m][j0 + t + l * dx] for t < 64 (``taps_block`` in _taps.pxd).
 * With kw = 1 it is the separable engine's column block.
 *
 * cf_taps_pair_{f,d}: the same for two output rows at once, out0 from
 * rows[0 .. kh-1] and out1 from rows[1 .. kh] (``taps_pair_unit_stride``
 * in _taps.pxd).
 *
 * Written with GCC/Clang vector types rather than as Cython loops: from a
 * loop over the taps around a loop over the block, gcc either vectorises
 * the tap loop with gathers, or keeps the block in registers only through
 * the innermost tap loop, storing and reloading it between kernel rows.
 * Here the block is eight named vector accumulators, which stay in
 * registers through every tap (64 doubles are sixteen vectors, more than
 * the registers hold, so doubles go in two halves of eight; without AVX,
 * in more steps of 16-byte vectors).  Each sum is
 * formed in the taps' order, as in the scalar loops of the .pxd files, so
 * an output's value does not depend on which loop computed it.  A weight
 * becomes a vector as ``w - zero``, an exact identity (even for -0.0, which
 * ``zero + w`` would turn into +0.0), so gcc emits a plain broadcast.
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
                const cf_v wv = w[m * kw + l] - zero;                      \
                CF_EIGHT(CF_ACC)                                           \
            }                                                              \
        }                                                                  \
        CF_EIGHT(CF_STORE)                                                 \
    }                                                                      \
}

/* Two output rows whose kernel rows read the same input rows one apart:
 * out0 from rows[0 .. kh-1], out1 from rows[1 .. kh].  Each vector loaded
 * from rows[1 .. kh-1] feeds both rows' sums, so a tap costs about half a
 * load where the one-row block costs one, and the loop is bound by the
 * multiply-adds instead.  Four accumulators per row (eight in all) stay in
 * registers.  Each sum is still formed in its own taps' order. */
#define CF_FOUR(X) X(0) X(1) X(2) X(3)
#define CF_DECL2(i) cf_v a##i = zero, b##i = zero;
/* The empty asm makes each loaded vector a register: left to itself, gcc
 * folds the load into both multiply-adds that use it, loading it twice. */
#if defined(__x86_64__) || defined(__i386__)
#define CF_KEEP(x) __asm__("" : "+x"(x));
#else
#define CF_KEEP(x)
#endif
#define CF_LOAD(i) cf_v x##i; memcpy(&x##i, s + i * cf_lanes, sizeof x##i); \
                   CF_KEEP(x##i)
#define CF_ACCA(i) a##i += wa * x##i;
#define CF_ACCB(i) b##i += wb * x##i;
#define CF_STORE2(i) memcpy(out0 + h + i * cf_lanes, &a##i, sizeof a##i); \
                     memcpy(out1 + h + i * cf_lanes, &b##i, sizeof b##i);

#define CF_TAPS_PAIR(NAME, T, V, LANES)                                    \
static inline void NAME(T* out0, T* out1, const T* const* rows,            \
                        const T* w, ptrdiff_t kh, ptrdiff_t kw,            \
                        ptrdiff_t dx, ptrdiff_t j0) {                      \
    typedef V cf_v;                                                        \
    enum { cf_lanes = LANES };                                             \
    const cf_v zero = {0};                                                 \
    for (ptrdiff_t h = j0; h < j0 + 64; h += 4 * cf_lanes) {               \
        CF_FOUR(CF_DECL2)                                                  \
        {                                                                  \
            const T* s = rows[0] + h;                                      \
            for (ptrdiff_t l = 0; l < kw; l++, s += dx) {                  \
                const cf_v wa = w[l] - zero;                               \
                CF_FOUR(CF_LOAD) CF_FOUR(CF_ACCA)                          \
            }                                                              \
        }                                                                  \
        for (ptrdiff_t m = 1; m < kh; m++) {                               \
            const T* s = rows[m] + h;                                      \
            for (ptrdiff_t l = 0; l < kw; l++, s += dx) {                  \
                const cf_v wa = w[m * kw + l] - zero;                      \
                const cf_v wb = w[(m - 1) * kw + l] - zero;                \
                CF_FOUR(CF_LOAD) CF_FOUR(CF_ACCA) CF_FOUR(CF_ACCB)         \
            }                                                              \
        }                                                                  \
        {                                                                  \
            const T* s = rows[kh] + h;                                     \
            for (ptrdiff_t l = 0; l < kw; l++, s += dx) {                  \
                const cf_v wb = w[(kh - 1) * kw + l] - zero;               \
                CF_FOUR(CF_LOAD) CF_FOUR(CF_ACCB)                          \
            }                                                              \
        }                                                                  \
        CF_FOUR(CF_STORE2)                                                 \
    }                                                                      \
}

/* A vector is a register: 32 bytes with AVX, 16 without (SSE, NEON), where
 * a 32-byte vector would be two registers and the blocks' accumulators
 * would not fit.  The block loops step by their vector length, so every
 * output's sum is formed in the same order at every width. */
#if defined(__AVX__)
typedef float cf_vf __attribute__((vector_size(32)));
typedef double cf_vd __attribute__((vector_size(32)));
#else
typedef float cf_vf __attribute__((vector_size(16)));
typedef double cf_vd __attribute__((vector_size(16)));
#endif
CF_TAPS_BLOCK(cf_taps_block_f, float, cf_vf, sizeof(cf_vf) / sizeof(float))
CF_TAPS_BLOCK(cf_taps_block_d, double, cf_vd, sizeof(cf_vd) / sizeof(double))
CF_TAPS_PAIR(cf_taps_pair_f, float, cf_vf, sizeof(cf_vf) / sizeof(float))
CF_TAPS_PAIR(cf_taps_pair_d, double, cf_vd, sizeof(cf_vd) / sizeof(double))

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


/* The pair as two one-row blocks. */
#define CF_PAIR_OF_BLOCKS(NAME, BLOCK1, T)                                 \
static inline void NAME(T* out0, T* out1, const T* const* rows,            \
                        const T* w, ptrdiff_t kh, ptrdiff_t kw,            \
                        ptrdiff_t dx, ptrdiff_t j0) {                      \
    BLOCK1(out0, rows, w, kh, kw, dx, j0);                                 \
    BLOCK1(out1, rows + 1, w, kh, kw, dx, j0);                             \
}

CF_PAIR_OF_BLOCKS(cf_taps_pair_f, cf_taps_block_f, float)
CF_PAIR_OF_BLOCKS(cf_taps_pair_d, cf_taps_block_d, double)

#endif

#endif
