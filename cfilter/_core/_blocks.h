/* The register blocks of the engines' inner loops: 64 outputs, each a sum
 * of weighted taps.
 *
 * cf_column_block_*: dst[c] = sum_m w[m] * rows[m][c] for the 64 columns
 * c0 <= c < c0 + 64 (the separable engine's column pass).
 * cf_taps_block_*: out[j0 + t] = sum_{m, l} w[m * kw + l] *
 * rows[m][j0 + t + l * dx] for t < 64 (``taps_block`` in _taps.pxd).
 *
 * Written with GCC/Clang vector types rather than as Cython loops: from a
 * loop over the taps around a loop over the block, gcc either vectorises
 * the tap loop with gathers, or keeps the block in registers only through
 * the innermost tap loop, storing and reloading it between kernel rows.
 * Here the block is eight named vector accumulators, which stay in
 * registers through every tap.  Each sum is formed in the taps' order, as
 * in the scalar loops of the .pxd files, so an output's value does not
 * depend on which loop computed it.
 */
#ifndef CFILTER_BLOCKS_H
#define CFILTER_BLOCKS_H

#include <stddef.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)

typedef float cf_f8 __attribute__((vector_size(32)));
typedef double cf_d4 __attribute__((vector_size(32)));

static inline cf_f8 cf_load_f8(const float* p) {
    cf_f8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline cf_d4 cf_load_d4(const double* p) {
    cf_d4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

#define CF_EIGHT(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

static inline void cf_column_block_f(float* dst, const float* const* rows,
                                     const float* w, ptrdiff_t kh,
                                     ptrdiff_t c0) {
    const cf_f8 zero = {0};
#define CF_DECL(i) cf_f8 a##i = zero;
    CF_EIGHT(CF_DECL)
#undef CF_DECL
    for (ptrdiff_t m = 0; m < kh; m++) {
        const cf_f8 wv = zero + w[m];
        const float* s = rows[m] + c0;
#define CF_ACC(i) a##i += wv * cf_load_f8(s + 8 * i);
        CF_EIGHT(CF_ACC)
#undef CF_ACC
    }
#define CF_STORE(i) memcpy(dst + c0 + 8 * i, &a##i, sizeof a##i);
    CF_EIGHT(CF_STORE)
#undef CF_STORE
}

/* 64 doubles are sixteen vectors, more than the registers hold: two halves
 * of eight. */
static inline void cf_column_block_d(double* dst, const double* const* rows,
                                     const double* w, ptrdiff_t kh,
                                     ptrdiff_t c0) {
    const cf_d4 zero = {0};
    for (ptrdiff_t h = c0; h < c0 + 64; h += 32) {
#define CF_DECL(i) cf_d4 a##i = zero;
        CF_EIGHT(CF_DECL)
#undef CF_DECL
        for (ptrdiff_t m = 0; m < kh; m++) {
            const cf_d4 wv = zero + w[m];
            const double* s = rows[m] + h;
#define CF_ACC(i) a##i += wv * cf_load_d4(s + 4 * i);
            CF_EIGHT(CF_ACC)
#undef CF_ACC
        }
#define CF_STORE(i) memcpy(dst + h + 4 * i, &a##i, sizeof a##i);
        CF_EIGHT(CF_STORE)
#undef CF_STORE
    }
}

static inline void cf_taps_block_f(float* out, const float* const* rows,
                                   const float* w, ptrdiff_t kh,
                                   ptrdiff_t kw, ptrdiff_t dx,
                                   ptrdiff_t j0) {
    const cf_f8 zero = {0};
#define CF_DECL(i) cf_f8 a##i = zero;
    CF_EIGHT(CF_DECL)
#undef CF_DECL
    for (ptrdiff_t m = 0; m < kh; m++) {
        const float* s = rows[m] + j0;
        for (ptrdiff_t l = 0; l < kw; l++, s += dx) {
            const cf_f8 wv = zero + w[m * kw + l];
#define CF_ACC(i) a##i += wv * cf_load_f8(s + 8 * i);
            CF_EIGHT(CF_ACC)
#undef CF_ACC
        }
    }
#define CF_STORE(i) memcpy(out + j0 + 8 * i, &a##i, sizeof a##i);
    CF_EIGHT(CF_STORE)
#undef CF_STORE
}

static inline void cf_taps_block_d(double* out, const double* const* rows,
                                   const double* w, ptrdiff_t kh,
                                   ptrdiff_t kw, ptrdiff_t dx,
                                   ptrdiff_t j0) {
    const cf_d4 zero = {0};
    for (ptrdiff_t h = j0; h < j0 + 64; h += 32) {
#define CF_DECL(i) cf_d4 a##i = zero;
        CF_EIGHT(CF_DECL)
#undef CF_DECL
        for (ptrdiff_t m = 0; m < kh; m++) {
            const double* s = rows[m] + h;
            for (ptrdiff_t l = 0; l < kw; l++, s += dx) {
                const cf_d4 wv = zero + w[m * kw + l];
#define CF_ACC(i) a##i += wv * cf_load_d4(s + 4 * i);
                CF_EIGHT(CF_ACC)
#undef CF_ACC
            }
        }
#define CF_STORE(i) memcpy(out + h + 4 * i, &a##i, sizeof a##i);
        CF_EIGHT(CF_STORE)
#undef CF_STORE
    }
}

#undef CF_EIGHT

#else  /* other compilers: the plain loop */

static inline void cf_column_block_f(float* dst, const float* const* rows,
                                     const float* w, ptrdiff_t kh,
                                     ptrdiff_t c0) {
    float acc[64] = {0};
    for (ptrdiff_t m = 0; m < kh; m++)
        for (int t = 0; t < 64; t++)
            acc[t] += w[m] * rows[m][c0 + t];
    memcpy(dst + c0, acc, sizeof acc);
}

static inline void cf_column_block_d(double* dst, const double* const* rows,
                                     const double* w, ptrdiff_t kh,
                                     ptrdiff_t c0) {
    double acc[64] = {0};
    for (ptrdiff_t m = 0; m < kh; m++)
        for (int t = 0; t < 64; t++)
            acc[t] += w[m] * rows[m][c0 + t];
    memcpy(dst + c0, acc, sizeof acc);
}

static inline void cf_taps_block_f(float* out, const float* const* rows,
                                   const float* w, ptrdiff_t kh,
                                   ptrdiff_t kw, ptrdiff_t dx,
                                   ptrdiff_t j0) {
    float acc[64] = {0};
    for (ptrdiff_t m = 0; m < kh; m++)
        for (ptrdiff_t l = 0; l < kw; l++)
            for (int t = 0; t < 64; t++)
                acc[t] += w[m * kw + l] * rows[m][j0 + t + l * dx];
    memcpy(out + j0, acc, sizeof acc);
}

static inline void cf_taps_block_d(double* out, const double* const* rows,
                                   const double* w, ptrdiff_t kh,
                                   ptrdiff_t kw, ptrdiff_t dx,
                                   ptrdiff_t j0) {
    double acc[64] = {0};
    for (ptrdiff_t m = 0; m < kh; m++)
        for (ptrdiff_t l = 0; l < kw; l++)
            for (int t = 0; t < 64; t++)
                acc[t] += w[m * kw + l] * rows[m][j0 + t + l * dx];
    memcpy(out + j0, acc, sizeof acc);
}

#endif

#endif
