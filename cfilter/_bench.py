"""The benchmark tables of ``cfilter bench`` and ``benchmarks/``: one copy.

cfilter is timed side by side with whichever peers are installed
(OpenCV, scipy.ndimage), on float32 square images with the reflect border
(OpenCV ``BORDER_REFLECT``), all threads:

* direct correlation with random 3x3, 5x5 and 7x7 kernels (``filter2D``,
  ``ndimage.correlate``), then cfilter's thread scaling on the 7x7 case;
* named filters: Gaussian sigma 1, 3, 8, box 3, 15, 51, Sobel along each
  axis.

Candidates run interleaved in one process, so a noisy machine slows them
alike and their ratios stay meaningful.  Ratios below 1 mean cfilter is
faster.  The scripts ``benchmarks/bench_direct.py`` and
``benchmarks/bench_filters.py`` are thin wrappers around :func:`direct` and
:func:`filters`.
"""
import time

import numpy as np

import cfilter

__all__ = ["interleaved", "interleaved_times", "table", "peers", "direct", "filters", "photos",
           "small", "set_threads", "load_state", "run"]


def interleaved_times(candidates, repeats=15, warmup=2, seed=0):
    """Every timed run's seconds of each callable, run round-robin.

    Each round runs the candidates in a fresh random order, so none always
    follows the same one (whose cache footprint or lingering threads would
    otherwise tilt the comparison).  Parameters as :func:`interleaved`.

    Returns
    -------
    dict
        Name -> list of seconds, one per round.

    Examples
    --------
    >>> from cfilter._bench import interleaved_times
    >>> [len(v) for v in interleaved_times({"a": lambda: None}, 3, 0).values()]
    [3]
    """
    for _ in range(warmup):
        for fn in candidates.values():
            fn()
    times = {name: [] for name in candidates}
    order = list(candidates.items())
    rng = np.random.default_rng(seed)
    for _ in range(repeats):
        rng.shuffle(order)
        for name, fn in order:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def interleaved(candidates, repeats=15, warmup=2, seed=0):
    """Median seconds of each callable, run round-robin.

    Each round runs the candidates in a fresh random order, so none always
    follows the same one (whose cache footprint or lingering threads would
    otherwise tilt the comparison).

    Parameters
    ----------
    candidates : dict
        Name -> callable taking no argument.
    repeats : int, optional
        Timed rounds.
    warmup : int, optional
        Untimed rounds first.
    seed : int, optional
        Seed of the round order.

    Returns
    -------
    dict
        Name -> median seconds.

    Examples
    --------
    >>> from cfilter._bench import interleaved
    >>> sorted(interleaved({"a": lambda: None, "b": lambda: None}, 2, 0))
    ['a', 'b']
    """
    times = interleaved_times(candidates, repeats, warmup, seed)
    return {name: float(np.median(ts)) for name, ts in times.items()}


# The data of every table made, in order (what --json writes).
TABLES = []


def save_results(path, group, runs, **extra):
    """Write recorded measurements to ``path`` as JSON: the machine facts
    (:func:`machine_facts`), the benchmark ``group``, and ``runs``, a list
    of ``{"threads": n, "title": str, "tables": [...]}`` (the tables'
    data as :func:`table` records them in ``TABLES``)."""
    import json
    meta = machine_facts()
    meta.update(extra)
    with open(path, "w") as fh:
        json.dump({"group": group, "meta": meta, "runs": runs}, fh,
                  indent=1)


def table(rows, columns, reference, unit="ms"):
    """A Markdown table: medians in ms and each column's ratio to `reference`.

    Parameters
    ----------
    rows : list of (str, dict)
        Case name and its medians (name -> seconds); a missing name shows -.
    columns : list of str
        Candidate names, in column order.
    reference : str
        The column the ratios are taken of (``reference / column``).
    unit : {'ms', 'µs'}, optional
        The unit the times are printed in.

    Returns
    -------
    str

    Examples
    --------
    >>> from cfilter._bench import table
    >>> print(table([("3x3", {"cfilter": 0.001, "scipy": 0.004})],
    ...             ["cfilter", "scipy"], "cfilter"))
    | case | cfilter ms | scipy ms | cfilter/scipy |
    |---|---|---|---|
    | 3x3 | 1.00 | 4.00 | 0.25 |
    """
    TABLES.append({"columns": list(columns), "reference": reference,
                   "rows": [{"case": case,
                             "seconds": {c: med[c] for c in columns
                                         if c in med}} for case, med in rows]})
    scale = 1e6 if unit == "µs" else 1e3
    head = ["case"] + [f"{c} {unit}" for c in columns] + \
        [f"{reference}/{c}" for c in columns if c != reference]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case, med in rows:
        cells = [case] + [f"{med[c] * scale:.2f}" if c in med else "-"
                          for c in columns]
        cells += [f"{med[reference] / med[c]:.2f}" if c in med else "-"
                  for c in columns if c != reference]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def peers():
    """The installed peer libraries: a dict name -> module (may be empty).

    OpenCV is optional; scipy is a dependency of cfilter and always there.
    """
    found = {}
    try:
        import cv2
        found["opencv"] = cv2
    except ImportError:
        pass
    import scipy.ndimage
    found["scipy"] = scipy.ndimage
    return found


def machine_facts():
    """What a recorded measurement needs beside its numbers: the date, the
    CPU model and count, the load average, and the versions of cfilter and
    its peers.

    Returns
    -------
    dict

    Examples
    --------
    >>> from cfilter._bench import machine_facts
    >>> sorted(machine_facts())[:3]
    ['cfilter', 'cpu', 'cpu_count']
    """
    import datetime
    import os
    import platform
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    facts = {"date": datetime.date.today().isoformat(), "cpu": cpu,
             "cpu_count": os.cpu_count(), "cfilter": cfilter.__version__,
             "load_average": (round(os.getloadavg()[0], 2)
                              if hasattr(os, "getloadavg") else None),
             "numpy": np.__version__}
    for name, mod in peers().items():
        facts[name] = getattr(mod, "__version__", None)
    if "scipy" in facts:
        import scipy
        facts["scipy"] = scipy.__version__
    return facts


def _image(size, seed=0):
    return np.random.default_rng(seed).random((size, size), dtype=np.float32)


def direct(size=2048, quick=False):
    """Direct correlation, cfilter vs the peers, and thread scaling.

    Parameters
    ----------
    size : int, optional
        Side of the square float32 image.
    quick : bool, optional
        Fewer repeats, for a smoke run.

    Returns
    -------
    str
        A title line, the Markdown table and the thread-scaling line.
    """
    libs = peers()
    cv2, ndi = libs.get("opencv"), libs["scipy"]
    repeats = 3 if quick else 15
    rng = np.random.default_rng(0)
    image = _image(size)
    rows = []
    for k in (3, 5, 7):
        kernel = rng.standard_normal((k, k)).astype(np.float32)
        cands = {"cfilter": lambda: cfilter.correlate(image, kernel,
                                                      method="direct")}
        if cv2 is not None:
            cands["opencv"] = lambda: cv2.filter2D(
                image, -1, kernel, borderType=cv2.BORDER_REFLECT)
        cands["scipy"] = lambda: ndi.correlate(image, kernel, mode="reflect")
        rows.append((f"{k}x{k}", interleaved(cands, repeats)))
    cols = ["cfilter"] + [p for p in ("opencv", "scipy") if p in libs]
    lines = [f"float32 {size}x{size}, reflect, direct correlation, "
             f"{_threads_title()}", table(rows, cols, "cfilter")]
    kernel = rng.standard_normal((7, 7)).astype(np.float32)
    med = interleaved({
        "1 worker": lambda: cfilter.correlate(image, kernel, workers=1,
                                              method="direct"),
        "2 workers": lambda: cfilter.correlate(image, kernel, workers=2,
                                               method="direct"),
    }, repeats)
    lines.append(f"\n7x7 thread scaling: 1 worker "
                 f"{med['1 worker'] * 1e3:.2f} ms, 2 workers "
                 f"{med['2 workers'] * 1e3:.2f} ms, speed-up "
                 f"{med['1 worker'] / med['2 workers']:.2f}x")
    return "\n".join(lines)


def filter_cases(image):
    """``(name, cfilter, opencv or None, scipy)`` for every named filter."""
    libs = peers()
    cv2, ndi = libs.get("opencv"), libs["scipy"]
    reflect = cv2.BORDER_REFLECT if cv2 is not None else None
    out = []
    for sigma in (1, 3, 8):
        size = 2 * int(4.0 * sigma + 0.5) + 1
        out.append((
            f"gaussian sigma {sigma}",
            lambda s=sigma: cfilter.gaussian_blur(image, s),
            cv2 and (lambda s=sigma, k=size: cv2.GaussianBlur(
                image, (k, k), s, borderType=reflect)),
            lambda s=sigma: ndi.gaussian_filter(image, s, mode="reflect")))
    for size in (3, 15, 51):
        out.append((
            f"box {size}",
            lambda k=size: cfilter.box_blur(image, k),
            cv2 and (lambda k=size: cv2.blur(image, (k, k),
                                             borderType=reflect)),
            lambda k=size: ndi.uniform_filter(image, k, mode="reflect")))
    for axis in (0, 1):
        out.append((
            f"sobel axis {axis}",
            lambda a=axis: cfilter.sobel(image, axis=a),
            cv2 and (lambda a=axis: cv2.Sobel(image, cv2.CV_32F, a, 1 - a,
                                              borderType=reflect)),
            lambda a=axis: ndi.sobel(image, axis=a, mode="reflect")))
    return out


def filters(size=2048, quick=False):
    """Named filters, cfilter vs the peers.

    Parameters
    ----------
    size : int, optional
        Side of the square float32 image.
    quick : bool, optional
        Fewer repeats, for a smoke run.

    Returns
    -------
    str
        A title line and the Markdown table.
    """
    repeats = 3 if quick else 11
    image = _image(size)
    rows = []
    for name, ours, theirs, scipy_fn in filter_cases(image):
        cands = {"cfilter": ours}
        if theirs:
            cands["opencv"] = theirs
        cands["scipy"] = scipy_fn
        rows.append((name, interleaved(cands, repeats)))
    cols = ["cfilter"] + [p for p in ("opencv", "scipy") if p in peers()]
    return "\n".join([f"float32 {size}x{size}, reflect, "
                      f"{cfilter.get_num_threads()} threads",
                      table(rows, cols, "cfilter")])


def set_threads(n):
    """Give cfilter and OpenCV ``n`` threads each (None leaves both as
    they are), so that a table compares like with like."""
    if n is None:
        return
    cfilter.set_num_threads(n)
    cv2 = peers().get("opencv")
    if cv2 is not None:
        cv2.setNumThreads(n)


def _threads_title():
    return f"{cfilter.get_num_threads()} threads"


def photo_cases(size=2048):
    """``(name, {candidate: callable})`` for the photograph cases: uint8 in
    and uint8 out, grey and interleaved RGB (``channel_axis=-1``)."""
    libs = peers()
    cv2, ndi = libs.get("opencv"), libs["scipy"]
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (size, size), dtype=np.uint8)
    rgb = rng.integers(0, 256, (size // 2, size // 2, 3), dtype=np.uint8)
    k5 = (rng.random((5, 5)) / 12.5).astype(np.float32)
    u8 = np.uint8
    cases = []
    c = {"cfilter": lambda: cfilter.correlate(grey, k5, output=u8),
         "scipy": lambda: ndi.correlate(grey, k5, output=u8, mode="reflect")}
    if cv2 is not None:
        c["opencv"] = lambda: cv2.filter2D(grey, -1, k5,
                                           borderType=cv2.BORDER_REFLECT)
    cases.append((f"uint8 {size}² 5x5", c))
    c = {"cfilter": lambda: cfilter.gaussian_blur(grey, 2, output=u8),
         "scipy": lambda: ndi.gaussian_filter(grey, 2, mode="reflect")}
    if cv2 is not None:
        c["opencv"] = lambda: cv2.GaussianBlur(grey, (17, 17), 2,
                                               borderType=cv2.BORDER_REFLECT)
    cases.append((f"uint8 {size}² Gaussian σ2", c))
    c = {"cfilter": lambda: cfilter.box_blur(rgb, 5, channel_axis=-1,
                                             output=u8),
         "scipy": lambda: ndi.uniform_filter(rgb, (5, 5, 1), mode="reflect")}
    if cv2 is not None:
        c["opencv"] = lambda: cv2.blur(rgb, (5, 5),
                                       borderType=cv2.BORDER_REFLECT)
    cases.append((f"RGB uint8 {size // 2}²x3 box 5", c))
    return cases


def photos(size=2048, quick=False):
    """uint8 photographs in and out, cfilter vs the peers.

    Parameters
    ----------
    size : int, optional
        Side of the square grey image (the RGB image is half as wide).
    quick : bool, optional
        Fewer repeats, for a smoke run.

    Returns
    -------
    str
        A title line and the Markdown table.
    """
    repeats = 3 if quick else 15
    rows = [(name, interleaved(c, repeats)) for name, c in photo_cases(size)]
    cols = ["cfilter"] + [p for p in ("opencv", "scipy") if p in peers()]
    return "\n".join([f"uint8 in, uint8 out, reflect, {_threads_title()}",
                      table(rows, cols, "cfilter")])


def small(sizes=(64, 256, 512), quick=False):
    """Small float32 images, 3x3 and Gaussian sigma 1: the time per call of
    a batch of calls, cfilter vs the peers.

    Parameters
    ----------
    sizes : tuple of int, optional
        Sides of the square images.
    quick : bool, optional
        Fewer repeats, for a smoke run.

    Returns
    -------
    str
        A title line and the Markdown table (in µs per call).
    """
    libs = peers()
    cv2, ndi = libs.get("opencv"), libs["scipy"]
    repeats = 3 if quick else 11
    rng = np.random.default_rng(0)
    k3 = rng.standard_normal((3, 3)).astype(np.float32)
    rows = []
    for n in sizes:
        img = rng.random((n, n), dtype=np.float32)
        # About 20 ms of work per timed round, whatever the size.
        batch = max(1, (1 << 22) // (n * n))
        for name, ours, theirs, sp in (
                ("3x3", lambda: cfilter.correlate(img, k3),
                 cv2 and (lambda: cv2.filter2D(
                     img, -1, k3, borderType=cv2.BORDER_REFLECT)),
                 lambda: ndi.correlate(img, k3, mode="reflect")),
                ("Gaussian σ1", lambda: cfilter.gaussian_blur(img, 1),
                 cv2 and (lambda: cv2.GaussianBlur(
                     img, (9, 9), 1, borderType=cv2.BORDER_REFLECT)),
                 lambda: ndi.gaussian_filter(img, 1, mode="reflect"))):
            c = {"cfilter": ours, "scipy": sp}
            if theirs:
                c["opencv"] = theirs
            looped = {k: (lambda f=f: [f() for _ in range(batch)])
                      for k, f in c.items()}
            med = interleaved(looped, repeats)
            rows.append((f"{n}² {name}",
                         {k: v / batch for k, v in med.items()}))
    cols = ["cfilter"] + [p for p in ("opencv", "scipy") if p in libs]
    return "\n".join([f"float32 small images, reflect, µs per call, "
                      f"{_threads_title()}",
                      table(rows, cols, "cfilter", unit="µs")])


def load_state():
    """The one-minute load average, the CPU count and whether the machine
    is busy: a load average above half the CPUs means other work competes
    for the cores, and timings taken then are slow and uneven.

    Returns
    -------
    tuple
        ``(load_average or None, cpu_count, busy)``; the load average is
        None where the platform has none (Windows).

    Examples
    --------
    >>> from cfilter._bench import load_state
    >>> load, cpus, busy = load_state()
    >>> cpus >= 1 and busy == (load is not None and load > 0.5 * cpus)
    True
    """
    import os
    cpus = os.cpu_count() or 1
    try:
        load = float(os.getloadavg()[0])
    except (AttributeError, OSError):       # no load average here
        return None, cpus, False
    return load, cpus, load > 0.5 * cpus


def run(size=2048, quick=False, out=print, warn=None):
    """Both tables, one after the other, each passed to ``out`` when done.

    The first line says the peers, the CPU count and the load average; on a
    busy machine (:func:`load_state`) a warning goes to ``warn`` first.

    Parameters
    ----------
    size : int, optional
        Side of the square float32 image.
    quick : bool, optional
        Fewer repeats.
    out : callable, optional
        Receives each block of text (default :func:`print`).
    warn : callable, optional
        Receives the warning of a busy machine (default: ``out``).
    """
    found = ", ".join(peers())
    load, cpus, busy = load_state()
    where = (f"{cpus} CPUs, load average {load:.2f}" if load is not None
             else f"{cpus} CPUs, load average not available")
    out(f"cfilter {cfilter.__version__} against: {found}; {where}\n")
    if busy:
        (warn or out)(
            f"warning: this machine is busy (load average {load:.2f}, above "
            f"half of its {cpus} CPUs): other work competes for the cores, "
            f"so the times below are slower and the ratios less reliable "
            f"than on an idle machine, especially with several threads.  "
            f"Run again when the load average is low (uptime shows it).\n")
    out("## Direct correlation\n")
    out(direct(size, quick) + "\n")
    out("## Named filters\n")
    out(filters(size, quick))


def script(report, doc, argv=None, size=True):
    """The command line of a ``benchmarks/bench_*.py`` wrapper: parse
    ``--size``, ``--quick`` and ``--threads``, then print
    ``report(size, quick)`` (``report(quick=quick)`` when ``size`` is
    False) once per thread count; ``doc`` (the script's docstring) gives
    the description."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    if size:
        ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--quick", action="store_true",
                    help="fewer repeats, for a smoke run")
    ap.add_argument("--threads", type=int, nargs="+", default=[None],
                    help="threads for cfilter and OpenCV (several: one "
                    "table each); default: as set")
    ap.add_argument("--json", help="also write the measurements to this "
                    "file (with the machine, versions, date and load)")
    args = ap.parse_args(argv)
    runs = []
    for n in args.threads:
        set_threads(n)
        del TABLES[:]
        text = (report(args.size, args.quick) if size
                else report(quick=args.quick))
        print(text)
        runs.append({"threads": get_threads(), "title": text.splitlines()[0],
                     "tables": list(TABLES)})
    if args.json:
        save_results(args.json, report.__name__, runs, quick=args.quick)


def get_threads():
    """cfilter's and OpenCV's thread counts now."""
    cv2 = peers().get("opencv")
    return {"cfilter": cfilter.get_num_threads(),
            "opencv": cv2.getNumThreads() if cv2 is not None else None}
