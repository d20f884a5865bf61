"""Direct 2-D correlation: cfilter vs OpenCV filter2D vs scipy.ndimage.

float32 2048 x 2048, reflect border (OpenCV BORDER_REFLECT), square kernels
3, 5 and 7, all threads; then cfilter's thread scaling on the 7 x 7 case.

    python benchmarks/bench_direct.py [--quick] [--size N]

Ratios below 1 mean cfilter is faster.
"""
import argparse
import os
import sys

import numpy as np
import scipy.ndimage as ndi

import cfilter

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved, table  # noqa: E402

try:
    import cv2
except ImportError:  # OpenCV is a test extra; the table just loses a column
    cv2 = None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--quick", action="store_true",
                    help="fewer repeats, for a smoke run")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else 15
    rng = np.random.default_rng(0)
    image = rng.random((args.size, args.size), dtype=np.float32)

    rows = []
    for k in (3, 5, 7):
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        cands = {"cfilter": lambda: cfilter.correlate(image, kernel,
                                                      method="direct")}
        if cv2 is not None:
            cands["opencv"] = lambda: cv2.filter2D(
                image, -1, kernel, borderType=cv2.BORDER_REFLECT)
        cands["scipy"] = lambda: ndi.correlate(image, kernel, mode="reflect")
        rows.append((f"{k}x{k}", interleaved(cands, repeats if k > 3 or not args.quick else 3)))
    cols = ["cfilter"] + (["opencv"] if cv2 is not None else []) + ["scipy"]
    print(f"float32 {args.size}x{args.size}, reflect, direct correlation, "
          f"{cfilter.get_num_threads()} threads")
    print(table(rows, cols, "cfilter"))

    kernel = rng.standard_normal((7, 7)).astype(np.float32)
    med = interleaved({
        "1 worker": lambda: cfilter.correlate(image, kernel, workers=1,
                                              method="direct"),
        "2 workers": lambda: cfilter.correlate(image, kernel, workers=2,
                                               method="direct"),
    }, repeats)
    print(f"\n7x7 thread scaling: 1 worker {med['1 worker'] * 1e3:.2f} ms, "
          f"2 workers {med['2 workers'] * 1e3:.2f} ms, "
          f"speed-up {med['1 worker'] / med['2 workers']:.2f}x")


if __name__ == "__main__":
    main()
