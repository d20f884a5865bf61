"""Direct 2-D correlation: cfilter vs OpenCV filter2D vs scipy.ndimage.

float32 2048 x 2048, reflect border (OpenCV BORDER_REFLECT), square kernels
3, 5 and 7, all threads; then cfilter's thread scaling on the 7 x 7 case.

    python benchmarks/bench_direct.py [--quick] [--size N]

Ratios below 1 mean cfilter is faster.  The cases and the table live in
``cfilter._bench`` (shared with ``cfilter bench``); this is a thin wrapper.
"""
from cfilter import _bench


def main(argv=None):
    _bench.script(_bench.direct, __doc__, argv)


if __name__ == "__main__":
    main()
