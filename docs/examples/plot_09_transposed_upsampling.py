"""
Transposed convolution: upsampling and its checkerboard
=======================================================

A convolution without padding maps a 4x4 input to a 2x2 output: many input
values to one output value. A *transposed* convolution goes the other way,
one value to many, and with a stride it upsamples; the generators of GANs
and the decoders of segmentation networks use it so that the upsampling is
learned instead of a fixed interpolation. This example writes the 4x4 to
2x2 convolution as a matrix ``C``, runs its transpose
(:func:`cfilter.conv_transpose`), and shows the checkerboard artifact that
strided transposed convolutions are known for, next to the usual cure:
resize first, then convolve. See :doc:`/guide/transposed`.
"""

import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import cfilter

# %%
# The convolution as a matrix
# ---------------------------
#
# A 3x3 kernel on a 4x4 input, no padding, stride 1: four outputs. Flatten
# the input to a 16-vector and each output is one row of weights times it;
# the four rows form the 4x16 *convolution matrix* ``C``, each row the
# kernel laid out, with zeros, where one output reads the input.

kernel = np.array([[1, 4, 1],
                   [1, 4, 3],
                   [3, 3, 1]], dtype=float)
x = np.array([[4, 5, 8, 7],
              [1, 8, 8, 8],
              [3, 6, 6, 4],
              [6, 5, 7, 8]], dtype=float)

C = cfilter.convolution_matrix(kernel, (4, 4), padding="valid").toarray()
print("C has shape", C.shape)
with np.printoptions(linewidth=100):
    print(C.astype(int))

# %%
# ``C`` times the flattened input, reshaped to 2x2, is the convolution (a
# correlation, in the deep-learning sense), checked against
# :func:`cfilter.correlate` and a patch-by-patch sum:

y = (C @ x.ravel()).reshape(2, 2)
print("C @ x:\n", y)
assert np.allclose(y, cfilter.correlate(x, kernel, mode="constant",
                                        padding="valid"))
assert all(np.isclose(y[i, j], (x[i:i + 3, j:j + 3] * kernel).sum())
           for i in range(2) for j in range(2))

# %%
# The transpose goes back
# -----------------------
#
# ``C.T`` is 16x4: it maps 4 values to 16, and each input value reaches the
# 9 outputs that the kernel connected it to (one to many). That is the
# transposed convolution, :func:`cfilter.conv_transpose`: every input pixel
# spreads ``value * kernel`` over the output. It restores the *shape* of
# ``x``, not its values: the transpose is not the inverse.

print("C.T has shape", C.T.shape)
z = np.array([[1.0, 2.0], [3.0, 4.0]])
up = cfilter.conv_transpose(z, kernel)
print("conv_transpose of a 2x2:", up.shape, "\n", up)
assert np.allclose(up.ravel(), C.T @ z.ravel())
# the defining property of the transpose: <C x, z> = <x, C^T z>
assert np.isclose(np.vdot(y, z), np.vdot(x, up))

# %%
# Upsampling with a stride
# ------------------------
#
# With ``stride=2`` each input pixel's copy of the kernel lands 2 pixels
# from its neighbour's, so the output is twice as large. But a 3x3 kernel
# does not tile a step of 2 evenly: the copies overlap on every other row
# and column, and those receive two contributions where the others get
# one. On a flat grey input the result should be flat; it is a
# checkerboard instead.
#
# The cure recommended by Odena, Dumoulin and Olah ("Deconvolution and
# checkerboard artifacts", 2016) is to resize first (here nearest-neighbour,
# repeating each pixel 2x2) and then convolve with the same kernel at
# stride 1: every output pixel then sees the same number of taps.

rng = np.random.default_rng(1)
learned = rng.uniform(0.5, 1.5, (3, 3))      # stands in for a trained kernel
learned /= learned.sum()


def transposed_up(image):
    return 4 * cfilter.conv_transpose(image, learned, stride=2, padding=1,
                                      output_padding=1)


def resize_then_convolve(image):
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    return cfilter.correlate(big, learned, mode="nearest")


flat = np.full((16, 16), 100.0)
small = skimage.data.camera()[::8, ::8].astype(float)       # 64x64
results = [(f(img), f.__name__) for img in (flat, small)
           for f in (transposed_up, resize_then_convolve)]
for out, name in results:
    assert out.shape in [(32, 32), (128, 128)]

fig, axes = plt.subplots(2, 2, figsize=(9, 9))
for ax, (out, name) in zip(axes.flat, results):
    if out.shape == (32, 32):
        ax.imshow(out, cmap="gray", vmin=0, vmax=200)
        ax.set_title(f"{name}, flat input\n(std {out[2:-2, 2:-2].std():.2f})")
    else:
        ax.imshow(out[40:88, 40:88], cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{name}, camera (crop)")
    ax.set_axis_off()
fig.tight_layout()

# %%
# Away from the border, the flat input's result is flat after resize then
# convolve and periodic with period 2 after the transposed convolution:

t_flat = results[0][0][2:-2, 2:-2]
r_flat = results[1][0][2:-2, 2:-2]
print("transposed, 2x2 pattern:\n", t_flat[:2, :2].round(2))
print("resize then convolve, spread:", np.ptp(r_flat).round(6))
assert np.allclose(r_flat, 100)
assert np.ptp(t_flat) > 10
assert np.allclose(t_flat, np.tile(t_flat[:2, :2], (14, 14)))
