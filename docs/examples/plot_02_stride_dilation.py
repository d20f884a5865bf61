"""
Stride, dilation and the output shape
=====================================

``stride`` keeps every s-th output position, ``dilation`` spreads the taps
of the kernel ``d`` pixels apart, and ``padding`` adds pixels around the
image before the kernel slides. Together they fix the output's size; the
rules are those of the convolution arithmetic guide (Dumoulin and Visin),
which :doc:`/guide/shapes` explains. Here every rule of that guide's table
is checked three ways: the formula written out, :func:`cfilter.conv_output_shape`,
and the shape of an actual :func:`cfilter.correlate` result.
"""

# sphinx_gallery_thumbnail_number = 2

import itertools

import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import cfilter

# %%
# The table, case by case
# -----------------------
#
# With input size ``i``, kernel size ``k``, padding ``p`` on each side and
# stride ``s``, the output size is ``o = floor((i + 2p - k) / s) + 1``. Each
# row of the guide's table is a special case of it:

rng = np.random.default_rng(0)


def actual(i, k, p=0, s=1, d=1):
    """The length of a real correlate() result along both axes."""
    image = rng.random((i, i))
    kernel = rng.random((k, k))
    out = cfilter.correlate(image, kernel, mode="constant", padding=p,
                            stride=s, dilation=d)
    assert out.shape[0] == out.shape[1]
    return out.shape[0]


cases = [  # (name in the guide, i, k, p, s, the guide's formula)
    ("no padding, unit stride", 4, 3, 0, 1, lambda i, k, p, s: i - k + 1),
    ("arbitrary padding", 5, 4, 2, 1, lambda i, k, p, s: i - k + 2 * p + 1),
    ("half padding, k = 2n+1", 5, 3, 1, 1, lambda i, k, p, s: i),
    ("full padding, p = k-1", 5, 3, 2, 1, lambda i, k, p, s: i + k - 1),
    ("no padding, stride 2", 5, 3, 0, 2, lambda i, k, p, s: (i - k) // s + 1),
    ("padding and stride", 5, 3, 1, 2,
     lambda i, k, p, s: (i + 2 * p - k) // s + 1),
    ("padding and stride, odd", 6, 3, 1, 2,
     lambda i, k, p, s: (i + 2 * p - k) // s + 1),
]
print(f"{'case':26s} {'i':>2s} {'k':>2s} {'p':>2s} {'s':>2s}  "
      "formula  conv_output_shape  correlate")
for name, i, k, p, s, formula in cases:
    by_formula = formula(i, k, p, s)
    by_function = cfilter.conv_output_shape(i, k, padding=p, stride=s)
    by_result = actual(i, k, p, s)
    assert by_formula == by_function == by_result, name
    print(f"{name:26s} {i:2d} {k:2d} {p:2d} {s:2d}  {by_formula:7d}  "
          f"{by_function:17d}  {by_result:9d}")

# %%
# The last two rows show the floor: a 5x5 and a 6x6 input both give 3x3
# outputs at stride 2: on the padded 6x6 input (8 wide) the kernel's last
# position ends one column short of the edge. That is why a transposed
# convolution needs ``output_padding`` to know which of the two inputs to
# rebuild (see the end of the next section).
#
# Dilation makes a kernel of size ``k`` reach ``d*(k - 1) + 1`` pixels, so
# the general rule is ``o = floor((i + 2p - d*(k-1) - 1) / s) + 1``. A sweep
# over many combinations, every one checked the same three ways:

checked = 0
for i, k, p, s, d in itertools.product([5, 6, 9, 16], [1, 2, 3, 4], [0, 1, 2],
                                       [1, 2, 3], [1, 2]):
    reach = d * (k - 1) + 1
    if reach > i + 2 * p:
        continue                      # the kernel does not fit
    formula = (i + 2 * p - reach) // s + 1
    assert formula == cfilter.conv_output_shape(i, k, padding=p, stride=s,
                                                dilation=d)
    assert formula == actual(i, k, p, s, d)
    checked += 1
print(checked, "combinations of i, k, p, s, d agree")

# %%
# And the way back: a transposed convolution with the same parameters maps
# ``o`` to ``s*(o - 1) + k - 2p`` (plus ``output_padding``), again checked
# against a real :func:`cfilter.conv_transpose` result:

for name, i, k, p, s, formula in cases:
    o = formula(i, k, p, s)
    back = s * (o - 1) + k - 2 * p
    assert back == cfilter.transposed_output_shape(o, k, padding=p, stride=s)
    result = cfilter.conv_transpose(rng.random((o, o)), rng.random((k, k)),
                                    padding=p, stride=s)
    assert result.shape == (back, back)
    print(f"{name:26s} i={i}  ->  o={o}  ->  back to {back}")

# the 6x6 input of the last row comes back with output_padding=1
assert cfilter.transposed_output_shape(3, 3, padding=1, stride=2,
                                       output_padding=1) == 6

# %%
# What stride and dilation look like
# ----------------------------------
#
# A 9x9 box blur of the ``camera`` image at stride 1, 2 and 4: the stride
# keeps every s-th output (and only those are computed), so the result
# shrinks by the stride while the blur stays the same.

image = skimage.data.camera().astype(np.float32)
box = np.full((9, 9), 1 / 81, np.float32)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
for ax, s in zip(axes, [1, 2, 4]):
    out = cfilter.correlate(image, box, stride=s)
    assert np.allclose(out, cfilter.correlate(image, box)[::s, ::s], atol=1e-3)
    ax.imshow(out, cmap="gray")
    ax.set_title(f"stride={s}: {out.shape[0]}x{out.shape[1]}")

# %%
# Dilation keeps the number of taps and spreads them: a 3x3 kernel with
# ``dilation=4`` covers 9x9 pixels with 9 weights. Below, the footprint of a
# 3x3 box at dilations 1, 2 and 4 (the taps as white squares on the 9x9
# window), and the result on the image: with the taps 4 pixels apart the
# "blur" is nine shifted copies of the image.

fig, axes = plt.subplots(2, 3, figsize=(11, 7.2),
                         gridspec_kw={"height_ratios": [1, 2.2]})
small = np.full((3, 3), 1 / 9, np.float32)
crop = image[150:300, 180:330]
for col, d in enumerate([1, 2, 4]):
    footprint = np.zeros((9, 9))
    footprint[4 - d:4 + d + 1:d, 4 - d:4 + d + 1:d] = 1
    axes[0, col].imshow(footprint, cmap="gray", vmin=0, vmax=1)
    axes[0, col].set_title(f"dilation={d}: reach {d * 2 + 1}")
    axes[0, col].set_axis_off()
    out = cfilter.correlate(crop, small, dilation=d)
    axes[1, col].imshow(out, cmap="gray")
    axes[1, col].set_axis_off()
fig.tight_layout()
