"""Template search, frequency filters and NaN-aware filtering against their
peers, interleaved in one process.

    python benchmarks/bench_features.py [--threads N ...] [--quick]

* ``match_template``: float32 1024x1024, a 31x31 template, 'valid', vs
  ``cv2.matchTemplate(TM_CCOEFF_NORMED)`` (goal: ratio <= 1.0) and
  ``skimage.feature.match_template`` (goal <= 0.25);
* ``frequency_filter``: float32 2048x2048, Butterworth lowpass, vs
  ``skimage.filters.butterworth`` (goal <= 0.5);
* ``nan_policy='ignore'`` vs ``'propagate'``: Gaussian sigma 2 on float32
  2048x2048 holding 1% NaN for 'ignore' (goal <= 2.5).

Each ``--threads`` value (default: 1 and 2) gives cfilter that many workers
and OpenCV as many threads; scikit-image runs on one.  The ratios are
cfilter's time over the peer's: below 1 means cfilter is faster.
"""
import argparse
import os
import sys

import numpy as np

import cfilter
from cfilter import _bench

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved, table  # noqa: E402

try:
    import cv2
except ImportError:
    cv2 = None
try:
    from skimage.feature import match_template as sk_match
    from skimage.filters import butterworth as sk_butterworth
except ImportError:
    sk_match = sk_butterworth = None


def template_case(threads):
    rng = np.random.default_rng(0)
    image = rng.random((1024, 1024), dtype=np.float32)
    template = image[500:531, 300:331] + rng.normal(
        scale=0.1, size=(31, 31)).astype(np.float32)
    cands = {"cfilter": lambda: cfilter.match_template(image, template,
                                                       workers=threads)}
    if cv2 is not None:
        cands["opencv"] = lambda: cv2.matchTemplate(image, template,
                                                    cv2.TM_CCOEFF_NORMED)
    if sk_match is not None:
        cands["skimage"] = lambda: sk_match(image, template)
    return cands


def frequency_case(threads):
    image = np.random.default_rng(1).random((2048, 2048), dtype=np.float32)
    cands = {"cfilter": lambda: cfilter.frequency_filter(image, 0.1,
                                                         workers=threads)}
    if sk_butterworth is not None:
        cands["skimage"] = lambda: sk_butterworth(image, 0.1, high_pass=False)
    return cands


def nan_case(threads):
    rng = np.random.default_rng(2)
    image = rng.random((2048, 2048), dtype=np.float32)
    holed = image.copy()
    holed[rng.random(image.shape) < 0.01] = np.nan
    cands = {"ignore": lambda: cfilter.gaussian_blur(
        holed, 2, nan_policy="ignore", workers=threads),
        "propagate": lambda: cfilter.gaussian_blur(image, 2, workers=threads)}
    try:
        cands["ignore"]()
    except TypeError:          # a build without nan_policy
        del cands["ignore"]
    return cands


def report(threads_list, quick, repeats):
    repeats = 3 if quick else repeats
    rows = {"template": [], "frequency": [], "nan": []}
    for threads in threads_list:
        if cv2 is not None:
            cv2.setNumThreads(threads)
        label = f"{threads} thr"
        rows["template"].append((f"match_template 1024² 31x31, {label}",
                                 interleaved(template_case(threads),
                                             repeats, warmup=1)))
        rows["frequency"].append((f"frequency_filter 2048², {label}",
                                  interleaved(frequency_case(threads),
                                              repeats, warmup=1)))
        rows["nan"].append((f"gaussian σ2 2048², {label}",
                            interleaved(nan_case(threads), repeats,
                                        warmup=1)))
    out = [table(rows["template"], ["cfilter", "opencv", "skimage"], "cfilter"),
           table(rows["frequency"], ["cfilter", "skimage"], "cfilter")]
    if all("ignore" in med for _, med in rows["nan"]):
        out.append(table(rows["nan"], ["ignore", "propagate"], "ignore"))
    return ("Ratios are cfilter's time over the peer's (below 1: cfilter "
            "faster; in the NaN table, 'ignore' over 'propagate').\n\n"
            + "\n\n".join(out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--quick", action="store_true",
                    help="fewer repeats, for a smoke run")
    ap.add_argument("--repeats", type=int, default=21,
                    help="timed rounds per case (default 21: these calls "
                    "allocate tens of megabytes, and their times spread "
                    "more than the filters')")
    ap.add_argument("--json", help="also write the measurements to this "
                    "file (with the machine, versions, date and load)")
    args = ap.parse_args(argv)
    if args.repeats < 1 or min(args.threads) < 1:
        ap.error("--repeats and --threads take whole numbers >= 1")
    del _bench.TABLES[:]
    text = report(args.threads, args.quick, args.repeats)
    print(text)
    if args.json:
        _bench.save_results(args.json, "features",
                            [{"threads": args.threads, "title": "features",
                              "tables": list(_bench.TABLES)}],
                            quick=args.quick)


if __name__ == "__main__":
    main()
