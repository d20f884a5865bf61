"""Calibrate the 'auto' cost model (cfilter._plan.COSTS) on this machine.

Times each engine over a range of kernel sizes on a float32 image, fits
``time = fixed + per_tap * taps`` per output pixel by least squares (taps:
kh*kw for direct, kh+kw for separable, none for box), for lowrank
``time = fixed + terms * (per_term + per_tap * (kh + kw))``, and for the FFT
engine ``time = per_pixel * extended_pixels + per_work * fft_work`` (both
from the planner's tiling), and prints the constants in units of one direct
tap, ready to paste into cfilter/_plan.py.

``--tiles`` first measures the FFT engine's time per tile pixel for each
tile length the planner may choose (one thread, 2048 x 2048), the table
``TILE_NS`` in cfilter/_plan.py that the tiling's work is weighed by.

    python benchmarks/calibrate.py [--size 1024] [--tiles]
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


def tile_costs(repeats):
    """Nanoseconds per tile pixel of the FFT engine for each tile length,
    on one thread (square tiles over 2048 x 2048, a kernel a sixth of the
    tile, so fills and copies weigh as in use)."""
    from cfilter._core import _fftconv
    from cfilter._core._boundary import BoundaryMode
    from cfilter._plan import _TILE_SIZES
    rng = np.random.default_rng(0)
    size = 2048
    planes = rng.random((1, size, size), dtype=np.float32)
    out = np.empty_like(planes)
    costs = {}
    for n in _TILE_SIZES:
        k = max(3, n // 6) | 1
        kernel = rng.random((k, k)).astype(np.float32)
        t = n - k + 1
        tiles = (-(-size // t)) ** 2

        def run():
            _fftconv.correlate_tiles(planes, kernel, out, k // 2, k // 2, 1,
                                     1, BoundaryMode.REFLECT, 0.0, n, t, n,
                                     t, 1)
        sec = interleaved({"x": run}, repeats, warmup=1)["x"]
        costs[n] = sec / (tiles * n * n) * 1e9
    return costs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--tiles", action="store_true",
                    help="measure the FFT engine's cost per tile length")
    args = ap.parse_args(argv)
    if args.tiles:
        costs = tile_costs(args.repeats)
        print("TILE_NS = {")
        for n, c in costs.items():
            print(f"    {n}: {c:.2f},")
        print("}\n")
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

    # lowrank: kernels of rank r, sums of r random outer products
    lowrank = []
    for k in (15, 25, 41):
        for r in (2, 3, 5):
            kern = sum(np.outer(rng.random(k), rng.random(k))
                       for _ in range(r))
            lowrank.append((r, 2 * k, timed(kern, "lowrank")))
    lr = np.array(lowrank, dtype=float)
    (l_fixed, l_term, l_tap), *_ = np.linalg.lstsq(
        np.column_stack([np.ones(len(lr)), lr[:, 0], lr[:, 0] * lr[:, 1]]),
        lr[:, 2], rcond=None)

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
    print(f'    "lowrank": ({max(l_fixed, 0) / unit:.1f}, '
          f'{max(l_term, 0) / unit:.1f}, {max(l_tap, 0) / unit:.2f}),')
    print("}")
    print("  lowrank   " + ", ".join(f"r{int(r)} k{int(t) // 2}:{s * 1e9:.2f}ns"
                                     for r, t, s in lowrank))


if __name__ == "__main__":
    main()
