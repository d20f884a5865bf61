"""
A big image in pieces with ``cfilter.dask``
===========================================

An image too large for memory, or one that should be filtered on many
cores or machines, can be held as a Dask array: a grid of chunks, each an
ordinary NumPy array. :mod:`cfilter.dask` has the same functions as
``cfilter``, taking and returning Dask arrays. Each chunk is filtered with
a margin of its neighbours' pixels as wide as the kernel reaches, so the
result is the same as filtering the whole image at once, and nothing is
computed until asked for. For an image that fits in memory, plain
``cfilter`` is simpler and at least as fast (it is multi-threaded
already); see :doc:`/guide/dask`.
"""

import os
import shutil
import tempfile
import time

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import cfilter
import cfilter.dask

# %%
# A 2048x2048 image in 16 chunks
# ------------------------------
#
# The chunks need not be equal or line up with anything in the image: here
# they are 600 pixels, with narrower ones at the end.
#
# Small enough to build this page quickly, and to check the result against
# the in-memory one; the same code runs unchanged on an image of any size
# (read lazily from Zarr or TIFF files, say).

tile = skimage.data.camera().astype(np.float32)
# four by four mirrored copies of the camera image: no seams of its own
mosaic = np.pad(tile, ((0, 1536), (0, 1536)), mode="symmetric")
big = da.from_array(mosaic, chunks=(600, 600))
print(big)

lazy = cfilter.dask.gaussian_blur(big, sigma=4)
print("lazy result:", lazy.shape, lazy.dtype, "chunks", lazy.chunksize,
      f"({len(lazy.__dask_graph__())} tasks, nothing computed yet)")

start = time.perf_counter()
result = lazy.compute()
print(f"computed in {time.perf_counter() - start:.2f} s")

# %%
# The same as in memory
# ---------------------
#
# Across the chunk boundaries too: the margins make each chunk see the
# pixels its kernel needs.

whole = cfilter.gaussian_blur(big.compute(), sigma=4)
print("largest difference from the in-memory result:",
      f"{np.abs(result - whole).max():.1e}")
assert np.allclose(result, whole, atol=1e-3)

# %%
# Strides and other filters compose the same way, and the chunks of a
# strided result line up with the stride:

edges = cfilter.dask.sobel(big, stride=2)
print("sobel, stride 2:", edges.shape, "chunks", edges.chunksize)
assert np.allclose(edges.compute(), cfilter.sobel(big.compute(), stride=2),
                   atol=1e-3)

fig, axes = plt.subplots(1, 2, figsize=(11, 5.8))
axes[0].imshow(result, cmap="gray")
for k in range(1, 4):                     # the chunk boundaries
    axes[0].axhline(600 * k - 0.5, color="tab:red", linewidth=0.8)
    axes[0].axvline(600 * k - 0.5, color="tab:red", linewidth=0.8)
axes[0].set_title("gaussian_blur in 16 chunks (red lines): no seams")
axes[1].imshow(edges.compute(), cmap="gray",
               vmax=np.percentile(edges.compute(), 99))
axes[1].set_title("sobel, stride 2")
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()

# %%
# From Zarr to Zarr
# -----------------
#
# The usual shape of a real job: the image is stored chunked on disk (here
# a Zarr array written by the example itself), read lazily, filtered, and
# written chunk by chunk, so that no step needs the whole image in memory.

folder = tempfile.mkdtemp(prefix="cfilter-dask-")
big.to_zarr(os.path.join(folder, "input.zarr"))
stored = da.from_zarr(os.path.join(folder, "input.zarr"))
cfilter.dask.gaussian_blur(stored, sigma=4).to_zarr(
    os.path.join(folder, "blurred.zarr"))
written = da.from_zarr(os.path.join(folder, "blurred.zarr"))
print("written:", written.shape, written.dtype, "chunks", written.chunksize)
assert np.allclose(written.compute(), whole, atol=1e-3)
shutil.rmtree(folder)
