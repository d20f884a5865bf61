"""cfilter.dask against dask_image.ndfilters: time and peak memory.

    python benchmarks/bench_dask.py [--threads 2] [--sizes 8192 16384]
                                    [--chunk 2048] [--repeats 3] [--rss-runs 3]
    python benchmarks/bench_dask.py --zarr [--zarr-chunk 512]
                                    [--zarr-grid 16x4 32x4]

A float32 N x N image (in memory, wrapped with ``da.from_array``) in
``--chunk``-square chunks, the threaded scheduler with ``--threads`` workers;
Gaussian sigma=4 and a random 7x7 correlation (reflect border), each stored
into a preallocated NumPy array with ``da.store``.  cfilter.dask filters each
chunk with one engine thread (its default policy); dask-image runs
scipy.ndimage per chunk.  The goals (issue 14): time ratio cfilter/dask-image
at most 1/3 (geometric mean over the two filters at 8192), and peak memory no
higher than dask-image's.

Time: median of ``--repeats`` rounds, the two libraries interleaved.  Memory:
the median over ``--rss-runs`` fresh child processes of the peak RSS above
its level just before the run, sampled every 2 ms (image and output already allocated; it counts native
buffers that tracemalloc cannot see), and tracemalloc's peak (NumPy's allocations) in
this process.

``--zarr``: out of core instead.  A float32 image of ``--zarr-grid`` (rows x
columns) chunks of ``--zarr-chunk`` squared, written to a Zarr store, read
with ``da.from_zarr``, Gaussian sigma=4 (mirror), written to Zarr three ways:
``cfilter.dask.to_zarr``, the lazy array's own ``.to_zarr()``, and
dask-image's result's ``.to_zarr()``.  Reports time and tracemalloc's peak
in chunk rows (one row of chunks = columns x chunk^2 x 4 bytes): the goal is
a peak of a few chunk rows for cfilter.dask.to_zarr, the same for every
image height.
"""
import argparse
import os
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import dask                                    # noqa: E402
import dask.array as da                        # noqa: E402
import psutil                                  # noqa: E402

import cfilter.dask as cd                      # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved               # noqa: E402

try:
    from dask_image import ndfilters
except ImportError:                            # pragma: no cover
    ndfilters = None


def cases(x, kernel):
    """Name -> {library: lazy array}."""
    out = {"gaussian s=4": {"cfilter": cd.gaussian_blur(x, 4.0)},
           "7x7 correlate": {"cfilter": cd.correlate(x, kernel)}}
    if ndfilters is not None:
        out["gaussian s=4"]["dask-image"] = ndfilters.gaussian_filter(x, 4.0)
        out["7x7 correlate"]["dask-image"] = ndfilters.correlate(x, kernel)
    return out


def runner(lazy, target, threads):
    def run():
        with dask.config.set(scheduler="threads", num_workers=threads):
            da.store(lazy, target, lock=False)
    return run


def child_rss(lib, case, n, chunk, threads, runs):
    """Median peak RSS growth (bytes) of ``runs`` runs, each in a fresh
    process (one sample moves by a chunk's size from run to run)."""
    peaks = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child", lib, case,
             str(n), str(chunk), str(threads)],
            capture_output=True, text=True, check=True).stdout
        peaks.append(int(out.split()[-1]))
    return float(np.median(peaks))


def run_child(lib, case, n, chunk, threads):
    rng = np.random.default_rng(0)
    kernel = rng.random((7, 7)).astype(np.float32)
    image = rng.random((n, n), dtype=np.float32)
    target = np.empty((n, n), dtype=np.float32)
    target[:] = 0                          # fault the pages in now
    lazy = cases(da.from_array(image, chunks=chunk), kernel)[case][lib]
    small = cases(da.from_array(image[:256, :256], chunks=128), kernel)
    small[case][lib].compute()             # imports and first-call setup
    # Sampled, not ru_maxrss: that would include the setup's own peak.
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    runner(lazy, target, threads)()
    done.set()
    sampler.join()
    print(max(peak[0], proc.memory_info().rss) - before)


def traced_peak(run):
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def zarr_rows(args):
    import shutil
    import tempfile

    import zarr

    chunk = args.zarr_chunk
    print(f"threads={args.threads} chunk={chunk}x{chunk} float32 "
          f"(taken under the machine's current load)")
    print("| grid | writer | s | traced peak MB | chunk rows | of image |")
    print("|---|---|---|---|---|---|")
    for grid in args.zarr_grid:
        rows, cols = (int(v) for v in grid.lower().split("x"))
        folder = tempfile.mkdtemp(prefix="cfilter-bench-zarr-")
        try:
            src = zarr.open_array(f"{folder}/in.zarr", mode="w",
                                  shape=(rows * chunk, cols * chunk),
                                  chunks=(chunk, chunk), dtype="float32")
            rng = np.random.default_rng(0)
            for top in range(0, rows * chunk, chunk):
                src[top:top + chunk] = rng.random((chunk, cols * chunk),
                                                  dtype=np.float32)
            image = da.from_zarr(f"{folder}/in.zarr")
            cd.gaussian_blur(image[:chunk, :chunk], 4.0).compute()
            lazy = cd.gaussian_blur(image, 4.0, mode="mirror")
            writers = {
                "cfilter.dask.to_zarr": lambda dst: cd.to_zarr(lazy, dst),
                "lazy.to_zarr()": lambda dst: lazy.to_zarr(dst)}
            if ndfilters is not None:
                peer = ndfilters.gaussian_filter(image, 4.0, mode="mirror")
                writers["dask-image .to_zarr()"] = peer.to_zarr
            row = cols * chunk * chunk * 4
            for k, (name, write) in enumerate(writers.items()):
                with dask.config.set(scheduler="threads",
                                     num_workers=args.threads):
                    start = time.perf_counter()
                    peak = traced_peak(
                        lambda: write(f"{folder}/out{k}.zarr"))
                    took = time.perf_counter() - start
                print(f"| {grid} | {name} | {took:.2f} | {peak / 2**20:.0f} "
                      f"| {peak / row:.1f} | {peak / (rows * row):.2f} |",
                      flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[8192, 16384])
    parser.add_argument("--chunk", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rss-runs", type=int, default=3)
    parser.add_argument("--zarr", action="store_true",
                        help="out of core: Zarr to Zarr peak memory")
    parser.add_argument("--zarr-chunk", type=int, default=512)
    parser.add_argument("--zarr-grid", nargs="+", default=["16x4", "32x4"])
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.zarr:
        return zarr_rows(args)
    if args.child:
        lib, case, n, chunk, threads = args.child
        return run_child(lib, case, int(n), int(chunk), int(threads))
    if ndfilters is None:
        print("dask-image is not installed: cfilter.dask timed alone")

    rng = np.random.default_rng(0)
    kernel = rng.random((7, 7)).astype(np.float32)
    print(f"threads={args.threads} chunk={args.chunk} "
          f"cpus={os.cpu_count()} (taken under the machine's current load)")
    print("| size | case | cfilter s | dask-image s | time ratio "
          "| RSS peak MB c / d-i | traced peak MB c / d-i |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        image = rng.random((n, n), dtype=np.float32)
        x = da.from_array(image, chunks=args.chunk)
        target = np.empty((n, n), dtype=np.float32)
        target[:] = 0                          # fault the pages in now
        ratios = []
        for name, libs in cases(x, kernel).items():
            runs = {lib: runner(lazy, target, args.threads)
                    for lib, lazy in libs.items()}
            times = interleaved(runs, repeats=args.repeats, warmup=1)
            rss = {lib: child_rss(lib, name, n, args.chunk, args.threads,
                                  args.rss_runs) for lib in runs}
            traced = {lib: traced_peak(run) for lib, run in runs.items()}
            peer = "dask-image" in times
            ratio = times["cfilter"] / times["dask-image"] if peer else None
            if ratio is not None:
                ratios.append(ratio)

            def mb(d):
                return " / ".join(f"{d[k] / 2**20:.0f}" for k in
                                  ("cfilter", "dask-image") if k in d)

            print(f"| {n} | {name} | {times['cfilter']:.2f} | "
                  f"{times.get('dask-image', float('nan')):.2f} | "
                  f"{ratio if ratio is not None else float('nan'):.3f} | "
                  f"{mb(rss)} | {mb(traced)} |", flush=True)
        if ratios:
            gmean = float(np.exp(np.mean(np.log(ratios))))
            print(f"| {n} | geometric mean | | | {gmean:.3f} | | |",
                  flush=True)
        del image, x, target


if __name__ == "__main__":
    main()
