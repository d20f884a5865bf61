"""Tables and figures of the recorded benchmark results, made at build time.

The benchmark scripts write their measurements with ``--json`` into
``benchmarks/results/GROUP.json`` (see ``cfilter/_bench.py::save_results``
and ``benchmarks/bench_load.py``).  This extension reads those files and
gives the pages:

``.. bench-table:: GROUP``
    the group's cases: cfilter's median time and its ratio to each peer,
    one and two threads side by side, followed by the machine facts of the
    file (date, CPU, CPU count, load average, versions).  GROUP is the
    file's name without ``.json``; ``load_idle`` and ``load_busy`` give the
    median and 90th-percentile table of ``bench_load.py``, ``callers`` the
    several-callers tables of both load files.
``.. bench-figure:: GROUP``
    the same ratios as a bar chart (``load``: idle and busy side by side).
``.. bench-headline::``
    the front page's small table: per group, the geometric mean and range
    of cfilter's time over OpenCV's and scipy's, with the conditions.

Every ratio is computed here from the recorded seconds (cfilter's median
divided by the peer's: below 1, cfilter is faster).  A missing or
malformed file fails the build with a message naming it: the files are
part of the repository.

``python docs/_ext/benchresults.py [RESULTS_DIR]`` prints the headline
figures as text (for the README).
"""
import json
import math
import os
import re

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList

#: Every file the pages use, and the command that makes it.
GROUPS = {
    "direct": "python benchmarks/bench_direct.py --threads 1 2 "
              "--json benchmarks/results/direct.json",
    "filters": "python benchmarks/bench_filters.py --threads 1 2 "
               "--json benchmarks/results/filters.json",
    "photo": "python benchmarks/bench_photo.py --threads 1 2 "
             "--json benchmarks/results/photo.json",
    "small": "python benchmarks/bench_small.py --threads 1 2 "
             "--json benchmarks/results/small.json",
    "fft": "python benchmarks/bench_fft.py --threads 1 2 --no-sweep "
           "--json benchmarks/results/fft.json",
    "features": "python benchmarks/bench_features.py --threads 1 2 "
                "--json benchmarks/results/features.json",
    "load_idle": "python benchmarks/bench_load.py --idle --callers 2 4 "
                 "--json benchmarks/results/load_idle.json",
    "load_busy": "python benchmarks/bench_load.py --callers 2 4 "
                 "--json benchmarks/results/load_busy.json",
    "load_busy_1thread": "python benchmarks/bench_load.py --threads 1 "
                         "--json benchmarks/results/load_busy_1thread.json",
}

#: How a column of the recorded tables is named on the page.
NAMES = {
    "cfilter": "cfilter",
    "opencv": "OpenCV",
    "scipy": "scipy.ndimage",
    "fftconvolve": "scipy.signal.fftconvolve",
    "skimage": "scikit-image",
    "ignore": 'nan_policy="ignore"',
    "propagate": 'nan_policy="propagate"',
}

_THR = re.compile(r",\s*(\d+)\s*thr(?:eads?)?$")


class ResultsError(Exception):
    """A results file is missing or not in the recorded format."""


# ---------------------------------------------------------------------------
# Reading the files
# ---------------------------------------------------------------------------

def load(results_dir, group):
    """The parsed JSON of ``GROUP.json``; ResultsError if absent or bad."""
    if group not in GROUPS:
        raise ResultsError(f"unknown benchmark group {group!r}; the groups "
                           f"are: {', '.join(GROUPS)}")
    path = os.path.join(results_dir, group + ".json")
    if not os.path.isfile(path):
        raise ResultsError(
            f"the benchmark results file {path} is missing; the pages are "
            f"made from it.  Record it with\n    {GROUPS[group]}\nand commit "
            f"it (docs/performance.rst, 'Reproducing').")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        data["meta"], data["runs"]     # noqa: B018 - the keys must exist
    except (ValueError, KeyError, TypeError) as exc:
        raise ResultsError(f"{path} is not a recorded benchmark result "
                           f"({exc!r})") from None
    data["path"] = path
    return data


def records(data):
    """One dict per measured case and thread count of a ratio file:
    ``table`` (its index), ``case``, ``threads``, ``reference``, ``columns``
    and ``seconds``."""
    out = []
    for run in data["runs"]:
        threads = run.get("threads")
        for t, table in enumerate(run.get("tables", [])):
            for row in table["rows"]:
                case, n = row["case"], None
                if isinstance(threads, dict):
                    n = threads.get("cfilter")
                match = _THR.search(case)
                if match:                      # "..., 2 thr": features
                    n = int(match.group(1))
                    case = case[:match.start()]
                out.append({"table": t, "case": case, "threads": n,
                            "reference": table["reference"],
                            "columns": table["columns"],
                            "seconds": row["seconds"]})
    return out


def ratio_rows(data):
    """``[(table, case, peer, {threads: ratio}, {threads: ref seconds})]``
    in recorded order: the reference column's median over the peer's."""
    rows = {}
    for rec in records(data):
        ref = rec["reference"]
        for peer in rec["columns"]:
            if peer == ref or peer not in rec["seconds"] \
                    or ref not in rec["seconds"]:
                continue
            key = (rec["table"], rec["case"], peer)
            ratios, times = rows.setdefault(key, ({}, {}))
            ratios[rec["threads"]] = rec["seconds"][ref] / rec["seconds"][peer]
            times[rec["threads"]] = rec["seconds"][ref]
    return [(t, case, peer, r, s) for (t, case, peer), (r, s) in rows.items()]


def thread_counts(data):
    counts = sorted({rec["threads"] for rec in records(data)
                     if rec["threads"] is not None})
    return counts or [None]


def is_busy(meta):
    """Busy: spinning processes were started, or the load average was
    higher than the benchmark's own threads explain (it is read when the
    results are written, so the benchmark itself, up to one thread per
    CPU, is in it)."""
    if meta.get("load_processes"):
        return True
    load_avg, cpus = meta.get("load_average"), meta.get("cpu_count") or 1
    return load_avg is not None and load_avg > cpus + 0.5


def conditions(meta, threads=None):
    """One sentence of the machine facts of a file."""
    state = ("busy: one spinning process per CPU"
             if meta.get("load_processes") else
             "busy" if is_busy(meta) else "idle")
    parts = [f"Measured {meta.get('date', '?')} on {meta.get('cpu', '?')}, "
             f"{meta.get('cpu_count', '?')} CPUs, {state} (load average "
             f"{meta.get('load_average', '?')} when the results were "
             f"written, the benchmark's own threads included)"]
    versions = [f"{label} {meta[k]}" for k, label in
                (("cfilter", "cfilter"), ("opencv", "OpenCV"),
                 ("scipy", "scipy"), ("numpy", "numpy")) if meta.get(k)]
    parts.append(", ".join(versions))
    if threads and threads != [None]:
        parts.append("cfilter and OpenCV given "
                     + " and then ".join(str(n) for n in threads)
                     + " thread" + ("s" if threads[-1] != 1 else "")
                     + " alike; scipy and scikit-image run on one")
    if meta.get("quick"):
        parts.append("a quick run (fewer repeats)")
    return "; ".join(parts) + "."


# ---------------------------------------------------------------------------
# Text of the tables
# ---------------------------------------------------------------------------

def fmt_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _cells(values, threads, fmt):
    return " | ".join(fmt(values[n]) if n in values else "–" for n in threads)


def _list_table(header, rows, widths=None):
    lines = [".. list-table::", "   :header-rows: 1"]
    if widths:
        lines.append("   :widths: " + " ".join(map(str, widths)))
    lines.append("")
    for row in [header] + rows:
        for i, cell in enumerate(row):
            lines.append(("   * - " if i == 0 else "     - ") + cell)
    lines.append("")
    return lines


def ratio_table_lines(data):
    threads = thread_counts(data)
    tlabel = (" | ".join(str(n) for n in threads) + " thread"
              + ("s" if threads[-1] != 1 else "")) if threads != [None] \
        else "default threads"
    rows = ratio_rows(data)
    lines = []
    tables = sorted({t for t, *_ in rows})
    for t in tables:
        part = [r for r in rows if r[0] == t]
        peers = list(dict.fromkeys(peer for _, _, peer, _, _ in part))
        ref = next(rec["reference"] for rec in records(data)
                   if rec["table"] == t)
        header = ["case", f"{NAMES.get(ref, ref)}, {tlabel}"] + \
            [f"÷ {NAMES.get(p, p)}, {tlabel}" for p in peers]
        body = []
        for case in dict.fromkeys(case for _, case, _, _, _ in part):
            by_peer = {p: (r, s) for _, c, p, r, s in part if c == case}
            times = next(iter(by_peer.values()))[1]
            body.append([case.replace("*", r"\*"),
                         _cells(times, threads, fmt_time)] +
                        [_cells(by_peer[p][0], threads, "{:.2f}".format)
                         if p in by_peer else "–" for p in peers])
        lines += _list_table(header, body)
    return lines


def load_table_lines(data):
    lines = []
    for run in data["runs"]:
        header = ["case", "cfilter, median (p90)", "OpenCV, median (p90)",
                  "÷ OpenCV, median", "÷ OpenCV, p90"]
        body = []
        for row in run.get("load_rows", []):
            med, p90 = row["median_ms"], row["p90_ms"]
            body.append([row["case"],
                         f"{fmt_time(med['cfilter'] / 1e3)} "
                         f"({fmt_time(p90['cfilter'] / 1e3)})",
                         f"{fmt_time(med['opencv'] / 1e3)} "
                         f"({fmt_time(p90['opencv'] / 1e3)})",
                         f"{med['cfilter'] / med['opencv']:.2f}",
                         f"{p90['cfilter'] / p90['opencv']:.2f}"])
        threads = run.get("threads") or {}
        spinning = data["meta"].get("load_processes")
        state = (f"With {spinning} processes spinning (one per CPU)"
                 if spinning else "On the idle machine")
        lines += [f"{state}: cfilter {threads.get('cfilter', '?')} "
                  f"threads, OpenCV {threads.get('opencv', '?')} threads "
                  f"(each library's default), medians and 90th percentiles "
                  f"of {data['meta'].get('repeats', '?')} interleaved "
                  f"rounds.", ""]
        lines += _list_table(header, body)
    return lines


def callers_table_lines(idle, busy):
    header = ["case", "idle: cfilter", "idle: OpenCV", "idle: ÷ OpenCV",
              "busy: cfilter", "busy: OpenCV", "busy: ÷ OpenCV"]
    found = {}
    for label, data in (("idle", idle), ("busy", busy)):
        for rec in records(data):
            s = rec["seconds"]
            if "cfilter" in s and "opencv" in s:
                found.setdefault(rec["case"], {})[label] = s
    body = []
    for case, by in found.items():
        row = [case]
        for label in ("idle", "busy"):
            s = by.get(label)
            row += ([fmt_time(s["cfilter"]), fmt_time(s["opencv"]),
                     f"{s['cfilter'] / s['opencv']:.2f}"] if s
                    else ["–"] * 3)
        body.append(row)
    return _list_table(header, body)


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


#: The front page's rows: (label, group, peer, case filter).
HEADLINE = [
    ("Direct correlation, float32 2048², 3x3 to 7x7", "direct", None),
    ("Gaussian, box and Sobel filters, float32 2048²", "filters", None),
    ("Photographs, uint8 in and out (grey and RGB)", "photo", None),
    ("Small images, 64² to 512², per call", "small", None),
    ("Large kernels, 31x31 to 127x127 and rank 2", "fft", None),
]


def headline(results_dir):
    """``(rows, facts)``: per row a label and, per (peer, threads), the
    geometric mean, smallest and largest ratio; the facts of the files."""
    rows, metas = [], []
    for label, group, _ in HEADLINE:
        data = load(results_dir, group)
        metas.append(data["meta"])
        cells = {}
        for _, _, peer, ratios, _ in ratio_rows(data):
            peer = "scipy" if peer in ("scipy", "fftconvolve") else peer
            for n, r in ratios.items():
                cells.setdefault((peer, n), []).append(r)
        rows.append((label, {k: (geomean(v), min(v), max(v))
                             for k, v in cells.items()}))
    busy = load(results_dir, "load_busy")
    cells = {}
    runs = list(busy["runs"])
    if os.path.isfile(os.path.join(results_dir, "load_busy_1thread.json")):
        runs += load(results_dir, "load_busy_1thread")["runs"]
    for run in runs:
        n = (run.get("threads") or {}).get("cfilter")
        for row in run.get("load_rows", []):
            cells.setdefault(("opencv", n), []).append(
                row["median_ms"]["cfilter"] / row["median_ms"]["opencv"])
    rows.append(("Busy machine (one spinning process per CPU), 64² to "
                 "2048², medians", {k: (geomean(v), min(v), max(v))
                                   for k, v in cells.items()}))
    metas.append(busy["meta"])
    return rows, metas


def headline_lines(results_dir, perf_doc="performance"):
    rows, metas = headline(results_dir)
    header = ["cfilter's time ÷ the peer's", "÷ OpenCV, 1 thread",
              "÷ OpenCV, 2 threads", "÷ scipy, 1 thread"]
    body = []
    for label, cells in rows:
        def cell(key):
            if key not in cells:
                return "–"
            g, lo, hi = cells[key]
            return f"**{g:.2f}** ({lo:.2f}–{hi:.2f})"
        body.append([label, cell(("opencv", 1)), cell(("opencv", 2)),
                     cell(("scipy", 1))])
    idle = [m for m in metas if not m.get("load_processes")]
    loads = [m.get("load_average") for m in idle
             if m.get("load_average") is not None]
    m = metas[0]
    dates = sorted({x.get("date") for x in metas if x.get("date")})
    lines = _list_table(header, body, widths=[40, 20, 20, 20])
    lines += [
        f"Geometric mean over each group's cases (their range in "
        f"brackets); below 1, cfilter is faster. Conditions: "
        f"{' to '.join(dates[::max(1, len(dates) - 1)])}, "
        f"{m.get('cpu', '?')} with {m.get('cpu_count', '?')} CPUs, "
        f"OpenCV {m.get('opencv', '?')}, scipy {m.get('scipy', '?')}; "
        f"the first five rows on an "
        f"{'idle' if not any(is_busy(x) for x in idle) else 'unevenly loaded'}"
        f" machine (load average {max(loads) if loads else '?'} or less, the "
        f"benchmark's own threads included), "
        f"the last with one busy process per CPU. cfilter and "
        f"OpenCV get the same number of threads; scipy (scipy.ndimage, and "
        f"scipy.signal.fftconvolve for the large kernels) runs on one. "
        f"Every case, and how to rerun them: :doc:`{perf_doc}`.", ""]
    return lines


def busy_threads(results_dir):
    """How many threads each library had in the busy-machine run."""
    runs = load(results_dir, "load_busy")["runs"]
    counts = sorted({(r.get("threads") or {}).get("cfilter") for r in runs}
                    - {None})
    return (" and ".join(map(str, counts)) + " threads each") if counts \
        else "each library's default"


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

def _figure(height):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9.0, height), layout="constrained")
    return fig, fig.subplots()


def ratio_figure(data, path):
    rows = ratio_rows(data)
    threads = thread_counts(data)
    labels = [f"{case} ÷ {NAMES.get(peer, peer)}"
              for _, case, peer, _, _ in rows]
    fig, ax = _figure(0.2 * len(rows) * max(1, len(threads)) + 1.6)
    _bars(ax, labels, [[r.get(n) for _, _, _, r, _ in rows]
                       for n in threads],
          [f"{n} thread{'s' if n != 1 else ''}" if n else "default threads"
           for n in threads])
    fig.savefig(path, dpi=100)


def load_figure(idle, busy, path, busy1=None):
    def medians(data, key):
        return {row["case"]: row[key]["cfilter"] / row[key]["opencv"]
                for run in data["runs"] for row in run.get("load_rows", [])}
    series = [("idle, median", medians(idle, "median_ms")),
              ("busy, median", medians(busy, "median_ms")),
              ("busy, 90th percentile", medians(busy, "p90_ms"))]
    if busy1 is not None:
        series.append(("busy, 1 thread each, median",
                       medians(busy1, "median_ms")))
    cases = list(dict.fromkeys(c for _, s in series for c in s))
    fig, ax = _figure(0.2 * len(cases) * len(series) + 1.6)
    _bars(ax, [f"{c} ÷ OpenCV" for c in cases],
          [[s.get(c) for c in cases] for _, s in series],
          [name for name, _ in series])
    fig.savefig(path, dpi=100)


def _bars(ax, labels, series, names):
    import numpy as np
    n = len(series)
    height = 0.8 / n
    y = np.arange(len(labels))
    for i, (values, name) in enumerate(zip(series, names)):
        vals = np.array([v if v is not None else np.nan for v in values])
        offset = (i - (n - 1) / 2) * height
        ax.barh(y + offset, vals - 1, left=1, height=height * 0.95,
                label=name)
        for yy, v in zip(y + offset, vals):
            if np.isfinite(v):
                ax.text(v * (1.03 if v >= 1 else 1 / 1.03), yy, f"{v:.2f}",
                        va="center", ha="left" if v >= 1 else "right",
                        fontsize=7)
    ax.axvline(1, color="k", linewidth=0.8)
    ax.set_xscale("log")
    finite = [v for s in series for v in s if v is not None]
    lo, hi = min(finite + [1.0]), max(finite + [1.0])
    ax.set_xlim(lo / 1.6, hi * 1.6)
    ticks = [t for t in (0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20)
             if lo / 1.6 <= t <= hi * 1.6]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xticks([], minor=True)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("cfilter's time ÷ the peer's (log scale; left of 1: "
                  "cfilter is faster)")
    ax.figure.legend(loc="outside upper center", ncols=len(names),
                     fontsize=8)
    ax.grid(axis="x", alpha=0.3)


# ---------------------------------------------------------------------------
# Sphinx
# ---------------------------------------------------------------------------

def _results_dir(env):
    return os.path.normpath(os.path.join(env.app.confdir,
                                         env.config.benchresults_dir))


class _BenchDirective:
    """Shared by the directives: parse generated RST into nodes."""

    def _parse(self, lines):
        node = nodes.container()
        self.state.nested_parse(StringList(lines, source="benchresults"),
                                self.content_offset, node)
        return node.children

    def _fail(self, exc):
        from sphinx.errors import ExtensionError
        raise ExtensionError(f"{self.name} in "
                             f"{self.env.docname}: {exc}") from None

    def _load(self, group):
        data = load(_results_dir(self.env), group)
        self.env.note_dependency(data["path"])
        return data


def _setup_directives():
    from sphinx.util.docutils import SphinxDirective

    class BenchTable(_BenchDirective, SphinxDirective):
        required_arguments = 1
        has_content = False

        def run(self):
            group = self.arguments[0]
            try:
                if group == "callers":
                    idle, busy = (self._load("load_idle"),
                                  self._load("load_busy"))
                    lines = callers_table_lines(idle, busy)
                    lines += [conditions(idle["meta"]), "",
                              conditions(busy["meta"]), ""]
                    return self._parse(lines)
                data = self._load(group)
                if group.startswith("load_"):
                    lines = load_table_lines(data)
                    lines += [conditions(data["meta"]), ""]
                else:
                    lines = ratio_table_lines(data)
                    lines += [conditions(data["meta"], thread_counts(data)),
                              ""]
            except (ResultsError, KeyError, TypeError,
                    ZeroDivisionError) as exc:
                self._fail(exc)
            return self._parse(lines)

    class BenchFigure(_BenchDirective, SphinxDirective):
        required_arguments = 1
        has_content = False
        option_spec = {"alt": directives.unchanged}

        def run(self):
            group = self.arguments[0]
            outdir = os.path.join(self.env.srcdir, "_generated", "bench")
            os.makedirs(outdir, exist_ok=True)
            path = os.path.join(outdir, f"{group}.png")
            try:
                if group == "load":
                    idle, busy = (self._load("load_idle"),
                                  self._load("load_busy"))
                    busy1 = None
                    if os.path.isfile(os.path.join(
                            _results_dir(self.env), "load_busy_1thread.json")):
                        busy1 = self._load("load_busy_1thread")
                    load_figure(idle, busy, path, busy1)
                    what = ("bench_load.py: cfilter's median and 90th "
                            "percentile time over OpenCV's, idle and with "
                            "one spinning process per CPU, each library at "
                            "its default thread count"
                            + (" (and at one thread, busy)" if busy1 else ""))
                else:
                    ratio_figure(self._load(group), path)
                    what = (f"The {group} group: cfilter's median time over "
                            f"each peer's, per thread count")
            except (ResultsError, KeyError, TypeError,
                    ZeroDivisionError) as exc:
                self._fail(exc)
            alt = self.options.get("alt", what)
            return self._parse([f".. figure:: /_generated/bench/{group}.png",
                                f"   :alt: {alt}", "",
                                f"   {what}; drawn from the recorded "
                                f"results when this page was built.", ""])

    class BenchHeadline(_BenchDirective, SphinxDirective):
        required_arguments = 0
        has_content = False

        def run(self):
            try:
                for group in [g for _, g, _ in HEADLINE] + ["load_busy"]:
                    self._load(group)
                if os.path.isfile(os.path.join(_results_dir(self.env),
                                               "load_busy_1thread.json")):
                    self._load("load_busy_1thread")
                lines = headline_lines(_results_dir(self.env))
            except (ResultsError, KeyError, TypeError,
                    ZeroDivisionError) as exc:
                self._fail(exc)
            return self._parse(lines)

    return BenchTable, BenchFigure, BenchHeadline


def setup(app):
    app.add_config_value("benchresults_dir", "../benchmarks/results", "env")
    table, figure, head = _setup_directives()
    app.add_directive("bench-table", table)
    app.add_directive("bench-figure", figure)
    app.add_directive("bench-headline", head)
    return {"version": "1", "parallel_read_safe": True,
            "parallel_write_safe": True}


if __name__ == "__main__":              # the headline as text
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    where = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "..", "benchmarks", "results")
    print("\n".join(headline_lines(where)))
