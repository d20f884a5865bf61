// Cyclic correlation of real tiles by 2-D real FFTs (pocketfft), for the
// FFT engine's overlap-save (_fftconv.pyx) and for the transforms of
// template search and frequency filtering.
//
// A Spectrum holds conj(FFT2(kernel)) / (nh * nw) for nh x nw tiles,
// computed once per call and read by every thread.  Each thread has its own
// buffers (thread_local, kept from call to call, so a call does not pay
// for fresh memory): the input tile it fills, the tile's spectrum, and the
// output rows.  A tile's forward transform, its product with the kernel's
// spectrum and its inverse run here without the GIL; only the output rows
// asked for are transformed back.
//
// Every function catches what pocketfft throws (std::bad_alloc) and
// returns NULL: these run on the pool's threads, where no exception may
// pass.  Each tile is computed the same way whichever thread computes it,
// so results never depend on the thread count.
#ifndef CFILTER_TILES_HPP
#define CFILTER_TILES_HPP

#define POCKETFFT_NO_MULTITHREADING
#ifndef POCKETFFT_CACHE_SIZE
#define POCKETFFT_CACHE_SIZE 16
#endif
#include "pocketfft/pocketfft_hdronly.h"

#include <complex>
#include <cstddef>
#include <vector>

namespace cftiles {

using pocketfft::shape_t;
using pocketfft::stride_t;

template <typename T> struct Spectrum {
    size_t nh, nw, nwc;
    std::vector<std::complex<T>> k;   // nh x nwc, row-major
};

template <typename T> struct Buffers {
    std::vector<T> in;                      // the input tile, nh x nw
    std::vector<std::complex<T>> freq;      // its spectrum, nh x nwc
    std::vector<T> out;                     // output rows, nkeep x nw
    std::vector<T> work;                    // rows of whole-plane transforms
};

template <typename T> Buffers<T> &buffers()
{
    static thread_local Buffers<T> b;
    return b;
}

template <typename T> void grow(std::vector<T> &v, size_t n)
{
    if (v.size() < n)
        v.resize(n);
}

// f[i] *= k[i] for n complex numbers, written out so that the compiler
// vectorises it (std::complex's operator checks for NaN results and calls
// a library routine).
template <typename T>
void multiply(std::complex<T> *f, const std::complex<T> *k, size_t n)
{
    T *a = reinterpret_cast<T *>(f);
    const T *b = reinterpret_cast<const T *>(k);
    for (size_t i = 0; i < n; i++) {
        T re = a[2 * i] * b[2 * i] - a[2 * i + 1] * b[2 * i + 1];
        T im = a[2 * i] * b[2 * i + 1] + a[2 * i + 1] * b[2 * i];
        a[2 * i] = re;
        a[2 * i + 1] = im;
    }
}

// The correlation spectrum of a kh x kw kernel (C-contiguous, already
// dilated, kh <= nh, kw <= nw) for nh x nw tiles; NULL without memory.
template <typename T>
Spectrum<T> *spectrum_new(const T *kernel, size_t kh, size_t kw, size_t nh,
                          size_t nw) noexcept
{
    Spectrum<T> *s = nullptr;
    try {
        s = new Spectrum<T>;
        s->nh = nh;
        s->nw = nw;
        s->nwc = nw / 2 + 1;
        std::vector<T> pad(nh * nw, T(0));
        for (size_t i = 0; i < kh; i++)
            for (size_t j = 0; j < kw; j++)
                pad[i * nw + j] = kernel[i * kw + j];
        s->k.resize(nh * s->nwc);
        pocketfft::r2c(shape_t{nh, nw},
                       stride_t{ptrdiff_t(nw * sizeof(T)), ptrdiff_t(sizeof(T))},
                       stride_t{ptrdiff_t(s->nwc * sizeof(std::complex<T>)),
                                ptrdiff_t(sizeof(std::complex<T>))},
                       shape_t{0, 1}, true, pad.data(), s->k.data(), T(1));
        // Correlation: the conjugate; the inverse transform's 1/(nh*nw)
        // folded in once here.
        T scale = T(1.0 / (double(nh) * double(nw)));
        for (auto &v : s->k)
            v = std::complex<T>(v.real() * scale, -v.imag() * scale);
        return s;
    } catch (...) {
        delete s;
        return nullptr;
    }
}

template <typename T> void spectrum_free(Spectrum<T> *s) noexcept
{
    delete s;
}

// This thread's input tile (nh x nw, row-major) for the caller to fill
// whole; NULL without memory.
template <typename T> T *tile_input(const Spectrum<T> *s) noexcept
{
    try {
        Buffers<T> &b = buffers<T>();
        grow(b.in, s->nh * s->nw);
        return b.in.data();
    } catch (...) {
        return nullptr;
    }
}

// The cyclic correlation of this thread's filled input tile with the
// kernel: rows first, first + step, ... (nkeep of them, all < nh) of the
// result, each nw long, in this thread's output buffer; NULL without
// memory.
template <typename T>
const T *tile_correlate(const Spectrum<T> *s, size_t first, size_t step,
                        size_t nkeep) noexcept
{
    try {
        Buffers<T> &b = buffers<T>();
        const size_t nh = s->nh, nw = s->nw, nwc = s->nwc;
        const ptrdiff_t ts = sizeof(T), cs = sizeof(std::complex<T>);
        grow(b.freq, nh * nwc);
        grow(b.out, (nkeep ? nkeep : 1) * nw);
        std::complex<T> *f = b.freq.data();
        const stride_t real_rows{ptrdiff_t(nw) * ts, ts};
        const stride_t cplx_rows{ptrdiff_t(nwc) * cs, cs};
        pocketfft::r2c(shape_t{nh, nw}, real_rows, cplx_rows, shape_t{0, 1},
                       true, b.in.data(), f, T(1));
        multiply(f, s->k.data(), nh * nwc);
        pocketfft::c2c(shape_t{nh, nwc}, cplx_rows, cplx_rows, shape_t{0},
                       false, f, f, T(1));
        if (nkeep)
            pocketfft::c2r(shape_t{nkeep, nw},
                           stride_t{ptrdiff_t(step * nwc) * cs, cs}, real_rows,
                           size_t(1), false, f + first * nwc, b.out.data(),
                           T(1));
        return b.out.data();
    } catch (...) {
        return nullptr;
    }
}

// Whole-plane transforms for frequency filtering, a block at a time.

// This thread's buffer of at least n reals (kept); NULL without memory.
template <typename T> T *scratch_reals(size_t n) noexcept
{
    try {
        Buffers<T> &b = buffers<T>();
        grow(b.work, n);
        return b.work.data();
    } catch (...) {
        return nullptr;
    }
}

// The real transforms (length n1) of nrows contiguous rows into rows of
// n1 / 2 + 1 coefficients, ld apart; -1 without memory.
template <typename T>
int rows_r2c(const T *in, size_t nrows, size_t n1, std::complex<T> *out,
             size_t ld) noexcept
{
    try {
        const ptrdiff_t ts = sizeof(T), cs = sizeof(std::complex<T>);
        pocketfft::r2c(shape_t{nrows, n1}, stride_t{ptrdiff_t(n1) * ts, ts},
                       stride_t{ptrdiff_t(ld) * cs, cs}, size_t(1), true, in,
                       out, T(1));
        return 0;
    } catch (...) {
        return -1;
    }
}

// The complex transforms (length n0) of ncols columns of z, whose rows are
// ld apart, in place; -1 without memory.
template <typename T>
int cols_c2c(std::complex<T> *z, size_t n0, size_t ld, size_t ncols,
             bool forward, T fct) noexcept
{
    try {
        const ptrdiff_t cs = sizeof(std::complex<T>);
        const stride_t st{ptrdiff_t(ld) * cs, cs};
        pocketfft::c2c(shape_t{n0, ncols}, st, st, shape_t{0}, forward, z, z,
                       fct);
        return 0;
    } catch (...) {
        return -1;
    }
}

// The inverse real transforms (length n1) of nrows rows of coefficients,
// ld apart, into nrows contiguous rows of n1; -1 without memory.
template <typename T>
int rows_c2r(const std::complex<T> *in, size_t nrows, size_t ld, size_t n1,
             T *out, T fct) noexcept
{
    try {
        const ptrdiff_t ts = sizeof(T), cs = sizeof(std::complex<T>);
        pocketfft::c2r(shape_t{nrows, n1}, stride_t{ptrdiff_t(ld) * cs, cs},
                       stride_t{ptrdiff_t(n1) * ts, ts}, size_t(1), false, in,
                       out, fct);
        return 0;
    } catch (...) {
        return -1;
    }
}

}  // namespace cftiles

// Plain names for Cython, one per precision.
static inline void *cf_spectrum_f(const float *k, size_t kh, size_t kw,
                                  size_t nh, size_t nw)
{ return cftiles::spectrum_new<float>(k, kh, kw, nh, nw); }
static inline void *cf_spectrum_d(const double *k, size_t kh, size_t kw,
                                  size_t nh, size_t nw)
{ return cftiles::spectrum_new<double>(k, kh, kw, nh, nw); }
static inline void cf_spectrum_free_f(void *s)
{ cftiles::spectrum_free(static_cast<cftiles::Spectrum<float> *>(s)); }
static inline void cf_spectrum_free_d(void *s)
{ cftiles::spectrum_free(static_cast<cftiles::Spectrum<double> *>(s)); }
static inline float *cf_tile_input_f(const void *s)
{ return cftiles::tile_input(static_cast<const cftiles::Spectrum<float> *>(s)); }
static inline double *cf_tile_input_d(const void *s)
{ return cftiles::tile_input(static_cast<const cftiles::Spectrum<double> *>(s)); }
static inline const float *cf_tile_correlate_f(const void *s, size_t first,
                                               size_t step, size_t nkeep)
{
    return cftiles::tile_correlate(
        static_cast<const cftiles::Spectrum<float> *>(s), first, step, nkeep);
}
static inline const double *cf_tile_correlate_d(const void *s, size_t first,
                                                 size_t step, size_t nkeep)
{
    return cftiles::tile_correlate(
        static_cast<const cftiles::Spectrum<double> *>(s), first, step, nkeep);
}

static inline float *cf_scratch_f(size_t n)
{ return cftiles::scratch_reals<float>(n); }
static inline double *cf_scratch_d(size_t n)
{ return cftiles::scratch_reals<double>(n); }
static inline int cf_rows_r2c_f(const float *in, size_t nrows, size_t n1,
                                void *out, size_t ld)
{ return cftiles::rows_r2c(in, nrows, n1, static_cast<std::complex<float> *>(out), ld); }
static inline int cf_rows_r2c_d(const double *in, size_t nrows, size_t n1,
                                void *out, size_t ld)
{ return cftiles::rows_r2c(in, nrows, n1, static_cast<std::complex<double> *>(out), ld); }
static inline int cf_cols_c2c_f(void *z, size_t n0, size_t ld, size_t ncols,
                                int forward, float fct)
{ return cftiles::cols_c2c(static_cast<std::complex<float> *>(z), n0, ld, ncols, forward != 0, fct); }
static inline int cf_cols_c2c_d(void *z, size_t n0, size_t ld, size_t ncols,
                                int forward, double fct)
{ return cftiles::cols_c2c(static_cast<std::complex<double> *>(z), n0, ld, ncols, forward != 0, fct); }
static inline int cf_rows_c2r_f(const void *in, size_t nrows, size_t ld,
                                size_t n1, float *out, float fct)
{ return cftiles::rows_c2r(static_cast<const std::complex<float> *>(in), nrows, ld, n1, out, fct); }
static inline int cf_rows_c2r_d(const void *in, size_t nrows, size_t ld,
                                size_t n1, double *out, double fct)
{ return cftiles::rows_c2r(static_cast<const std::complex<double> *>(in), nrows, ld, n1, out, fct); }

#endif  // CFILTER_TILES_HPP
