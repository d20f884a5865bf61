"""A busy machine: cfilter vs OpenCV with one CPU-bound process per core.

A user's machine is rarely idle: a notebook kernel, a web server, a Dask
worker or another job runs beside the filtering.  This script starts one
process per CPU that spins in a pure Python loop, waits for them to settle,
then times cfilter and OpenCV side by side, interleaved, each at its default
thread count (or ``--threads``), and reports the median and the 90th
percentile of each case and their ratios.  ``--idle`` runs the same cases
with no load, for comparison.

    python benchmarks/bench_load.py [--idle] [--repeats N] [--threads N ...]
                                    [--callers N ...] [--json PATH]

Ratios below 1 mean cfilter is faster.  Goals: every case's median ratio at
or below 1.0 and its p90 ratio at or below 1.5.

``--callers 2 4`` adds the pattern of a threaded scheduler (Dask's, a web
server's): that many Python threads at once, each filtering its own 512 x
512 images (direct 5x5, then Gaussian sigma 1) with each library's default
threads; the table gives the wall time of the whole batch, so its ratio is
the inverse of the throughputs' (goal: at or below 1.0).
"""
import argparse
import os
import subprocess
import sys
import threading
import time

import numpy as np

import cfilter
from cfilter import _bench

try:
    import cv2
except ImportError:  # pragma: no cover - the peer is needed here
    sys.exit("bench_load.py compares with OpenCV: pip install "
             "opencv-python-headless")

# One pure Python loop per process: the load a notebook, a server or
# another job puts on a core.
_SPIN = "import time\nwhile True:\n    pass\n"


def start_load(n):
    """``n`` processes spinning in Python; the caller terminates them."""
    procs = [subprocess.Popen([sys.executable, "-c", _SPIN])
             for _ in range(n)]
    time.sleep(1.0)
    return procs


def stop_load(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()


def cases():
    """``(name, calls per timing, {candidate: callable})``."""
    rng = np.random.default_rng(0)
    reflect = cv2.BORDER_REFLECT
    out = []

    def img(n):
        return rng.random((n, n), dtype=np.float32)

    x64 = img(64)
    k3 = rng.standard_normal((3, 3)).astype(np.float32)
    out.append(("64² 3x3 (per call)", 50, {
        "cfilter": lambda: cfilter.correlate(x64, k3),
        "opencv": lambda: cv2.filter2D(x64, -1, k3, borderType=reflect)}))
    k5 = rng.standard_normal((5, 5)).astype(np.float32)
    for n in (256, 512):
        x = img(n)
        out.append((f"{n}² direct 5x5", 1 if n > 256 else 5, {
            "cfilter": lambda x=x: cfilter.correlate(x, k5),
            "opencv": lambda x=x: cv2.filter2D(x, -1, k5, borderType=reflect)}))
    x512 = img(512)
    out.append(("512² Gaussian σ1", 1, {
        "cfilter": lambda: cfilter.gaussian_blur(x512, 1),
        "opencv": lambda: cv2.GaussianBlur(x512, (9, 9), 1,
                                           borderType=reflect)}))
    rgb = rng.integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    out.append(("1024²x3 uint8 box 5 → uint8", 1, {
        "cfilter": lambda: cfilter.box_blur(rgb, 5, channel_axis=-1,
                                            output=np.uint8),
        "opencv": lambda: cv2.blur(rgb, (5, 5), borderType=reflect)}))
    x2k = img(2048)
    out.append(("2048² direct 5x5", 1, {
        "cfilter": lambda: cfilter.correlate(x2k, k5),
        "opencv": lambda: cv2.filter2D(x2k, -1, k5, borderType=reflect)}))
    k63 = rng.random((63, 63)).astype(np.float32)
    out.append(("2048² 63x63", 1, {
        "cfilter": lambda: cfilter.correlate(x2k, k63),
        "opencv": lambda: cv2.filter2D(x2k, -1, k63, borderType=reflect)}))
    return out


def measure(repeats):
    rows = []
    for name, batch, cands in cases():
        if batch > 1:
            cands = {k: (lambda f=f: [f() for _ in range(batch)])
                     for k, f in cands.items()}
        # Large cases take long enough per round that fewer rounds do.
        reps = repeats if "2048" not in name else max(5, repeats // 4)
        times = _bench.interleaved_times(cands, reps, warmup=2)
        stats = {k: (float(np.median(v)) / batch,
                     float(np.percentile(v, 90)) / batch)
                 for k, v in times.items()}
        rows.append((name, stats))
    return rows


def callers(n, calls=40):
    """Wall time of ``n`` Python threads each making ``calls`` calls on
    its own 512 x 512 image, per library and filter, interleaved."""
    rng = np.random.default_rng(1)
    images = [rng.random((512, 512), dtype=np.float32) for _ in range(n)]
    k5 = rng.standard_normal((5, 5)).astype(np.float32)
    reflect = cv2.BORDER_REFLECT
    work = {
        "direct 5x5": {
            "cfilter": lambda x: cfilter.correlate(x, k5),
            "opencv": lambda x: cv2.filter2D(x, -1, k5, borderType=reflect)},
        "Gaussian σ1": {
            "cfilter": lambda x: cfilter.gaussian_blur(x, 1),
            "opencv": lambda x: cv2.GaussianBlur(x, (9, 9), 1,
                                                 borderType=reflect)},
    }

    def batch(fn):
        def run():
            start = threading.Barrier(n)

            def loop(x):
                start.wait()
                for _ in range(calls):
                    fn(x)
            threads = [threading.Thread(target=loop, args=(x,))
                       for x in images]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        return run

    rows = []
    for name, cands in work.items():
        med = _bench.interleaved({k: batch(f) for k, f in cands.items()},
                                 repeats=7, warmup=1)
        rows.append((f"{n} callers x {calls} calls, 512² {name}", med))
    return rows


def report(rows, title):
    lines = [title, "",
             "| case | cfilter ms (p90) | OpenCV ms (p90) | median ratio "
             "| p90 ratio |", "|---|---|---|---|---|"]
    for name, s in rows:
        (cm, cp), (om, op) = s["cfilter"], s["opencv"]
        lines.append(f"| {name} | {cm * 1e3:.3f} ({cp * 1e3:.3f}) | "
                     f"{om * 1e3:.3f} ({op * 1e3:.3f}) | {cm / om:.2f} | "
                     f"{cp / op:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--idle", action="store_true",
                    help="no load: the same cases on an idle machine")
    ap.add_argument("--repeats", type=int, default=41)
    ap.add_argument("--load", type=int, default=os.cpu_count(),
                    help="spinning processes (default: one per CPU)")
    ap.add_argument("--threads", type=int, nargs="+", default=[None],
                    help="threads for both libraries, one table each "
                         "(default: each library's own default)")
    ap.add_argument("--callers", type=int, nargs="*", default=[],
                    help="also time this many Python threads calling at "
                    "once (several values: one row each)")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)
    if args.repeats < 1 or any(c < 1 for c in args.callers):
        ap.error("--repeats and --callers take whole numbers >= 1")
    load = 0 if args.idle else args.load
    procs = start_load(load) if load else []
    runs = []
    try:
        for n in args.threads:
            _bench.set_threads(n)
            rows = measure(args.repeats)
            threads = (f"cfilter {cfilter.get_num_threads()} threads, "
                       f"OpenCV {cv2.getNumThreads()} threads")
            state = (f"{load} spinning process(es)" if load else "idle")
            title = (f"{state}, {threads}, OpenCV {cv2.__version__}, load "
                     f"average {os.getloadavg()[0]:.1f}")
            print(report(rows, title))
            print()
            del _bench.TABLES[:]
            if args.callers:
                crow = [r for c in args.callers for r in callers(c)]
                print(_bench.table(crow, ["cfilter", "opencv"], "cfilter"))
                print()
            runs.append({"threads": _bench.get_threads(), "title": title,
                         "load_rows": [{"case": name, "median_ms": {
                             k: v[0] * 1e3 for k, v in st.items()},
                             "p90_ms": {k: v[1] * 1e3 for k, v in st.items()}}
                             for name, st in rows],
                         "tables": list(_bench.TABLES)})
    finally:
        stop_load(procs)
    if args.json:
        _bench.save_results(args.json, "load", runs, load_processes=load,
                            repeats=args.repeats)


if __name__ == "__main__":
    main()
