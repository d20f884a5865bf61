"""Named filters: cfilter vs OpenCV vs scipy.ndimage, side by side.

float32 2048 x 2048, reflect border (OpenCV BORDER_REFLECT), all threads:
Gaussian sigma 1, 3, 8 (cv2.GaussianBlur, ndi.gaussian_filter), box 3, 15,
51 (cv2.blur, ndi.uniform_filter), Sobel along each axis (cv2.Sobel,
ndi.sobel).

    python benchmarks/bench_filters.py [--quick] [--size N]

Ratios below 1 mean cfilter is faster.  The cases and the table live in
``cfilter._bench`` (shared with ``cfilter bench``); this is a thin wrapper.
"""
from cfilter import _bench


def main(argv=None):
    _bench.script(_bench.filters, __doc__, argv)


if __name__ == "__main__":
    main()
