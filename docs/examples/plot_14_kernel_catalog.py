"""
The kernel catalog, pictured
============================

Every kernel of the catalog, :mod:`cfilter.kernels`, applied to the
``camera`` test image of scikit-image (512x512, grey levels 0 to 255). Each
picture is made by the same call, with the kernel in question::

    response = cfilter.correlate(camera, cfilter.kernels.gaussian(sigma=3))

For display, the responses of kernels whose weights sum to 0 (the
derivatives and Laplacians), which are signed, are scaled so that 0 is
mid-grey; the others are clipped to 0..255. Next to each picture are the
kernel's weights, from the ``.array`` of the :class:`~cfilter.kernels.Kernel`
(red positive, blue negative).
"""

# sphinx_gallery_thumbnail_number = 6

import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import cfilter

K = cfilter.kernels
camera = skimage.data.camera().astype(np.float32)   # 512x512, grey 0..255
print(", ".join(K.names()))


def to_display(response, kernel):
    """An 8-bit picture of a filter response.

    A kernel whose weights sum to (nearly) 0 gives a signed response: it is
    scaled so that 0 is mid-grey and a large magnitude (the 99.5th
    percentile, so that a few extreme pixels do not wash the picture out)
    black or white. The others keep the image's 0..255 scale, clipped.
    """
    weights = kernel.array
    if abs(weights.sum()) <= 1e-3 * np.abs(weights).sum():
        peak = np.percentile(np.abs(response), 99.5)
        response = 127.5 + 127.5 * response / (peak if peak > 0 else 1.0)
    return np.clip(np.rint(response), 0, 255).astype(np.uint8)


def show(*kernels):
    """The response of the camera image to each kernel, beside its weights."""
    fig, axes = plt.subplots(len(kernels), 2, figsize=(7.5, 3.6 * len(kernels)),
                             gridspec_kw={"width_ratios": [2, 1]},
                             squeeze=False)
    for (picture, weights), (title, kernel) in zip(axes, kernels):
        response = cfilter.correlate(camera, kernel)        # mode="reflect"
        picture.imshow(to_display(response, kernel), cmap="gray",
                       vmin=0, vmax=255)
        picture.set_title(title)
        picture.set_axis_off()
        w = kernel.array
        lim = np.abs(w).max()
        weights.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim)
        weights.set_title(f"weights, {w.shape[0]}x{w.shape[1]}")
        weights.set_xticks([])
        weights.set_yticks([])
        if w.size <= 9:
            for (i, j), v in np.ndenumerate(w):
                weights.text(j, i, f"{v:g}", ha="center", va="center")
    fig.tight_layout()


# %%
# Original and ``identity``
# -------------------------
#
# ``cfilter.kernels.identity()`` returns the image unchanged:

show(("identity()", K.identity()))
print(K.identity().array)
assert np.array_equal(cfilter.correlate(camera, K.identity()), camera)

# %%
# Blurs
# -----
#
# ``box(size=9)`` is the mean over a 9x9 window (every weight 1/81; see also
# :func:`cfilter.box_blur`). ``gaussian(sigma=3)`` is a Gaussian of standard
# deviation 3 pixels and radius ``int(4.0 * 3 + 0.5) = 12``; it is
# separable, and carries its two 1-D factors (see also
# :func:`cfilter.gaussian_blur`).

show(("box(size=9)", K.box(size=9)), ("gaussian(sigma=3)", K.gaussian(sigma=3)))
k = K.box(size=9)
print("box:", k.array.shape, "all 1/81:", bool(np.allclose(k.array, 1 / 81)))
k = K.gaussian(sigma=3)
print("gaussian:", k.array.shape, "factors:", [f.shape for f in k.factors])

# %%
# ``motion_blur(length=15, angle=30)`` is the mean along a line 15 pixels
# long at 30° (counter-clockwise from the horizontal), as a moving camera
# would record it. Its non-zero taps and their sum:

show(("motion_blur(length=15, angle=30)", K.motion_blur(length=15, angle=30)))
k = K.motion_blur(length=15, angle=30)
print((k.array > 0).astype(int))
print("sum of weights:", float(k.array.sum()))

# %%
# Sharpening and relief
# ---------------------
#
# ``sharpen(amount=1)`` is ``identity + amount * (identity - box3)``: it sums
# to 1, so flat regions keep their value while edges are steepened (see also
# :func:`cfilter.sharpen`). ``emboss()`` adds a diagonal difference to the
# image (the weights sum to 1), which makes edges look raised or sunk as if
# lit from one corner.

show(("sharpen(amount=1)", K.sharpen(amount=1)), ("emboss()", K.emboss()))
print("sharpen weights times 9:\n", K.sharpen(amount=1).array * 9)
print("emboss weights:\n", K.emboss().array)

# %%
# Second derivatives
# ------------------
#
# ``laplacian()`` is the 4-neighbour Laplacian (``diagonal=True`` gives the
# 8-neighbour one; see also :func:`cfilter.laplace`). It responds to fine
# detail and noise, the grass here. ``log(sigma=2)`` is the Laplacian of a
# Gaussian of standard deviation 2: smoothing first suppresses the noise,
# and the zero crossings of the response mark the edges.

show(("laplacian()", K.laplacian()), ("log(sigma=2)", K.log(sigma=2)))
print(K.laplacian().array)
k = K.log(sigma=2)
print("log:", k.array.shape, "negative centre:", bool(k.array[8, 8] < 0))

# %%
# First derivatives: ``sobel``, ``prewitt``, ``scharr``
# -----------------------------------------------------
#
# Each differentiates along ``axis`` and smooths across it: ``axis=0``
# differentiates down the rows and so shows horizontal edges, ``axis=1``
# vertical ones. They differ in the smoothing weights (Sobel ``1 2 1``,
# Prewitt ``1 1 1``, Scharr ``3 10 3``). All are separable. See also
# :func:`cfilter.sobel`, :func:`cfilter.prewitt` and :func:`cfilter.scharr`,
# which also give the gradient magnitude.

show(("sobel(axis=0)", K.sobel(axis=0)), ("sobel(axis=1)", K.sobel(axis=1)))
print(K.sobel(axis=0).array)
print("factors:", K.sobel(axis=0).factors)
assert np.array_equal(K.sobel(axis=1).array, K.sobel(axis=0).array.T)

# %%

show(("prewitt(axis=0)", K.prewitt(axis=0)), ("prewitt(axis=1)", K.prewitt(axis=1)))
print(K.prewitt(axis=0).array)

# %%

show(("scharr(axis=0)", K.scharr(axis=0)), ("scharr(axis=1)", K.scharr(axis=1)))
print(K.scharr(axis=0).array)

# %%
# Every kernel of the catalog appears on this page:

shown = {"identity", "box", "gaussian", "motion_blur", "sharpen", "emboss",
         "laplacian", "log", "sobel", "prewitt", "scharr"}
assert shown == set(K.names()), sorted(set(K.names()) - shown)
