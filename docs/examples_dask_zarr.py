"""Out of core: blur a Zarr image chunk by chunk into another Zarr store.

    python docs/examples_dask_zarr.py [--size 8192] [--chunk 1024] [--dir DIR]

Writes a random float32 ``size x size`` image to ``DIR/input.zarr`` one band
of chunks at a time (so the image never sits in memory whole), then reads it
lazily with ``dask.array.from_zarr``, blurs it with
:func:`cfilter.dask.gaussian_blur` and writes ``DIR/blurred.zarr`` with
:func:`cfilter.dask.to_zarr`, which reads, filters and writes one row of
chunks at a time.  The script prints the peak memory allocated next to the
image's size and to one row of chunks: the peak stays a few chunk rows
however tall the image.
"""
import argparse
import tempfile
import tracemalloc

import dask
import dask.array as da
import numpy as np
import zarr

import cfilter
import cfilter.dask


def make_input(path, size, chunk, seed=0):
    store = zarr.open_array(path, mode="w", shape=(size, size),
                            chunks=(chunk, chunk), dtype="float32")
    rng = np.random.default_rng(seed)
    for top in range(0, size, chunk):
        rows = min(chunk, size - top)
        store[top:top + rows] = rng.random((rows, size), dtype=np.float32)
    return store


def blur(src, dst, sigma, threads):
    image = da.from_zarr(src)                       # lazy: nothing read yet
    blurred = cfilter.dask.gaussian_blur(image, sigma, mode="mirror")
    with dask.config.set(scheduler="threads", num_workers=threads):
        # Band by band: memory bounded by a few chunk rows (Dask's own
        # blurred.to_zarr(dst) would hold about half the image).
        cfilter.dask.to_zarr(blurred, dst, overwrite=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--sigma", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args(argv)
    folder = args.dir or tempfile.mkdtemp(prefix="cfilter-zarr-")
    src, dst = f"{folder}/input.zarr", f"{folder}/blurred.zarr"
    make_input(src, args.size, args.chunk)
    # cfilter's first call loads its cost model once: keep it out of the peak.
    cfilter.gaussian_blur(np.zeros((8, 8), np.float32), 1.0)
    tracemalloc.start()
    blur(src, dst, args.sigma, args.threads)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    image_mb = args.size ** 2 * 4 / 2**20
    row_mb = args.size * args.chunk * 4 / 2**20
    print(f"wrote {dst}: {args.size}x{args.size} float32 ({image_mb:.0f} MB,"
          f" chunk rows of {row_mb:.0f} MB), peak {peak / 2**20:.0f} MB"
          f" allocated while filtering")
    return dst


if __name__ == "__main__":
    main()
