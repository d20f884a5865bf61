"""
Dropping a ball twice: convolution as probability
=================================================

Drop a ball from some height; it lands and rolls ``a`` units to the right
with probability ``f(a)``. Pick it up, drop it again from above where it
stopped, from another height: this time it rolls ``b`` units with
probability ``g(b)``. How likely is a total distance ``c``?

Every way of splitting ``c`` into ``a + b`` contributes ``f(a) g(b)``, so

.. math:: P(c) = \\sum_{a + b = c} f(a)\\, g(b) = \\sum_a f(a)\\, g(c - a) = (f * g)(c),

the convolution of the two distributions. This example computes it with
:func:`cfilter.convolve1d`, checks it against :func:`numpy.convolve`, and
draws the "flip and slide" picture of one term.
"""

import matplotlib.pyplot as plt
import numpy as np

import cfilter

# %%
# Two distributions
# -----------------
#
# Distances 0 to 5 for the first drop, 0 to 6 for the second (a higher
# drop, so it tends to roll further). Each sums to 1.

f = np.array([0.10, 0.30, 0.30, 0.15, 0.10, 0.05])
g = np.array([0.05, 0.10, 0.20, 0.25, 0.20, 0.12, 0.08])
assert np.isclose(f.sum(), 1) and np.isclose(g.sum(), 1)

# %%
# The total distance can be 0 to 5 + 6 = 11: that is the ``"full"`` output
# of a convolution, with zeros beyond the ends (``mode="constant"``).

total = cfilter.convolve1d(f, g, mode="constant", padding="full")
print("P(c) for c = 0..11:", total.round(4))
print("sum:", total.sum().round(12))
assert total.shape == (len(f) + len(g) - 1,)
assert np.allclose(total, np.convolve(f, g))
assert np.isclose(total.sum(), 1)

# %%
# One term, by hand
# -----------------
#
# A total of 3 comes from (a, b) = (0, 3), (1, 2), (2, 1) or (3, 0):

c = 3
terms = [(a, c - a, f[a] * g[c - a]) for a in range(c + 1)]
for a, b, p in terms:
    print(f"f({a}) g({b}) = {f[a]:.2f} * {g[b]:.2f} = {p:.4f}")
print(f"P({c}) = {sum(p for _, _, p in terms):.4f}; "
      f"convolve1d says {total[c]:.4f}")
assert np.isclose(sum(p for _, _, p in terms), total[c])

# %%
# Flip and slide
# --------------
#
# Read as a function of ``a``, the second factor ``g(c - a)`` is ``g``
# turned around (the flip) and moved so that its origin sits at ``c`` (the
# slide). The product of the two rows, summed, is ``P(c)``; moving ``c``
# slides the flipped ``g`` along ``f``. The sum is largest where the two
# overlap most.

fig, axes = plt.subplots(3, 1, figsize=(8, 7.5), sharex=True)
positions = np.arange(-6, 12)
f_row = np.zeros(positions.size)
f_row[6:6 + len(f)] = f
for ax, c in zip(axes[:2], [3, 6]):
    g_row = np.array([g[c - a] if 0 <= c - a < len(g) else 0
                      for a in positions])
    ax.bar(positions - 0.2, f_row, width=0.4, label="f(a)")
    ax.bar(positions + 0.2, g_row, width=0.4, label=f"g({c} - a)")
    ax.set_title(f"c = {c}: sum of products = {np.dot(f_row, g_row):.4f}")
    ax.legend(loc="upper left")
    assert np.isclose(np.dot(f_row, g_row), total[c])
axes[2].bar(np.arange(total.size), total, color="tab:green")
axes[2].set_title("P(c) = (f * g)(c), from cfilter.convolve1d")
axes[2].set_xlabel("distance")
fig.tight_layout()

# %%
# The same with dice
# ------------------
#
# Two fair dice are two uniform distributions over 1..6; their convolution
# is the distribution of the sum, the triangle 1/36, 2/36, ..., 6/36, ...,
# 1/36 over the totals 2 to 12:

die = np.full(6, 1 / 6)
sums = cfilter.convolve1d(die, die, mode="constant", padding="full")
print("36 * P(total) for totals 2..12:", (36 * sums).round(6))
assert np.allclose(36 * sums, [1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1])
