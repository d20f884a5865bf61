"""The phases of a strided transposed convolution along one axis.

The forward call reads input ``i*s + m*d - before`` for output ``i`` and
tap ``m``.  Its adjoint, in canvas coordinates ``e = o + before`` (``o`` the
transposed output), gathers at ``e`` the taps ``m`` with
``(e - m*d) % s == 0``, each reading input ``(e - m*d) // s``.  So the
outputs split into ``s`` phases ``rho = e % s``: within a phase the taps are
fixed (``l0, l0 + s', ...`` with ``s' = s / gcd(s, d)``) and tap ``t`` reads
inputs ``d' = d / gcd(s, d)`` apart from tap ``t - 1``, one input further
per output of the phase.  Each phase is therefore a plain correlation.

This is the one place that works the phases out.  The compiled transpose
(``_core/_transpose.pyx``, through ``_engine.run_transpose``) reads the
table of :func:`phase_table`; ``cfilter.nn.conv_transpose2d`` turns each
phase into one matrix product through :func:`phase_gathers`.
"""
from functools import lru_cache
from math import gcd

import numpy as np

__all__ = ["FIELDS", "phase_table", "phase_gathers"]

# The columns of a phase table row, in the order of the PH_* enum of
# _core/_transpose.pyx.
FIELDS = ("pos", "count", "o0", "ntaps", "l0", "klo", "khi")


@lru_cache(maxsize=256)
def phase_table(start, stop, k, s, d, n):
    """The phases of canvas positions ``[start, stop)`` along one axis, for
    a kernel of length ``k``, stride ``s``, dilation ``d`` and an input of
    length ``n``: an ``(s, 7)`` ``intp`` array, row ``rho`` for the
    positions ``e`` with ``e % s == rho``, columns :data:`FIELDS`:

    pos, count
        The phase's first position, counted from ``start``, and how many
        positions it has (every ``s``-th).
    o0
        The input its first output reads by its last tap (the leftmost
        read); 0 for a phase without taps.
    ntaps, l0
        Its taps ``l0, l0 + s', ...`` (``ntaps`` of them).  Tap ``t`` of the
        phase's ``q``-th output reads input ``o0 + (ntaps - 1 - t)*d' + q``.
    klo, khi
        The outputs ``[klo, khi)`` whose reads all lie inside the input.

    The table is read-only and cached: a transposed call asks for the same
    two tables every time its geometry repeats.

    Examples
    --------
    >>> phase_table(0, 5, 3, 2, 1, 2)
    array([[ 0,  3, -1,  2,  0,  1,  2],
           [ 1,  2,  0,  1,  1,  0,  2]])
    """
    sp = s // gcd(s, d)
    dp = d // gcd(s, d)
    rows = []
    for rho in range(s):
        first = start + (rho - start) % s
        count = (stop - first + s - 1) // s if stop > first else 0
        q0 = (first - rho) // s
        l0 = 0
        while l0 < k and l0 < sp and (rho - l0 * d) % s != 0:
            l0 += 1
        ntaps = (k - 1 - l0) // sp + 1 if l0 < k and l0 < sp else 0
        if ntaps == 0:
            # no taps: every output is a zero, and none reads outside
            omin, klo, khi = 0, 0, count
        else:
            omax = q0 + (rho - l0 * d) // s        # an exact division
            omin = omax - (ntaps - 1) * dp
            klo = min(max(-omin, 0), count)
            khi = max(min(n - omax, count), klo)
        rows.append((first - start, count, omin, ntaps, l0, klo, khi))
    table = np.array(rows, dtype=np.intp).reshape(s, len(FIELDS))
    table.flags.writeable = False
    return table


def phase_gathers(n, k, s, d, before, length):
    """The phases of a transposed output of ``length`` along one axis whose
    forward padding before was ``before``, as lists: ``(first, count, taps,
    starts)`` per phase with outputs -- outputs ``first, first + s, ...``
    (``count`` of them) gather kernel taps ``taps``, tap ``taps[t]``
    reading input ``starts[t] + q`` for the phase's ``q``-th output -- and
    the zero padding ``(p0, p1)`` of the input that keeps every read inside.

    Examples
    --------
    >>> phase_gathers(2, 3, 2, 1, 0, 5)
    ([(0, 3, [0, 2], [0, -1]), (1, 2, [1], [0])], (1, 1))
    """
    sp = s // gcd(s, d)
    dp = d // gcd(s, d)
    phases = []
    lo, hi = 0, n
    for pos, count, o0, ntaps, l0, _, _ in phase_table(
            before, before + length, k, s, d, n).tolist():
        if count == 0:
            continue
        taps = [l0 + t * sp for t in range(ntaps)]
        starts = [o0 + (ntaps - 1 - t) * dp for t in range(ntaps)]
        if ntaps:
            lo, hi = min(lo, starts[-1]), max(hi, starts[0] + count)
        phases.append((pos, count, taps, starts))
    return phases, (-lo, hi - n)
