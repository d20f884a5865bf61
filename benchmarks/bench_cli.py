"""``cfilter apply`` against a hand-written two-thread OpenCV script.

    python benchmarks/bench_cli.py [--count 40] [--jobs 2] [--repeat 3]

Makes ``count`` distinct RGB 1024x768 photographs (scikit-image's astronaut,
resized, shifted, with a little noise), once as PNG and once as JPEG, then
times, interleaved and ``repeat`` times each, whole processes (start-up
included):

* ``cfilter apply IN -o OUT -f gaussian:sigma=2 --jobs 2 --overwrite``;
* the OpenCV script below, with two threads: ``cv2.imread``,
  ``cv2.GaussianBlur`` (the same 17x17 kernel, sigma 2, reflect border) and
  ``cv2.imwrite`` at the same settings (PNG zlib level 1; JPEG quality 95,
  4:4:4 chroma).

Both run as installed packages do: with their bytecode cached (a pip
install compiles it; ``PYTHONDONTWRITEBYTECODE``, if set, would make
cfilter compile its sources on every start while OpenCV's stay compiled),
after one untimed warm-up run each.  It prints the machine's load average
(other processes slow both sides), the best time of each, the ratio cfilter / OpenCV per format (at
or below 1.0 is the goal) and where cfilter's time goes (decode, filter,
encode, and the background write: temporary file, fsync, rename), as its
summary line reports them, summed over the threads).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

OPENCV_SCRIPT = r"""
import glob, os, sys, cv2
from concurrent.futures import ThreadPoolExecutor
cv2.setNumThreads(1)       # two threads in all: the pool's
src, dst, ext = sys.argv[1:4]
opts = ([cv2.IMWRITE_PNG_COMPRESSION, 1] if ext == ".png" else
        [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
         cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444])
def one(path):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    out = cv2.GaussianBlur(img, (17, 17), 2, borderType=cv2.BORDER_REFLECT)
    cv2.imwrite(os.path.join(dst, os.path.basename(path)), out, opts)
with ThreadPoolExecutor(2) as pool:
    list(pool.map(one, sorted(glob.glob(os.path.join(src, "*" + ext)))))
"""

SUMMARY = re.compile(
    r"done (?P<done>\d+), skipped (?P<skipped>\d+), failed (?P<failed>\d+)"
    r".*\nin (?P<wall>[\d.]+) s \((?P<rate>[\d.]+) files/s\); decode "
    r"(?P<decode>[\d.]+) s, filter (?P<filter>[\d.]+) s, encode "
    r"(?P<encode>[\d.]+) s(, write (?P<write>[\d.]+) s)?", re.S)


def make_inputs(folder, count, ext, size=(768, 1024)):
    """``count`` distinct RGB photographs of ``size`` in ``folder``."""
    from skimage import data
    base = Image.fromarray(data.astronaut()).resize(size[::-1],
                                                    Image.BICUBIC)
    base = np.asarray(base, dtype=np.int16)
    folder.mkdir(parents=True, exist_ok=True)

    def one(i):
        rng = np.random.default_rng(i)
        shifted = np.roll(base, (7 * i, 13 * i), axis=(0, 1))
        noisy = shifted + rng.integers(-6, 7, size=shifted.shape,
                                       dtype=np.int16)
        image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        if ext == ".png":
            image.save(folder / f"img{i:04d}.png", compress_level=1)
        else:
            image.save(folder / f"img{i:04d}.jpg", quality=95, subsampling=0)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, range(count)))


def timed(cmd, env=None):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{cmd[:4]} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, proc.stdout


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "script.py").write_text(OPENCV_SCRIPT)
        env = dict(os.environ, PYTHONPYCACHEPREFIX=str(work / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
              f"CPUs")
        for ext in (".png", ".jpg"):
            src = work / f"in{ext}"
            make_inputs(src, args.count, ext)
            out_cf, out_cv = work / f"cf{ext}", work / f"cv{ext}"
            out_cv.mkdir()
            cf_cmd = [sys.executable, "-m", "cfilter", "apply", str(src),
                      "-o", str(out_cf), "-f", "gaussian:sigma=2", "--jobs",
                      str(args.jobs), "--overwrite", "-q"]
            cv_cmd = [sys.executable, str(work / "script.py"), str(src),
                      str(out_cv), ext]
            cf_best = cv_best = float("inf")
            stages = None
            timed(cf_cmd, env)                     # warm-up
            timed(cv_cmd, env)
            for _ in range(args.repeat):           # interleaved
                elapsed, out = timed(cf_cmd, env)
                if elapsed < cf_best:
                    cf_best, stages = elapsed, SUMMARY.search(out)
                cv_best = min(cv_best, timed(cv_cmd, env)[0])
            name = ext[1:].upper()
            print(f"{name}: {args.count} RGB 1024x768, gaussian sigma 2, "
                  f"{args.jobs} threads")
            print(f"  cfilter apply  {cf_best:6.2f} s  "
                  f"({args.count / cf_best:5.1f} files/s, start-up "
                  f"included)")
            print(f"  OpenCV script  {cv_best:6.2f} s  "
                  f"({args.count / cv_best:5.1f} files/s)")
            print(f"  ratio cfilter / OpenCV: {cf_best / cv_best:.2f}")
            busy = {k: float(stages[k] or 0) for k in (
                "decode", "filter", "encode", "write")}
            total = sum(busy.values())
            print("  cfilter per file, summed over the threads: " + ", ".join(
                f"{k} {v / args.count * 1e3:.1f} ms ({100 * v / total:.0f} %)"
                for k, v in busy.items()))


if __name__ == "__main__":
    main()
