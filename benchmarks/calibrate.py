"""Calibrate the 'auto' cost model (cfilter._plan.COSTS) on this machine.

Times each engine over a range of kernel sizes on a float32 image, fits
``time = fixed + per_tap * taps`` per output pixel by least squares (taps:
kh*kw for direct, kh+kw for separable, none for box), and for the FFT engine
``time = per_pixel * extended_pixels + per_work * fft_work`` (both from the
planner's tiling), and prints the constants in units of one direct tap,
ready to paste into cfilter/_plan.py.

    python benchmarks/calibrate.py [--size 1024]
"""
import argparse
import os
import sys

import numpy as np

import cfilter
from cfilter._plan import fft_tiles

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved  # noqa: E402


def fit(samples):
    """Least-squares (fixed, per_tap) from (taps, seconds_per_pixel) pairs."""
    taps, secs = np.array(samples, dtype=float).T
    design = np.column_stack([np.ones_like(taps), taps])
    (fixed, slope), *_ = np.linalg.lstsq(design, secs, rcond=None)
    return max(fixed, 0.0), max(slope, 0.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    image = rng.random((args.size, args.size), dtype=np.float32)
    pixels = image.size

    def timed(kernel, method):
        med = interleaved({"x": lambda: cfilter.correlate(image, kernel, method=method)},
                          args.repeats, warmup=1)
        return med["x"] / pixels

    direct = [(k * k, timed(rng.random((k, k)), "direct")) for k in (3, 5, 7, 9, 11, 15)]
    sep = [(2 * k, timed(np.outer(rng.random(k), rng.random(k)), "separable"))
           for k in (3, 5, 9, 15, 25, 41, 63)]
    box = [(0, timed(np.ones((k, k)), "box")) for k in (3, 15, 51)]

    fft_rows = []
    for k in (15, 31, 63, 127):
        secs = timed(rng.random((k, k)), "fft") * pixels
        shape = image.shape
        work = fft_tiles(shape, (k, k), (1, 1), (1, 1),
                         cfilter.get_num_threads())[1]
        extended = (shape[0] + k - 1) * (shape[1] + k - 1)
        fft_rows.append((extended, work, secs))
    ext, work, secs = np.array(fft_rows).T
    (f_pix, f_work), *_ = np.linalg.lstsq(np.column_stack([ext, work]), secs,
                                          rcond=None)

    d_fixed, d_tap = fit(direct)
    s_fixed, s_tap = fit(sep)
    b_fixed = float(np.mean([t for _, t in box]))
    unit = d_tap
    print("measured seconds per output pixel:")
    for name, rows in (("direct", direct), ("separable", sep), ("box", box)):
        print(f"  {name:9s} " + ", ".join(f"{t}:{s * 1e9:.2f}ns" for t, s in rows))
    print("  fft       " + ", ".join(f"{k}x{k}:{s * 1e3:.1f}ms" for k, (_, _, s)
                                     in zip((15, 31, 63, 127), fft_rows)))
    print("\nCOSTS = {")
    print(f'    "direct": ({d_fixed / unit:.1f}, {d_tap / unit:.2f}),')
    print(f'    "separable": ({s_fixed / unit:.1f}, {s_tap / unit:.2f}),')
    print(f'    "box": ({b_fixed / unit:.1f}, 0.0),')
    print(f'    "fft": ({max(f_pix, 0) / unit:.2f}, {max(f_work, 0) / unit:.4f}),')
    print("}")


if __name__ == "__main__":
    main()
