"""
Smoothing with missing data: ``nan_policy="ignore"``
====================================================

Real images have holes: dead pixels, saturated regions masked out, clouds
over a satellite scene, all marked NaN. An ordinary blur spreads every NaN
over the kernel's whole footprint. With ``nan_policy="ignore"`` cfilter
does a *normalised convolution* instead: NaN pixels are left out and the
remaining weights rescaled,

.. math:: \\text{out} = \\frac{\\sum_\\text{valid} w\\,x}{\\sum_\\text{valid} w}\\,\\sum_\\text{all} w,

so each output is the weighted mean of the valid pixels near it. Where no
weight is valid the result stays NaN.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage as ndi
import skimage.data

import cfilter

# %%
# An image with holes
# -------------------
#
# The ``camera`` image with 30% of its pixels missing at random and a
# missing disc, as if masked out.

camera = skimage.data.camera().astype(np.float64)
rng = np.random.default_rng(0)
holes = rng.random(camera.shape) < 0.3
yy, xx = np.mgrid[:512, :512]
holes |= (yy - 150) ** 2 + (xx - 350) ** 2 < 40 ** 2
damaged = np.where(holes, np.nan, camera)
print(f"{holes.mean():.1%} of the pixels are NaN")

plain = cfilter.gaussian_blur(damaged, sigma=2)
ignored = cfilter.gaussian_blur(damaged, sigma=2, nan_policy="ignore")
print(f"NaN after a plain blur:       {np.isnan(plain).mean():.1%}")
print(f"NaN with nan_policy='ignore': {np.isnan(ignored).mean():.1%}")

# %%
# Checked: the same normalised convolution built from two ordinary blurs
# with SciPy, one of the image with zeros in the holes and one of the mask
# of valid pixels (the Gaussian's weights sum to 1):

valid = ~holes
numerator = ndi.gaussian_filter(np.where(valid, camera, 0.0), sigma=2)
denominator = ndi.gaussian_filter(valid.astype(np.float64), sigma=2)
with np.errstate(invalid="ignore", divide="ignore"):
    reference = numerator / denominator
reference[denominator == 0] = np.nan
both = ~np.isnan(reference)
assert np.array_equal(np.isnan(ignored), ~both)
print("largest difference from the SciPy construction:",
      f"{np.abs(ignored[both] - reference[both]).max():.1e}")
assert np.allclose(ignored[both], reference[both], atol=1e-6)

# %%
# How close to the undamaged image
# --------------------------------
#
# With almost a third of the pixels missing, every 17x17 window of the
# plain blur holds a NaN, so its whole result is NaN. Compared with
# blurring the original, undamaged image, the normalised result is close
# everywhere except in the middle of the big hole, where no valid pixel is
# near (those stay NaN: there is nothing to average).

truth = cfilter.gaussian_blur(camera, sigma=2)
error = np.abs(ignored - truth)
print(f"median error {np.nanmedian(error):.2f} grey levels, "
      f"95th percentile {np.nanpercentile(error, 95):.2f}")

fig, axes = plt.subplots(1, 4, figsize=(14, 3.9))
for ax, (title, img) in zip(axes, [("damaged (NaN in red)", damaged),
                                   ("gaussian_blur(sigma=2)", plain),
                                   ('nan_policy="ignore"', ignored),
                                   ("the undamaged image, blurred", truth)]):
    cmap = plt.get_cmap("gray").with_extremes(bad="tab:red")
    ax.imshow(img, cmap=cmap, vmin=0, vmax=255)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
fig.tight_layout()

# %%
# The same on a 1-D signal with gaps, with :func:`cfilter.convolve1d`:

t = np.linspace(0, 4 * np.pi, 200)
signal = np.sin(t) + 0.25 * rng.standard_normal(t.size)
signal[rng.random(t.size) < 0.2] = np.nan
signal[90:110] = np.nan
average = np.full(9, 1 / 9)
smooth = cfilter.convolve1d(signal, average, nan_policy="ignore")

fig, ax = plt.subplots(figsize=(9, 3.4))
ax.plot(t, signal, ".", color="0.6", label="signal with gaps")
ax.plot(t, smooth, color="tab:blue", label='moving average, nan_policy="ignore"')
ax.legend(fontsize=8)
fig.tight_layout()
print("NaN left in the smoothed signal:", int(np.isnan(smooth).sum()),
      "of", t.size)
