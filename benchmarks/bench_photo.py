"""Photographs: uint8 in and out, grey and RGB, cfilter vs OpenCV vs scipy.

uint8 2048 x 2048 with a 5 x 5 kernel (cv2.filter2D) and Gaussian sigma 2
(cv2.GaussianBlur), and an RGB uint8 1024 x 1024 x 3 image with a 5 x 5 box
and ``channel_axis=-1`` (cv2.blur), all with the reflect border and uint8
output.  Peers run interleaved in one process.

    python benchmarks/bench_photo.py [--quick] [--size N] [--threads 1 2]

Ratios below 1 mean cfilter is faster.
"""
from cfilter import _bench


def main(argv=None):
    _bench.script(_bench.photos, __doc__, argv)


if __name__ == "__main__":
    main()
