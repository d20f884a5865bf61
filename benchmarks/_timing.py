"""Side-by-side timing: candidates run interleaved in one process, so a noisy
machine slows them alike and their ratios stay meaningful."""
import time

import numpy as np


def interleaved(candidates, repeats=15, warmup=2, seed=0):
    """Median seconds of each callable in ``candidates`` (a dict name -> fn),
    running them round-robin ``repeats`` times after ``warmup`` rounds.

    Each round runs the candidates in a fresh random order, so none always
    follows the same one (whose cache footprint or lingering threads would
    otherwise tilt the comparison)."""
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
    return {name: float(np.median(ts)) for name, ts in times.items()}


def table(rows, columns, reference):
    """Markdown table: medians in ms and each column's ratio to ``reference``."""
    head = ["case"] + [f"{c} ms" for c in columns] + \
        [f"cfilter/{c}" for c in columns if c != reference]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case, med in rows:
        cells = [case] + [f"{med[c] * 1e3:.2f}" if c in med else "-" for c in columns]
        cells += [f"{med[reference] / med[c]:.2f}" if c in med else "-"
                  for c in columns if c != reference]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
