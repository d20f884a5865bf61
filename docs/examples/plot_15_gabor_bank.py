"""
A bank of rotated Gabor kernels, filtered fast
==============================================

The first layer of a convolutional network applies a *bank* of kernels to
its input, and each kernel's response is a *feature map*. Trained on
photographs, many of those first kernels come out as Gabor kernels:
stripes of one wavelength and direction under a Gaussian window, each
answering to edges and texture of its own orientation.

A Gabor kernel with a round envelope is the sum of two separable kernels
(rank 2), so cfilter runs each 31 x 31 kernel as two column passes and two
row passes, 124 multiply-adds per pixel instead of 961 (``method=
"lowrank"``, chosen by ``"auto"``; see :doc:`/guide/methods`). This example
builds a bank of eight orientations, computes its feature maps on a
photograph, and combines them into an orientation map. (The bank of small
hand-made kernels in :ref:`sphx_glr_auto_examples_plot_05_feature_maps.py`
shows the same idea with 5 x 5 kernels.)
"""

# sphinx_gallery_thumbnail_number = 3

import time

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage
import skimage.data

import cfilter

# %%
# The bank
# --------
#
# A Gabor kernel multiplies a cosine wave by a Gaussian envelope. Its
# stripes run across the direction ``theta``; the envelope is round
# (``sigma`` 5 pixels on both axes) and the wavelength is 8 pixels. With
# these numbers the kernel's weights sum to almost nothing (the envelope
# holds about four periods), so flat regions answer 0. The sine-phase
# kernel, the cosine's partner, is built too: the pair is used for the
# orientation map at the end.

SIZE, SIGMA, WAVELENGTH = 31, 5.0, 8.0
ANGLES = np.arange(8) * 180 / 8               # 0, 22.5, ..., 157.5 degrees


def gabor(theta_deg, phase=0.0):
    """A SIZE x SIZE Gabor kernel; ``phase`` 0 gives the cosine (even)
    kernel, ``-pi/2`` the sine (odd) one."""
    r = SIZE // 2
    y, x = np.mgrid[-r:r + 1, -r:r + 1].astype(float)
    t = np.deg2rad(theta_deg)
    along = x * np.cos(t) + y * np.sin(t)
    envelope = np.exp(-(x ** 2 + y ** 2) / (2 * SIGMA ** 2))
    kernel = envelope * np.cos(2 * np.pi * along / WAVELENGTH + phase)
    return (kernel / np.abs(kernel).sum()).astype(np.float32)


even = [gabor(a) for a in ANGLES]
odd = [gabor(a, -np.pi / 2) for a in ANGLES]

fig, axes = plt.subplots(2, 8, figsize=(12, 3.4))
for col, angle in enumerate(ANGLES):
    for row, bank in enumerate((even, odd)):
        lim = np.abs(bank[col]).max()
        axes[row, col].imshow(bank[col], cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[row, col].set_axis_off()
    axes[0, col].set_title(f"{angle:g}°", fontsize=10)
axes[0, 0].text(-4, SIZE // 2, "cosine", rotation=90, va="center",
                ha="right", fontsize=10)
axes[1, 0].text(-4, SIZE // 2, "sine", rotation=90, va="center",
                ha="right", fontsize=10)
fig.tight_layout()

# %%
# Rank 2: two separable passes per kernel
# ---------------------------------------
#
# By the cosine of a sum, with ``(a, b) = 2 pi / wavelength * (cos theta,
# sin theta)``::
#
#     e(x) e(y) cos(a x + b y) = e(x) cos(a x) * e(y) cos(b y)
#                              - e(x) sin(a x) * e(y) sin(b y)
#
# two outer products of a column and a row. The singular values of a
# kernel at 22.5 degrees show it: two of them, then the rounding noise of
# its ``float32`` weights.

s = np.linalg.svd(even[1].astype(np.float64), compute_uv=False)
print("singular values / largest:", np.array2string(s[:4] / s[0],
                                                    precision=2))

# %%
# :func:`cfilter.plan` tells what a call would do without filtering. On the
# 512 x 512 camera photograph, ``"auto"`` factorises the kernel (its
# singular value decomposition is cheap next to the filtering), finds
# rank 2, and picks the low-rank engine, whose modelled cost is the lowest:

image = skimage.data.camera().astype(np.float32) / 255        # 512 x 512
p = cfilter.plan(image, even[1])
print(f"22.5 degrees: method={p.method!r}, rank={p.rank}")
print("modelled costs:", {m: f"{c:.3g}" for m, c in p.costs.items()})
assert p.method == min(p.costs, key=p.costs.get)

# %%
# At 0 and 90 degrees the stripes run along an axis and one of ``a``,
# ``b`` is 0: the kernel is a single outer product, and the plain
# separable engine takes it.

for angle, kernel in zip(ANGLES, even):
    p = cfilter.plan(image, kernel)
    print(f"{angle:5.1f} degrees: {p.method:9s} rank "
          f"{p.rank if p.rank is not None else 1}")

# %%
# The feature maps, and their time
# --------------------------------
#
# One :func:`cfilter.correlate` per kernel, with the default ``"auto"``
# method, the ``"mirror"`` boundary mode, and the default number of
# threads. For comparison the same bank runs with ``method="direct"``,
# which sums all 961 taps at every pixel. (The times are taken while the
# documentation builds, once each, so they are rough; the machine may be
# busy with other work.)


def run_bank(bank, method):
    start = time.perf_counter()
    maps = np.stack([cfilter.correlate(image, k, mode="mirror",
                                       method=method) for k in bank])
    return maps, time.perf_counter() - start


cfilter.correlate(image, even[1], mode="mirror")          # warm-up
maps, fast = run_bank(even, "auto")
direct, slow = run_bank(even, "direct")
print(f"8 kernels of 31x31 on 512x512: auto {1000 * fast:.0f} ms, "
      f"direct {1000 * slow:.0f} ms")

# %%
# Checked: a map agrees with :func:`scipy.ndimage.correlate` (in
# ``float64``) to within 64 ``float32`` roundings of the largest window sum
# (two passes of 31 taps and the sum of two terms round at most 33 times
# per product), and every map agrees with the direct engine's to within
# that engine's own bound (961 taps: at most 481 roundings).

reference = scipy.ndimage.correlate(image.astype(np.float64),
                                    even[1].astype(np.float64),
                                    mode="mirror")
scale = np.abs(even[1]).sum() * np.abs(image).max()
tolerance = 64 * np.finfo(np.float32).eps * scale
assert np.abs(maps[1] - reference).max() < tolerance
assert np.allclose(maps, direct, rtol=0,
                   atol=tolerance + 481 * np.finfo(np.float32).eps * scale)

# %%
# The eight maps, red for a positive response and blue for a negative one
# (the colour scale saturates at the 98th percentile of the responses, so
# that texture shows beside the strongest edges). Each map lights up the
# edges and stripes that run along its kernel's stripes: the tripod's legs,
# the coat's outline, the buildings' verticals and horizontals.

fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
lim = np.percentile(np.abs(maps), 98)
for ax, angle, fmap in zip(axes.flat, ANGLES, maps):
    ax.imshow(fmap, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(f"{angle:g}°", fontsize=11)
    ax.set_axis_off()
fig.tight_layout()

# %%
# An orientation map
# ------------------
#
# The cosine kernel answers to a stripe centred on it, the sine kernel to a
# stripe beside it; the square root of the sum of their squared responses,
# the *energy*, answers to a stripe of that direction wherever it sits
# under the window (the "complex cells" of vision models). Colouring each
# pixel by the direction ``theta`` of the kernel pair with the strongest
# energy (hue; the edges there run across ``theta``) and by that energy
# (brightness) gives an orientation map of the photograph.

odd_maps, _ = run_bank(odd, "auto")
energy = np.hypot(maps, odd_maps)                       # (8, 512, 512)
best = energy.argmax(axis=0)
strength = energy.max(axis=0)
strength = np.clip(strength / np.percentile(strength, 99), 0, 1)
hsv = np.stack([best / len(ANGLES), np.ones(best.shape), strength],
               axis=-1)

fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
axes[0].imshow(image, cmap="gray")
axes[0].set_title("camera")
axes[1].imshow(mcolors.hsv_to_rgb(hsv))
axes[1].set_title("strongest kernel's theta (colour), its energy (brightness)")
for ax in axes:
    ax.set_axis_off()
# the colour of each kernel direction (hue runs once round over 180 degrees)
key = plt.cm.ScalarMappable(mcolors.Normalize(0, 180), cmap="hsv")
bar = fig.colorbar(key, ax=axes[1], fraction=0.046, pad=0.02,
                   ticks=[0, 45, 90, 135, 180])
bar.set_label("theta (degrees)")

# %%
# The same bank as a convolutional layer
# --------------------------------------
#
# Stacked into a weight array of shape ``(out_channels, in_channels, kh,
# kw) = (8, 1, 31, 31)``, the bank is the first layer of a network, and
# :func:`cfilter.nn.conv2d` (PyTorch's layout and conventions: a
# correlation, zero padding) gives the eight maps in one call. With
# ``padding=15`` and ``padding_mode="reflect"`` (cfilter's ``"mirror"``)
# they are the maps above.

weight = np.stack(even)[:, None]                        # (8, 1, 31, 31)
layer = cfilter.nn.conv2d(image[None, None], weight, padding=15,
                          padding_mode="reflect")
print("input", image[None, None].shape, "-> feature maps", layer.shape)
assert np.allclose(layer[0], maps, rtol=0, atol=tolerance)
