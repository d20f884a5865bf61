"""Named filters: cfilter vs OpenCV vs scipy.ndimage, side by side.

float32 2048 x 2048, reflect border (OpenCV BORDER_REFLECT), all threads:
Gaussian sigma 1, 3, 8 (cv2.GaussianBlur, ndi.gaussian_filter), box 3, 15,
51 (cv2.blur, ndi.uniform_filter), Sobel along each axis (cv2.Sobel,
ndi.sobel).

    python benchmarks/bench_filters.py [--quick] [--size N]

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
except ImportError:
    cv2 = None

REFLECT = cv2.BORDER_REFLECT if cv2 is not None else None


def cases(image):
    """(name, cfilter, opencv or None, scipy) for every benchmarked filter."""
    out = []
    for sigma in (1, 3, 8):
        radius = int(4.0 * sigma + 0.5)
        size = 2 * radius + 1
        out.append((
            f"gaussian sigma {sigma}",
            lambda s=sigma: cfilter.gaussian_blur(image, s),
            cv2 and (lambda s=sigma, k=size: cv2.GaussianBlur(
                image, (k, k), s, borderType=REFLECT)),
            lambda s=sigma: ndi.gaussian_filter(image, s, mode="reflect")))
    for size in (3, 15, 51):
        out.append((
            f"box {size}",
            lambda k=size: cfilter.box_blur(image, k),
            cv2 and (lambda k=size: cv2.blur(image, (k, k), borderType=REFLECT)),
            lambda k=size: ndi.uniform_filter(image, k, mode="reflect")))
    for axis in (0, 1):
        out.append((
            f"sobel axis {axis}",
            lambda a=axis: cfilter.sobel(image, axis=a),
            cv2 and (lambda a=axis: cv2.Sobel(image, cv2.CV_32F, a, 1 - a,
                                              borderType=REFLECT)),
            lambda a=axis: ndi.sobel(image, axis=a, mode="reflect")))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else 11
    image = np.random.default_rng(0).random((args.size, args.size),
                                            dtype=np.float32)
    rows = []
    for name, ours, theirs, scipy_fn in cases(image):
        cands = {"cfilter": ours}
        if theirs:
            cands["opencv"] = theirs
        cands["scipy"] = scipy_fn
        rows.append((name, interleaved(cands, repeats)))
    cols = ["cfilter"] + (["opencv"] if cv2 is not None else []) + ["scipy"]
    print(f"float32 {args.size}x{args.size}, reflect, "
          f"{cfilter.get_num_threads()} threads")
    print(table(rows, cols, "cfilter"))


if __name__ == "__main__":
    main()
