"""
Feature maps from a bank of kernels
===================================

A convolutional layer applies many kernels to the same input, and each
kernel's response is a *feature map*: edges of one direction, blobs, fine
texture. Here a bank of hand-made kernels (the ones a network often learns
in its first layer) goes through :func:`cfilter.nn.conv2d`, which takes
PyTorch's ``NCHW`` layout and conventions (a correlation, zero padding).
"""

# sphinx_gallery_thumbnail_number = 3

import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage
import skimage.data

import cfilter

K = cfilter.kernels

# %%
# A bank of eight kernels
# -----------------------
#
# All 5x5 (the 3x3 ones are padded with zeros), stacked into a weight array
# of shape ``(out_channels, in_channels, 5, 5) = (8, 1, 5, 5)``.


def five(kernel):
    a = np.asarray(kernel, dtype=np.float32)
    pad = (5 - a.shape[0]) // 2
    return np.pad(a, pad)


bank = {
    "Sobel, rows": five(K.sobel(axis=0).array),
    "Sobel, columns": five(K.sobel(axis=1).array),
    "diagonal": five([[2, 1, 0], [1, 0, -1], [0, -1, -2]]),
    "anti-diagonal": five([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]]),
    "Laplacian": five(K.laplacian().array),
    # the LoG cut to 5x5, re-centred so that it still sums to 0
    "LoG, sigma 1": (lambda a: a - a.mean())(
        K.log(sigma=1).array[2:-2, 2:-2]).astype(np.float32),
    "Gaussian": K.gaussian(sigma=1).array[2:-2, 2:-2].astype(np.float32),
    "sharpen": five(K.sharpen(amount=1).array),
}
weight = np.stack(list(bank.values()))[:, None]          # (8, 1, 5, 5)
print("weight:", weight.shape)

# %%
# One grey image, eight maps
# --------------------------
#
# The input is a batch of one single-channel image, ``(1, 1, H, W)``.
# ``padding=2`` keeps the maps at the image's size; PyTorch's
# ``padding_mode="reflect"`` (cfilter's ``mirror``) keeps the zeros of the
# default padding from drawing a frame around every map. Each map is checked
# against :func:`scipy.ndimage.correlate` with ``mode="mirror"``.

image = skimage.data.camera()[::2, ::2].astype(np.float32) / 255   # 256x256
x = image[None, None]
maps = cfilter.nn.conv2d(x, weight, padding=2, padding_mode="reflect")
print("input:", x.shape, "-> feature maps:", maps.shape)
assert maps.shape == (1, len(bank), 256, 256)
for o, kernel in enumerate(bank.values()):
    reference = scipy.ndimage.correlate(image, kernel, mode="mirror")
    assert np.allclose(maps[0, o], reference, atol=1e-5)

fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
for ax, name, fmap in zip(axes.flat, bank, maps[0]):
    lim = np.percentile(np.abs(fmap), 99.5)
    if name in ("Gaussian", "sharpen"):
        ax.imshow(fmap, cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(fmap, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(name)
    ax.set_axis_off()
fig.tight_layout()

# %%
# Colour: one kernel sums over the channels
# -----------------------------------------
#
# A colour image has three channels, and a layer's kernel has one slice per
# input channel: ``(out, 3, kh, kw)``. Each output map is the *sum* of the
# three channels' correlations. With a Sobel slice on red and its negative
# on green, the map answers where red changes differently from green; with
# ``groups=3`` each channel keeps its own map (a "depthwise" layer), like
# filtering each channel on its own.

rgb = skimage.data.astronaut()[::2, ::2].astype(np.float32) / 255   # 256x256x3
x = np.moveaxis(rgb, -1, 0)[None]                        # (1, 3, 256, 256)
sob = K.sobel(axis=1).array.astype(np.float32)
red_minus_green = np.stack([sob, -sob, 0 * sob])[None]   # (1, 3, 3, 3)
summed = cfilter.nn.conv2d(x, red_minus_green, padding=1)
per_channel = cfilter.nn.conv2d(x, np.stack([sob] * 3)[:, None], padding=1,
                                groups=3)
print("summed over channels:", summed.shape, " depthwise:", per_channel.shape)
assert np.allclose(summed[0, 0], per_channel[0, 0] - per_channel[0, 1],
                   atol=1e-5)

fig, axes = plt.subplots(1, 5, figsize=(14, 3.2))
axes[0].imshow(rgb)
axes[0].set_title("input")
for ax, fmap, title in zip(axes[1:], [summed[0, 0], *per_channel[0]],
                           ["Sobel(red) - Sobel(green)", "Sobel, red",
                            "Sobel, green", "Sobel, blue"]):
    lim = np.percentile(np.abs(fmap), 99.5)
    ax.imshow(fmap, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(title, fontsize=10)
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()

# %%
# A layer's worth of kernels
# --------------------------
#
# A first layer learns many kernels at once: 32 kernels of 16x16 over a
# 256x256 image give 32 maps of ``256 - 16 + 1 = 241`` pixels a side (no
# padding). Random kernels stand in for trained ones:

rng = np.random.default_rng(0)
many = rng.standard_normal((32, 1, 16, 16)).astype(np.float32)
out = cfilter.nn.conv2d(image[None, None], many)
print("32 kernels of 16x16 on 256x256:", out.shape)
assert out.shape == (1, 32, 241, 241)
assert out.shape[2:] == cfilter.conv_output_shape((256, 256), (16, 16))

# %%
# Four maps up close
# ------------------
#
# The camera's head and shoulders through four kernels of the bank: the
# two Sobel directions answer edges across them, the Laplacian and the LoG
# answer fine detail and blobs.

fig, axes = plt.subplots(2, 2, figsize=(8, 5.6))
names = list(bank)
for ax, name in zip(axes.flat, ["Sobel, rows", "Sobel, columns", "Laplacian",
                                "LoG, sigma 1"]):
    fmap = maps[0, names.index(name)][20:120, 80:220]
    lim = np.percentile(np.abs(fmap), 99)
    ax.imshow(fmap, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(name, fontsize=15)
    ax.set_axis_off()
fig.tight_layout()
