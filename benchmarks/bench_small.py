"""Small images: time per call of cfilter, OpenCV and scipy.ndimage.

float32 64², 256² and 512² images, a 3 x 3 kernel (cv2.filter2D) and
Gaussian sigma 1 (cv2.GaussianBlur), reflect border, each timed as a batch
of calls; the table gives µs per call.

    python benchmarks/bench_small.py [--quick] [--threads 1 2]

Ratios below 1 mean cfilter is faster.
"""
from cfilter import _bench


def main(argv=None):
    _bench.script(_bench.small, __doc__, argv, size=False)


if __name__ == "__main__":
    main()
