"""The command line on a batch: 200 RGB 1024x768 PNGs, gaussian sigma 2.

    python benchmarks/bench_cli.py [--count 200] [--jobs 2] [--keep DIR]

Generates the PNGs (scikit-image's astronaut, resized and shifted, with a
little noise so every file differs) into a temporary folder, runs
``cfilter apply IN -o OUT -f gaussian:sigma=2 --jobs 2`` in a subprocess and
reports files per second and where the time goes: decode, filter and encode,
summed over the worker threads, as the summary line of ``cfilter apply``
prints them.  Filtering should not be the bottleneck.
"""
import argparse
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

SUMMARY = re.compile(
    r"done (?P<done>\d+), skipped (?P<skipped>\d+), failed (?P<failed>\d+) "
    r"in (?P<wall>[\d.]+) s \((?P<rate>[\d.]+) files/s\); decode "
    r"(?P<decode>[\d.]+) s, filter (?P<filter>[\d.]+) s, encode "
    r"(?P<encode>[\d.]+) s")


def make_inputs(folder, count, size=(768, 1024)):
    """``count`` distinct RGB PNGs of ``size`` (rows, columns) in ``folder``."""
    from skimage import data
    base = Image.fromarray(data.astronaut()).resize(size[::-1],
                                                    Image.BICUBIC)
    base = np.asarray(base, dtype=np.int16)

    def one(i):
        rng = np.random.default_rng(i)
        shifted = np.roll(base, (7 * i, 13 * i), axis=(0, 1))
        noisy = shifted + rng.integers(-6, 7, size=shifted.shape,
                                       dtype=np.int16)
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(
            folder / f"img{i:04d}.png", compress_level=1)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, range(count)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", metavar="DIR",
                    help="work in DIR (kept) instead of a temporary folder")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        src, dst = work / "in", work / "out"
        src.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        make_inputs(src, args.count)
        print(f"generated {args.count} RGB 1024x768 PNGs in "
              f"{time.perf_counter() - t0:.1f} s")
        cmd = [sys.executable, "-m", "cfilter", "apply", str(src), "-o",
               str(dst), "-f", "gaussian:sigma=2", "--jobs", str(args.jobs),
               "--overwrite", "-q"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        total = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"cfilter apply failed ({proc.returncode}):\n"
                     f"{proc.stderr}")
        print(proc.stdout.strip())
        m = SUMMARY.search(proc.stdout)
        stages = {k: float(m[k]) for k in ("decode", "filter", "encode")}
        busy = sum(stages.values())
        print(f"\n{m['done']} files, --jobs {args.jobs}: "
              f"{float(m['rate']):.1f} files/s ({float(m['wall']):.2f} s in "
              f"the batch, {total:.2f} s with start-up)")
        print("time per file, summed over the threads:")
        for name, secs in stages.items():
            print(f"  {name:<7} {secs / int(m['done']) * 1e3:7.1f} ms  "
                  f"({100 * secs / busy:4.1f} %)")


if __name__ == "__main__":
    main()
