"""
Convolution, correlation and the 180° flip
==========================================

:func:`cfilter.correlate` multiplies the kernel with the pixels under it as
it lies; :func:`cfilter.convolve` first turns the kernel by 180°. This
example works through where the flip comes from, with a 3x3 image ``f`` and
a 3x3 function ``g``, and then shows what the flip does to a picture. See
:doc:`/guide/convolution` for the maths.
"""

# sphinx_gallery_thumbnail_number = 3

import matplotlib.pyplot as plt
import numpy as np
import scipy.signal
import skimage.data

import cfilter

# %%
# The definition, by hand
# -----------------------
#
# The discrete 2-D convolution of an image ``f`` with a function ``g`` is
#
# .. math:: (f * g)(n_1, n_2) = \sum_{x + u = n_1,\; y + v = n_2} f(x, y)\, g(u, v)
#
# Every term pairs a pixel of ``f`` with a value of ``g`` whose coordinates
# *add up* to the output's. Take ``f`` with coordinates 0..2 and ``g`` with
# coordinates -1..1, and compute the centre of the result, ``(1, 1)``, term
# by term:

f = np.array([[1, 2, 3],
              [4, 5, 6],
              [7, 8, 9]], dtype=float)
g = np.array([[0.1, 0.2, 0.3],      # g(-1, -1), g(-1, 0), g(-1, 1)
              [0.4, 0.5, 0.6],      # g( 0, -1), ...
              [0.7, 0.8, 0.9]])     # g( 1, -1), ...


def g_at(u, v):
    return g[u + 1, v + 1]


terms = []
for x in range(3):
    for y in range(3):
        u, v = 1 - x, 1 - y           # so that x + u = 1 and y + v = 1
        terms.append(f[x, y] * g_at(u, v))
        print(f"f({x},{y}) * g({u:2d},{v:2d}) = {f[x, y]:.0f} * {g_at(u, v)}")
by_hand = sum(terms)
print("sum:", round(by_hand, 6))

# %%
# Read the pairs again: ``f(0, 0)``, the top-left pixel, meets ``g(1, 1)``,
# the *bottom-right* value of ``g``; ``f(0, 2)`` meets ``g(1, -1)``. So the
# sum is an element-wise product of the 3x3 patch with ``g`` turned by 180°:
# the image kernel is ``g`` flipped. Checked three ways:

g_flipped = np.rot90(g, 2)                       # = g[::-1, ::-1]
assert np.isclose(by_hand, (f * g_flipped).sum())
assert np.isclose(by_hand, cfilter.convolve(f, g, mode="constant")[1, 1])
assert np.isclose(by_hand, cfilter.correlate(f, g_flipped, mode="constant")[1, 1])
print("the kernel that slides over the image:\n", g_flipped)

# %%
# Not only the centre: over the whole image, convolving with ``g`` is
# correlating with ``g`` flipped, and both agree with scipy.signal:

conv = cfilter.convolve(f, g, mode="constant")
assert np.allclose(conv, cfilter.correlate(f, g_flipped, mode="constant"))
assert np.allclose(conv, scipy.signal.convolve2d(f, g, mode="same"))
assert np.allclose(cfilter.correlate(f, g, mode="constant"),
                   scipy.signal.correlate2d(f, g, mode="same"))
print("convolve:\n", conv.round(2))
print("correlate:\n", cfilter.correlate(f, g, mode="constant").round(2))

# %%
# The three grids, side by side:

fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
for ax, (title, grid) in zip(axes, [("image f", f), ("g", g),
                                    ("kernel = g turned 180°", g_flipped)]):
    ax.imshow(grid, cmap="Blues")
    for (i, j), value in np.ndenumerate(grid):
        ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=13)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
axes[1].set_xticks(range(3), ["-1", "0", "1"])
axes[1].set_yticks(range(3), ["-1", "0", "1"])
fig.tight_layout()

# %%
# When the flip shows
# -------------------
#
# A symmetric kernel (a box, a Gaussian, a Laplacian) is its own flip, so
# both functions give the same result. An asymmetric one is not: a one-sided
# difference ``[-1, 0, 1]`` along the rows responds with opposite signs, so
# the same edges come out bright in one result and dark in the other.

image = skimage.data.camera()[100:356, 150:406].astype(np.float32)
diff = np.array([[0, 0, 0], [-1, 0, 1], [0, 0, 0]], np.float32)
box = cfilter.kernels.box(size=5)
assert np.allclose(cfilter.convolve(image, box), cfilter.correlate(image, box))

fig, axes = plt.subplots(1, 3, figsize=(11, 3.9))
axes[0].imshow(image, cmap="gray")
axes[0].set_title("image")
for ax, func in zip(axes[1:], [cfilter.correlate, cfilter.convolve]):
    ax.imshow(func(image, diff), cmap="RdBu_r", vmin=-120, vmax=120)
    ax.set_title(f"{func.__name__}(image, [-1, 0, 1])")
for ax in axes:
    ax.set_axis_off()
assert np.allclose(cfilter.convolve(image, diff), -cfilter.correlate(image, diff))

# %%
# Up close
# --------
#
# The same two results on the camera's tripod and the hand on it,
# enlarged: the edges that :func:`~cfilter.correlate` draws red,
# :func:`~cfilter.convolve` draws blue, and the reverse.

crop = np.s_[100:196, 110:206]
fig, axes = plt.subplots(1, 2, figsize=(10, 5.6))
for ax, func in zip(axes, [cfilter.correlate, cfilter.convolve]):
    ax.imshow(func(image, diff)[crop], cmap="RdBu_r", vmin=-120, vmax=120)
    ax.set_title(func.__name__, fontsize=22, family="monospace")
    ax.set_axis_off()
fig.tight_layout()
