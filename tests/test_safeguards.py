"""Numeric safeguards that no other test would notice breaking (issue 10).

* The box engine restarts its running sums every ``RESTART`` steps
  (``_core/_box.pyx``), so rounding error stays bounded on long rows and
  columns.  Measured against per-window sums in extended precision
  (``np.longdouble`` over each window, independent of any running sum):
  with the restart the error is about 11 eps*max on a 200 000-long line;
  with ``RESTART = 2**30`` it grows far past the bound of 40, which this test
  rejects (checked once by planting that change).
* The transposed convolution's phase algebra (which kernel taps and which
  input rows reach each output phase) is written twice, in
  ``_core/_transpose.pyx`` and in ``nn.conv_transpose2d``; both are checked
  against torch elsewhere, and here against each other's independent
  reference, the sparse matrix ``C.T`` of :func:`cfilter.convolution_matrix`,
  on strides and dilations that make phases with no taps.
"""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import cfilter
import cfilter.nn

LONG = 200_000


def _window_sums(line, k):
    """Each window's sum in extended precision, summed on its own."""
    return sliding_window_view(line.astype(np.longdouble), k).sum(axis=-1)


@pytest.mark.parametrize("along", ["rows", "columns"])
def test_box_running_sum_error_stays_bounded_on_long_lines(along):
    rng = np.random.default_rng(0)
    k = 31
    # An offset makes every running-sum update round (values are not
    # small integers), as real images with a DC level do.
    line = 1.0 + rng.random(LONG)
    want = _window_sums(line, k)
    if along == "rows":
        image, kernel = line[np.newaxis, :], np.ones((1, k))
    else:
        image, kernel = line[:, np.newaxis], np.ones((k, 1))
    got = cfilter.correlate(image, kernel, padding="valid", method="box")
    err = np.abs(got.ravel().astype(np.longdouble) - want).max()
    scale = np.finfo(np.float64).eps * float(np.abs(want).max())
    assert float(err) / scale < 40, f"{float(err) / scale:.0f} eps*max"


@pytest.mark.parametrize("stride, dilation, kshape, padding", [
    ((2, 3), (1, 1), (3, 2), (1, 0)),
    ((3, 2), (2, 1), (2, 3), (0, 1)),
    ((4, 4), (3, 2), (2, 2), (2, 1)),   # phases that no tap reaches
    ((1, 2), (2, 3), (3, 3), (2, 3)),
])
def test_transposed_phases_agree_with_matrix_and_nn(stride, dilation, kshape,
                                                    padding):
    rng = np.random.default_rng(1)
    w = rng.standard_normal(kshape)
    x_shape = (11, 13)
    mat = cfilter.convolution_matrix(w, x_shape, padding=padding,
                                     stride=stride, dilation=dilation)
    y_shape = cfilter.conv_output_shape(x_shape, kshape, padding, stride,
                                        dilation)
    y = rng.standard_normal(y_shape)
    want = (mat.T @ y.ravel()).reshape(x_shape)
    got = cfilter.conv_transpose(y, w, stride=stride, padding=padding,
                                 dilation=dilation, output_shape=x_shape)
    np.testing.assert_allclose(got, want, atol=1e-12)
    op = tuple(n - o for n, o in zip(
        x_shape, cfilter.transposed_output_shape(y_shape, kshape, padding,
                                                 stride, dilation)))
    nn_out = cfilter.nn.conv_transpose2d(y[None, None], w[None, None],
                                         stride=stride, padding=padding,
                                         dilation=dilation, output_padding=op)
    np.testing.assert_allclose(nn_out[0, 0], want, atol=1e-12)
