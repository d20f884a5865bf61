"""
Which engine is fastest: time against kernel size
=================================================

cfilter has four engines (:doc:`/guide/methods`): ``direct`` sums every tap
at every pixel (cost grows with the kernel's area), ``separable`` runs two
1-D passes for a rank-1 kernel (cost grows with its side), ``box`` keeps
running sums for a constant kernel (cost independent of its size), and
``fft`` multiplies spectra (cost nearly independent of the kernel).
``method="auto"`` asks :func:`cfilter.plan` for the cheapest by a cost model,
without timing anything. This example times each engine at several kernel
sizes on one image, and marks the engine ``auto`` picks.

The timings are taken while the documentation builds, on one thread
(``workers=1``) and a small image, in a few seconds, so they are rough (the
machine may be busy with other work); the :doc:`/performance` page has
careful measurements.
"""

# sphinx_gallery_thumbnail_number = 2

import time

import matplotlib.pyplot as plt
import numpy as np

import cfilter

rng = np.random.default_rng(0)
image = rng.random((384, 384), dtype=np.float32)
SIZES = [3, 5, 9, 15, 25, 41]
COLOURS = {"direct": "tab:blue", "separable": "tab:orange", "box": "tab:green",
           "fft": "tab:red"}


def best_time(kernel, method):
    """Milliseconds per call: the best of 4 batches of about 10 ms each."""
    call = lambda: cfilter.correlate(image, kernel, method=method, workers=1)
    start = time.perf_counter()
    call()                                                  # warm-up
    number = max(1, int(0.01 / max(time.perf_counter() - start, 1e-6)))
    batches = []
    for _ in range(4):
        start = time.perf_counter()
        for _ in range(number):
            call()
        batches.append((time.perf_counter() - start) / number)
    return 1000 * min(batches)


families = {
    "box (constant): every engine applies": (
        lambda k: cfilter.kernels.box(size=k),
        ["direct", "separable", "box", "fft"]),
    "Gaussian (rank 1)": (
        lambda k: cfilter.kernels.gaussian(sigma=(k - 1) / 8),
        ["direct", "separable", "fft"]),
    "random (full rank)": (
        lambda k: rng.random((k, k)).astype(np.float32),
        ["direct", "fft"]),
}

start = time.perf_counter()
results = {}
for family, (make, methods) in families.items():
    kernels = [make(k) for k in SIZES]
    for kernel, k in zip(kernels, SIZES):
        assert np.asarray(getattr(kernel, "array", kernel)).shape == (k, k)
    results[family] = {
        "times": {m: [best_time(kern, m) for kern in kernels] for m in methods},
        "auto": [cfilter.plan(image, kern, workers=1).method
                 for kern in kernels],
    }
print(f"all timings took {time.perf_counter() - start:.1f} s")

# %%
# The table of what ``auto`` picks, and how far it is from the fastest
# engine measured here (1.00 means it picked the fastest):

for family, r in results.items():
    print(family)
    for i, k in enumerate(SIZES):
        measured = {m: t[i] for m, t in r["times"].items()}
        fastest = min(measured, key=measured.get)
        ratio = measured[r["auto"][i]] / measured[fastest]
        print(f"  {k:2d}x{k:<2d}  auto: {r['auto'][i]:9s} fastest: "
              f"{fastest:9s} auto/fastest: {ratio:4.2f}")

# %%
# The plot: time per call (log scale) against the kernel's side. The
# coloured squares along the bottom show the engine ``auto`` picks at each
# size, so the switch from one engine to the next can be read off.

fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), sharey=True)
low = min(min(t) for r in results.values() for t in r["times"].values())
high = max(max(t) for r in results.values() for t in r["times"].values())
axes[0].set_ylim(low / 4, high * 1.5)          # room for the row of picks
for ax, (family, r) in zip(axes, results.items()):
    for method, times in r["times"].items():
        ax.plot(SIZES, times, "o-", color=COLOURS[method], label=method)
    # the row of auto's picks sits at a fixed height in the axes
    row = ax.get_xaxis_transform()
    for k, method in zip(SIZES, r["auto"]):
        ax.plot(k, 0.06, "s", color=COLOURS[method], markersize=11,
                transform=row, clip_on=False)
    ax.text(SIZES[0], 0.11, "auto picks:", fontsize=9, transform=row)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(SIZES, [str(k) for k in SIZES])
    ax.set_xticks([], minor=True)
    ax.set_xlabel("kernel side (pixels)")
    ax.set_title(family, fontsize=11)
axes[0].set_ylabel("ms per call, 384x384 float32, 1 thread")
axes[0].legend()
fig.tight_layout()

# %%
# The crossover in one picture
# ----------------------------
#
# For a general kernel the choice is between the direct engine, whose time
# grows with the kernel's area, and the FFT engine, whose time barely moves:

r = results["random (full rank)"]
fig, ax = plt.subplots(figsize=(8, 5.6))
for method, times in r["times"].items():
    ax.plot(SIZES, times, "o-", color=COLOURS[method], label=method,
            linewidth=3, markersize=9)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xticks(SIZES, [str(k) for k in SIZES], fontsize=13)
ax.set_xticks([], minor=True)
ax.tick_params(axis="y", labelsize=12)
ax.set_xlabel("kernel side (pixels)", fontsize=14)
ax.set_ylabel("ms per call", fontsize=14)
ax.legend(fontsize=15)
fig.tight_layout()
