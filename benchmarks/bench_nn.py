"""NCHW layers and transposed convolution: cfilter vs torch (CPU).

1. ``cfilter.nn.conv2d`` and ``conv_transpose2d`` against
   ``torch.nn.functional`` on a (8, 16, 128, 128) float32 batch with 32 3x3
   filters, padding 1, torch limited to 2 threads (the project machine's
   cores).  Target: within 2x of torch.
2. Single-image ``cfilter.conv_transpose`` against ``cfilter.correlate``
   with the same parameters on 2048 x 2048 float32: 3x3 and 7x7 kernels,
   three modes, strides 1 to 3, dilation 2.  Target: the transpose no
   slower than the forward call.

    python benchmarks/bench_nn.py [--quick] [--size N]

Ratios below 1 mean cfilter (or the transpose) is faster.
"""
import argparse
import os
import sys

import numpy as np

import cfilter

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved, table  # noqa: E402


def _layers(repeats):
    import torch
    F = torch.nn.functional
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 16, 128, 128), dtype=np.float32)
    w = rng.standard_normal((32, 16, 3, 3), dtype=np.float32)
    wt = rng.standard_normal((16, 32, 3, 3), dtype=np.float32)
    b = rng.standard_normal(32, dtype=np.float32)
    xt, w_t, wt_t, b_t = (torch.from_numpy(a) for a in (x, w, wt, b))
    rows = []
    with torch.no_grad():
        for stride in (1, 2):
            rows.append((f"conv2d s{stride}", interleaved({
                "cfilter": lambda: cfilter.nn.conv2d(x, w, b, stride=stride,
                                                     padding=1),
                "torch": lambda: F.conv2d(xt, w_t, b_t, stride=stride,
                                          padding=1),
            }, repeats)))
            op = stride - 1
            rows.append((f"conv_transpose2d s{stride}", interleaved({
                "cfilter": lambda: cfilter.nn.conv_transpose2d(
                    x, wt, b, stride=stride, padding=1, output_padding=op),
                "torch": lambda: F.conv_transpose2d(
                    xt, wt_t, b_t, stride=stride, padding=1,
                    output_padding=op),
            }, repeats)))
    print("(8, 16, 128, 128) float32, 32 3x3 filters, padding 1, "
          "torch with 2 threads")
    print(table(rows, ["cfilter", "torch"], "cfilter"))


# (stride, dilation, padding) of the single-image cases
_SINGLE_CASES = [(1, 1, "same"), (1, 2, "same"), (2, 1, 1), ((1, 2), 1, 1),
                 (3, 1, 1)]


def _single(repeats, size):
    rng = np.random.default_rng(1)
    image = rng.random((size, size), dtype=np.float32)
    rows = []
    for k in (3, 7):
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        for mode in ("constant", "reflect", "wrap"):
            for stride, dilation, padding in _SINGLE_CASES:
                if padding != "same":
                    padding = k // 2
                kw = dict(mode=mode, padding=padding, stride=stride,
                          dilation=dilation)
                y = cfilter.correlate(image, kernel, **kw)
                rows.append((f"{k}x{k} {mode}, stride={stride}, "
                             f"dilation={dilation}, padding={padding!r}",
                             interleaved({
                                 "conv_transpose": lambda: cfilter.conv_transpose(
                                     y, kernel, output_shape=image.shape, **kw),
                                 "correlate": lambda: cfilter.correlate(
                                     image, kernel, **kw),
                             }, repeats)))
    print(f"\nfloat32 {size}x{size}, {cfilter.get_num_threads()} threads")
    head = "| case | conv_transpose ms | correlate ms | transpose/correlate |"
    print(head + "\n|---|---|---|---|")
    for case, med in rows:
        print(f"| {case} | {med['conv_transpose'] * 1e3:.2f} | "
              f"{med['correlate'] * 1e3:.2f} | "
              f"{med['conv_transpose'] / med['correlate']:.2f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer repeats, for a smoke run")
    ap.add_argument("--size", type=int, default=2048,
                    help="side of the single images (default 2048)")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else 15
    try:
        _layers(repeats)
    except ImportError:
        print("torch is not installed: skipping the layer comparison")
    _single(repeats, args.size)


if __name__ == "__main__":
    main()
