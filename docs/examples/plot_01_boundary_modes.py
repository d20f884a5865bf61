"""
Boundary modes, side by side
============================

Near the border the kernel reaches past the image, and ``mode`` says what it
finds there (:doc:`/guide/modes`). This example shows the five modes twice:
first the extended image itself, then what a wide blur makes of it, on the
``camera`` image of scikit-image and on a 1-D signal.
"""

# sphinx_gallery_thumbnail_number = 1

import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import cfilter

MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]

# %%
# What the kernel sees
# --------------------
#
# A kernel that is zero except for a 1 in its centre copies the pixel under
# that centre. With ``padding="full"`` the output covers every position where
# the kernel overlaps the image, so a 1-at-the-centre kernel of size
# ``2r + 1`` returns the image *extended* by ``r`` pixels on each side: the
# picture of the mode, drawn by cfilter itself. We check it against
# ``numpy.pad``, whose names differ (cfilter's ``reflect`` is numpy's
# ``symmetric``, cfilter's ``mirror`` numpy's ``reflect``).

image = skimage.data.camera()[::4, ::4].astype(np.float32)   # 128x128
r = 40
centre = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
centre[r, r] = 1
numpy_name = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge",
              "wrap": "wrap", "constant": "constant"}

fig, axes = plt.subplots(2, 3, figsize=(10, 7))
axes[0, 0].imshow(image, cmap="gray", vmin=0, vmax=255,
                  extent=(r - 0.5, r + 127.5, r + 127.5, r - 0.5))
axes[0, 0].set_xlim(-0.5, 128 + 2 * r - 0.5)
axes[0, 0].set_ylim(128 + 2 * r - 0.5, -0.5)
axes[0, 0].set_title("the image", fontsize=16)
for ax, mode in zip(axes.flat[1:], MODES):
    extended = cfilter.correlate(image, centre, mode=mode, padding="full")
    assert np.array_equal(extended, np.pad(image, r, mode=numpy_name[mode]))
    ax.imshow(extended, cmap="gray", vmin=0, vmax=255)
    ax.set_title(mode, fontsize=16, family="monospace")
for ax in axes.flat:
    # the image's own border
    ax.add_patch(plt.Rectangle((r - 0.5, r - 0.5), 128, 128, fill=False,
                               edgecolor="tab:red", linewidth=2))
    ax.set_axis_off()
fig.tight_layout()
print("extended shape:", extended.shape, "= 128 + 2 *", r)

# %%
# ``reflect`` and ``mirror`` look alike; they differ by one pixel: ``reflect``
# repeats the edge pixel (``dcba|abcd``), ``mirror`` does not
# (``dcb|abcd``). On a row of four values, with three values of extension:

row = np.array([[1.0, 2.0, 3.0, 4.0]])
pick = np.zeros((1, 7))
pick[0, 3] = 1
for mode in MODES:
    ext = cfilter.correlate(row, pick, mode=mode, padding="full", cval=0)
    print(f"{mode:9s}", ext[0, :3], "|", ext[0, 3:7], "|", ext[0, 7:])

# %%
# What a blur makes of it
# -----------------------
#
# A Gaussian of sigma 8 mixes in pixels up to 32 away, so the outermost band
# of the result depends on the mode. ``constant`` (zeros) darkens the
# border, ``wrap`` brings in the opposite edge, the three others keep the
# border's brightness (the mean of the outermost band is printed below).

blur = cfilter.kernels.gaussian(sigma=8)
fig, axes = plt.subplots(1, 5, figsize=(13, 3.0))
results = {}
for ax, mode in zip(axes, MODES):
    results[mode] = cfilter.correlate(image, blur, mode=mode)
    ax.imshow(results[mode], cmap="gray", vmin=0, vmax=255)
    ax.set_title(f'mode="{mode}"')
    ax.set_axis_off()

# the interior, where the kernel never leaves the image, is the same
inner = np.s_[33:-33, 33:-33]
for mode in MODES[1:]:
    assert np.allclose(results[mode][inner], results["reflect"][inner],
                       atol=1e-3)
print("mean of the 8-pixel border band:")
band = np.ones(image.shape, bool)
band[8:-8, 8:-8] = False
for mode in MODES:
    print(f"  {mode:9s} {results[mode][band].mean():6.1f}")

# %%
# On a 1-D signal
# ---------------
#
# The same choice in one dimension, with :func:`cfilter.convolve1d`: a
# rising signal smoothed by a 21-tap moving average. Away from the ends all
# modes agree; at the ends ``constant`` pulls the result towards 0,
# ``wrap`` towards the value at the other end, ``nearest`` holds it flat,
# and the two mirrors keep the local trend.

t = np.linspace(0, 1, 120)
signal = 2 + 3 * t + 0.4 * np.sin(12 * np.pi * t)
average = np.full(21, 1 / 21)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
for ax, part in [(left, slice(0, 30)), (right, slice(90, 120))]:
    ax.plot(np.arange(120)[part], signal[part], "k.", label="signal")
    for mode in MODES:
        smooth = cfilter.convolve1d(signal, average, mode=mode)
        ax.plot(np.arange(120)[part], smooth[part], label=mode)
left.set_title("first 30 samples")
right.set_title("last 30 samples")
left.legend(ncol=2, fontsize=8)
fig.tight_layout()

# a moving average checked against numpy at an interior sample
print("sample 60:", cfilter.convolve1d(signal, average)[60],
      np.convolve(signal, average, mode="same")[60])
assert np.isclose(cfilter.convolve1d(signal, average)[60],
                  np.convolve(signal, average, mode="same")[60])
