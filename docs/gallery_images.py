"""Make the images of the kernel gallery (docs/gallery.rst).

Applies every kernel of the catalog, ``cfilter.kernels.names()``, to the
``camera`` test image of scikit-image and writes one PNG per kernel (and per
axis for the derivative kernels) into ``docs/_generated/``.  The Sphinx
configuration runs it at build time; to run it by hand::

    python docs/gallery_images.py [output-directory]
"""
import os
import sys

import imageio.v3 as iio
import numpy as np
import skimage.data

import cfilter
from cfilter import kernels

HERE = os.path.dirname(os.path.abspath(__file__))
OUTDIR = os.path.join(HERE, "_generated")

# One entry per gallery image: (file name, catalog name, parameters).
GALLERY = [
    ("identity", "identity", {}),
    ("box", "box", {"size": 9}),
    ("gaussian", "gaussian", {"sigma": 3}),
    ("motion_blur", "motion_blur", {"length": 15, "angle": 30}),
    ("sharpen", "sharpen", {"amount": 1}),
    ("emboss", "emboss", {}),
    ("laplacian", "laplacian", {}),
    ("log", "log", {"sigma": 2}),
    ("sobel_0", "sobel", {"axis": 0}),
    ("sobel_1", "sobel", {"axis": 1}),
    ("prewitt_0", "prewitt", {"axis": 0}),
    ("prewitt_1", "prewitt", {"axis": 1}),
    ("scharr_0", "scharr", {"axis": 0}),
    ("scharr_1", "scharr", {"axis": 1}),
]


def to_display(response, kernel):
    """An 8-bit picture of a filter response.

    Kernels whose weights sum to (nearly) 0 (derivatives, Laplacians) give
    signed responses: they are scaled so that 0 is mid-grey and a large
    magnitude (the 99.5th percentile, so that a few extreme pixels do not
    wash the picture out) black or white.  The others keep the image's
    0..255 scale and are clipped to it.
    """
    weights = kernel.array
    if abs(weights.sum()) <= 1e-3 * np.abs(weights).sum():
        peak = np.percentile(np.abs(response), 99.5)
        scaled = 127.5 + 127.5 * response / (peak if peak > 0 else 1.0)
    else:
        scaled = response
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def main(outdir=OUTDIR):
    """Write ``camera.png`` and one PNG per gallery entry into ``outdir``."""
    os.makedirs(outdir, exist_ok=True)
    camera = skimage.data.camera().astype(np.float32)   # 512x512, grey 0..255
    iio.imwrite(os.path.join(outdir, "camera.png"), camera.astype(np.uint8))
    covered = set()
    for filename, name, params in GALLERY:
        kernel = kernels.get(name, **params)
        response = cfilter.correlate(camera, kernel)      # mode="reflect"
        iio.imwrite(os.path.join(outdir, filename + ".png"),
                    to_display(response, kernel))
        covered.add(name)
    missing = set(kernels.names()) - covered
    if missing:
        raise RuntimeError(f"gallery misses catalog kernels: {sorted(missing)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
