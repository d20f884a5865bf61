"""conv_transpose: torch's conv_transpose2d for zeros, the adjoint of
correlate for every mode (<C x, y> == <x, C^T y>), C.T @ y, an independent
scatter-and-fold reference, layouts, dtypes and errors."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import cfilter
from conftest import (MODES, NP_PAD_MODE, random_kernel, requires_torch,
                      resolve_padding)

try:
    import torch
except ImportError:          # the tests marked requires_torch skip
    torch = None
else:
    F = torch.nn.functional


def _both(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def ref_conv_transpose(y, w, mode, padding, stride, dilation, shape):
    """Scatter every y[i, j] * w onto a canvas of extended coordinates (the
    zero-stuffing view), then fold the canvas into the image by the mode's
    numpy.pad index map (constant: drop)."""
    (top, _), (left, _) = resolve_padding(padding, w.shape, dilation)
    (sy, sx), (dy, dx) = _both(stride), _both(dilation)
    kh, kw = w.shape
    H, W = shape
    lh = max((y.shape[0] - 1) * sy + (kh - 1) * dy + 1, top + H)
    lw = max((y.shape[1] - 1) * sx + (kw - 1) * dx + 1, left + W)
    canvas = np.zeros((lh, lw))
    for m in range(kh):
        for l in range(kw):
            canvas[m * dy:m * dy + (y.shape[0] - 1) * sy + 1:sy,
                   l * dx:l * dx + (y.shape[1] - 1) * sx + 1:sx] += w[m, l] * y

    def index_map(n, before, total):
        idx = np.arange(n)
        if mode == "constant":
            return np.pad(idx, (before, total - before - n), constant_values=-1)
        return np.pad(idx, (before, total - before - n), mode=NP_PAD_MODE[mode])

    rows, cols = index_map(H, top, lh), index_map(W, left, lw)
    keep_r, keep_c = rows >= 0, cols >= 0
    out = np.zeros((H, W))
    np.add.at(out, (rows[keep_r][:, None], cols[keep_c][None, :]),
              canvas[np.ix_(keep_r, keep_c)])
    return out


@requires_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4), (1, 1), (5, 2)], ids=str)
@pytest.mark.parametrize("stride", [1, 2, (3, 1)], ids=str)
@pytest.mark.parametrize("padding", [0, 1, (2, 0), 4], ids=str)
@pytest.mark.parametrize("dilation", [1, (2, 1)], ids=str)
def test_constant_matches_torch_conv_transpose2d(rng, dtype, kshape, stride,
                                                 padding, dilation):
    y = rng.standard_normal((5, 6)).astype(dtype)
    w = random_kernel(rng, kshape)
    s, p, d = _both(stride), _both(padding), _both(dilation)
    for a in {(0, 0), (max(s[0], d[0]) - 1, max(s[1], d[1]) - 1)}:
        try:
            expected = F.conv_transpose2d(
                torch.from_numpy(y.astype(np.float64))[None, None],
                torch.from_numpy(w)[None, None], stride=s, padding=p,
                output_padding=a, dilation=d)[0, 0].numpy()
        except RuntimeError:   # torch: output too small
            with pytest.raises(ValueError, match="padding"):
                cfilter.conv_transpose(y, w, stride=stride, padding=padding,
                                       dilation=dilation, output_padding=a)
            continue
        got = cfilter.conv_transpose(y, w, stride=stride, padding=padding,
                                     dilation=dilation, output_padding=a)
        assert got.dtype == dtype and got.shape == expected.shape
        atol = 8 * np.finfo(dtype).eps * np.abs(w).sum() * np.abs(y).max()
        np.testing.assert_allclose(got, expected, rtol=0, atol=atol)


PADDINGS = ["same", "valid", "full", 0, 1, 3, (2, 0), ((0, 3), (2, 1))]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
@pytest.mark.parametrize("stride", [1, 2, (3, 2)], ids=str)
@pytest.mark.parametrize("dilation", [1, (1, 2)], ids=str)
def test_adjoint_identity_and_matrix_transpose(rng, mode, padding, stride,
                                               dilation):
    shape = (7, 6)
    w = random_kernel(rng, (3, 2))
    kw = dict(mode=mode, padding=padding, stride=stride, dilation=dilation)
    x = rng.standard_normal(shape)
    cx = cfilter.correlate(x, w, **kw)
    y = rng.standard_normal(cx.shape)
    cty = cfilter.conv_transpose(y, w, output_shape=shape, **kw)
    assert cty.shape == shape
    # <C x, y> == <x, C^T y>: both sums of the same products, in another order
    scale = np.abs(w).sum() * np.abs(x).max() * np.abs(y).sum()
    tol = 16 * np.finfo(np.float64).eps * scale
    assert abs(np.vdot(cx, y) - np.vdot(x, cty)) <= tol
    # C^T y, entry by entry, from the sparse matrix and from the reference
    C = cfilter.convolution_matrix(w, shape, **kw)
    entry_tol = 16 * np.finfo(np.float64).eps * np.abs(w).sum() * np.abs(y).max() \
        * np.prod([-(-k // s) for k, s in zip(w.shape, _both(stride))]) * 4
    np.testing.assert_allclose(cty.ravel(), C.T @ y.ravel(), rtol=0, atol=entry_tol)
    ref = ref_conv_transpose(y, w, mode, padding, stride, dilation, shape)
    np.testing.assert_allclose(cty, ref, rtol=0, atol=entry_tol)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kshape", [(7, 5), (9, 9)], ids=str)
def test_kernel_larger_than_image_folds_many_times(rng, mode, kshape):
    shape = (3, 4)
    w = random_kernel(rng, kshape)
    y = rng.standard_normal(shape)
    got = cfilter.conv_transpose(y, w, mode=mode, padding="same")
    C = cfilter.convolution_matrix(w, shape, mode=mode)
    np.testing.assert_allclose(got.ravel(), C.T @ y.ravel(), atol=1e-12)
    np.testing.assert_allclose(got, ref_conv_transpose(y, w, mode, "same", 1, 1, shape),
                               atol=1e-12)


def test_seed_example_2x2_back_to_4x4():
    # seed 004: C is 4x16, C.T is 16x4; each input value reaches nine outputs
    w = np.arange(1.0, 10.0).reshape(3, 3)
    y = np.array([[1.0, 10.0], [100.0, 1000.0]])
    got = cfilter.conv_transpose(y, w)
    assert got.shape == (4, 4)
    C = cfilter.convolution_matrix(w, (4, 4), padding="valid")
    np.testing.assert_allclose(got.ravel(), C.T @ y.ravel())
    assert got[0, 0] == 1.0 and got[3, 3] == 9000.0
    # 5x5, stride 2 -> 2x2 -> 5x5; 6x6 with padding 1 needs output_padding 1
    assert cfilter.conv_transpose(np.ones((2, 2)), w, stride=2).shape == (5, 5)
    assert cfilter.conv_transpose(np.ones((3, 3)), w, stride=2, padding=1,
                                  output_padding=1).shape == (6, 6)


@pytest.mark.parametrize("dtype, expected", [
    (np.float32, np.float32), (np.float64, np.float64), (np.float16, np.float32),
    (np.uint8, np.float32), (np.int16, np.float32), (np.int64, np.float64),
    (np.bool_, np.float32)])
def test_dtypes_as_correlate(dtype, expected):
    y = (np.arange(12) % 5).reshape(3, 4).astype(dtype)
    got = cfilter.conv_transpose(y, np.ones((2, 2)), stride=2)
    assert got.dtype == expected
    np.testing.assert_allclose(got, cfilter.conv_transpose(
        y.astype(np.float64), np.ones((2, 2)), stride=2))


def test_output_argument_dtype_and_array(rng):
    y = rng.uniform(0, 10, (4, 4))
    ref = cfilter.conv_transpose(y, np.ones((3, 3)), stride=2)
    assert cfilter.conv_transpose(y, np.ones((3, 3)), stride=2,
                                  output=np.float32).dtype == np.float32
    dest = np.empty(ref.shape, dtype=np.uint8)
    res = cfilter.conv_transpose(y, np.ones((3, 3)), stride=2, output=dest)
    assert res is dest
    np.testing.assert_array_equal(dest, np.clip(np.rint(ref), 0, 255))


@pytest.mark.parametrize("mode", ["reflect", "wrap"])
def test_channels_and_stacks_are_independent_planes(rng, mode):
    w = random_kernel(rng, (3, 3))
    rgb = rng.standard_normal((4, 5, 3))
    got = cfilter.conv_transpose(rgb, w, stride=2, mode=mode, channel_axis=-1,
                                 padding="same", output_shape=(8, 9))
    assert got.shape == (8, 9, 3)
    for c in range(3):
        np.testing.assert_allclose(got[..., c], cfilter.conv_transpose(
            rgb[..., c], w, stride=2, mode=mode, padding="same",
            output_shape=(8, 9)), atol=1e-12)
    stack = rng.standard_normal((2, 4, 3, 5))          # axes (1, 3)
    got = cfilter.conv_transpose(stack, w, stride=(2, 1), mode=mode, axes=(1, 3),
                                 padding=1, output_padding=(1, 0))
    assert got.shape == (2, 8, 3, 5)
    for a in range(2):
        for b in range(3):
            np.testing.assert_allclose(got[a, :, b], cfilter.conv_transpose(
                stack[a, :, b], w, stride=(2, 1), mode=mode, padding=1,
                output_padding=(1, 0)), atol=1e-12)
    # output_shape may also be the whole result shape
    full = cfilter.conv_transpose(stack, w, stride=(2, 1), mode=mode, axes=(1, 3),
                                  padding=1, output_shape=(2, 8, 3, 5))
    np.testing.assert_array_equal(full, got)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kshape, dilation, padding", [
    ((3, 3), 1, "same"), ((7, 4), 1, "same"), ((5, 5), (1, 3), "full"),
    ((3, 3), (2, 40), "same"), ((3, 3), (2, 40), 0), ((3, 1), 1, "same"),
    ((1, 4), 1, 0), ((2, 3), 1, ((1, 0), (0, 2))), ((3, 3), 1, 0),
    ((3, 3), (1, 2), 1), ((3, 3), 1, 5)], ids=str)
@pytest.mark.parametrize("stride", [1, 2, (1, 2), (2, 3)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_images(rng, mode, kshape, dilation, padding, stride, dtype):
    # Rows wider than the 64-output blocks of the compiled loops, so the
    # vector paths of every row are used, not only the short-row tails:
    # stride 1's correlation with the flipped kernel (with dilation 40 its
    # edge segments are a block wide too), stride 2's paired phases and the
    # other strides' phase buffers.
    if padding == "same" and stride != 1:
        padding = 1
    shape = (13, 331)
    w = random_kernel(rng, kshape)
    kw = dict(mode=mode, padding=padding, dilation=dilation, stride=stride)
    try:
        ylen = cfilter.correlate(np.zeros(shape), w, **kw).shape
    except ValueError:      # the kernel does not fit this padding
        pytest.skip("no forward output")
    y = rng.standard_normal(ylen)
    got = cfilter.conv_transpose(y.astype(dtype), w, output_shape=shape, **kw)
    ref = ref_conv_transpose(y, w, mode, padding, stride, dilation, shape)
    atol = 64 * np.finfo(dtype).eps * np.abs(w).sum() * np.abs(y).max()
    assert got.dtype == dtype
    np.testing.assert_allclose(got, ref, rtol=0, atol=atol)
    one = cfilter.conv_transpose(y.astype(dtype), w, output_shape=shape,
                                 workers=1, **kw)
    np.testing.assert_array_equal(
        cfilter.conv_transpose(y.astype(dtype), w, output_shape=shape,
                               workers=3, **kw), one)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stride", [1, 2, (2, 3)], ids=str)
@pytest.mark.parametrize("plane", [(1, 70), (2, 9), (7, 150)], ids=str)
def test_stacks_share_their_rows_among_threads(rng, mode, stride, plane):
    # All the planes' rows (and border rows) go to the threads together:
    # each plane must still fold only its own border rows, and the thread
    # count must not change a bit.
    w = random_kernel(rng, (3, 4))
    fwd = dict(mode=mode, stride=stride, padding=((2, 1), (1, 2)))
    ylen = cfilter.correlate(np.zeros(plane), w, **fwd).shape
    y = rng.standard_normal((5, 3) + ylen)
    kw = dict(fwd, axes=(-2, -1), output_shape=plane)
    results = [cfilter.conv_transpose(y, w, workers=n, **kw) for n in (1, 2, 7)]
    for r in results[1:]:
        np.testing.assert_array_equal(results[0], r)
    atol = 64 * np.finfo(np.float64).eps * np.abs(w).sum() * np.abs(y).max()
    for i in range(5):
        for j in range(3):
            ref = ref_conv_transpose(y[i, j], w, mode, fwd["padding"], stride,
                                     1, plane)
            np.testing.assert_allclose(results[0][i, j], ref, rtol=0, atol=atol)


def test_threads_give_the_same_result(rng):
    y = rng.standard_normal((37, 41)).astype(np.float32)
    w = random_kernel(rng, (3, 4))
    for mode in ("constant", "mirror"):
        kw = dict(mode=mode, stride=(2, 3), padding="same", output_shape=(73, 121))
        one = cfilter.conv_transpose(y, w, workers=1, **kw)
        for n in (2, 3, 8):
            np.testing.assert_array_equal(cfilter.conv_transpose(y, w, workers=n, **kw), one)


def test_input_is_not_modified_and_any_layout_works(rng):
    y = rng.standard_normal((6, 5))
    w = random_kernel(rng, (3, 3))
    ref = cfilter.conv_transpose(y, w, mode="nearest", stride=2)
    fortran = np.asfortranarray(y)
    flipped = y[::-1, ::-1].copy()[::-1, ::-1]
    big_endian = y.astype(">f8")
    readonly = y.copy()
    readonly.setflags(write=False)
    for arr in (fortran, flipped, big_endian, readonly, y.tolist()):
        np.testing.assert_array_equal(
            cfilter.conv_transpose(arr, w, mode="nearest", stride=2), ref)
    np.testing.assert_array_equal(readonly, y)


def test_output_shape_range_is_the_forward_preimage():
    w = np.ones((3, 3))
    y = np.ones((3, 3))
    for n in (5, 6):        # both map to 3 with stride 2, padding 1
        assert cfilter.conv_transpose(y, w, stride=2, padding=1,
                                      output_shape=(n, n)).shape == (n, n)
    with pytest.raises(ValueError, match=r"output_shape=\(7, 7\).*5\.\.6"):
        cfilter.conv_transpose(y, w, stride=2, padding=1, output_shape=(7, 7))


Y = np.ones((3, 3))
BAD = [
    ("output-padding-ge-stride", dict(stride=2, output_padding=2), ValueError,
     r"output_padding=2.*stride \(2\)"),
    ("output-padding-stride-1", dict(output_padding=1), ValueError, r"output_padding"),
    ("output-padding-negative", dict(output_padding=-1), ValueError, r"output_padding"),
    ("output-padding-float", dict(output_padding=0.5), TypeError, r"output_padding"),
    ("both-output-forms", dict(stride=2, output_padding=1, output_shape=(6, 6)),
     ValueError, r"output_padding or output_shape"),
    ("output-shape-wrong", dict(output_shape=(9, 5)), ValueError,
     r"output_shape=\(9, 5\).*maps to \(3, 3\)"),
    ("output-shape-3", dict(output_shape=(5, 5, 5)), ValueError, r"output_shape"),
    ("output-shape-zero", dict(output_shape=(0, 5)), ValueError, r"output_shape"),
    ("output-shape-scalar", dict(output_shape=5), TypeError, r"output_shape"),
    ("padding-removes-all", dict(padding=3), ValueError, r"padding.*removes"),
    ("padding-name", dict(padding="half"), ValueError, r"padding='half'"),
    ("padding-negative", dict(padding=-1), ValueError, r"padding"),
    ("mode", dict(mode="reflec"), ValueError, r"mode='reflec'.*reflect"),
    ("stride", dict(stride=0), ValueError, r"stride"),
    ("dilation", dict(dilation=(1, -1)), ValueError, r"dilation"),
    ("axes", dict(axes=(0, 0)), ValueError, r"axes"),
    ("output-wrong-shape", dict(output=np.empty((3, 3))), ValueError, r"output.*shape"),
    ("workers", dict(workers=0), ValueError, r"workers"),
]


@pytest.mark.parametrize("name, kwargs, exc, pattern", BAD, ids=[b[0] for b in BAD])
def test_errors_name_the_parameter(name, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        cfilter.conv_transpose(Y, np.ones((3, 3)), **kwargs)


def test_bad_image_and_kernel():
    with pytest.raises(TypeError, match="image is complex"):
        cfilter.conv_transpose(np.ones((3, 3), complex), np.ones((2, 2)))
    with pytest.raises(ValueError, match="kernel must be 2-D"):
        cfilter.conv_transpose(np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="channel_axis"):
        cfilter.conv_transpose(np.ones((3, 3, 3)), np.ones((2, 2)))


@settings(max_examples=120, deadline=None)
@given(h=st.integers(1, 9), w=st.sampled_from([1, 2, 5, 9, 70, 150]),
       kh=st.integers(1, 5), kw=st.integers(1, 5),
       sy=st.integers(1, 4), sx=st.integers(1, 4),
       dy=st.integers(1, 3), dx=st.integers(1, 3),
       pad=st.tuples(*[st.integers(0, 6)] * 4), mode=st.sampled_from(MODES),
       seed=st.integers(0, 2**32 - 1))
def test_property_matches_scatter_and_fold(h, w, kh, kw, sy, sx, dy, dx, pad,
                                           mode, seed):
    # Random geometry, rows short and long (the vector paths need 64+
    # outputs a phase), checked against the scatter-and-fold reference.
    padding = ((pad[0], pad[1]), (pad[2], pad[3]))
    kw_ = dict(mode=mode, padding=padding, stride=(sy, sx), dilation=(dy, dx))
    rng = np.random.default_rng(seed)
    wts = rng.normal(size=(kh, kw))
    # the kernel must fit the padded image
    assume(h + pad[0] + pad[1] > dy * (kh - 1))
    assume(w + pad[2] + pad[3] > dx * (kw - 1))
    y = rng.normal(size=cfilter.correlate(np.zeros((h, w)), wts, **kw_).shape)
    got = cfilter.conv_transpose(y, wts, output_shape=(h, w), **kw_)
    ref = ref_conv_transpose(y, wts, mode, padding, (sy, sx), (dy, dx), (h, w))
    atol = 64 * np.finfo(np.float64).eps * np.abs(wts).sum() * np.abs(y).max()
    np.testing.assert_allclose(got, ref, rtol=0, atol=atol)


def test_core_refuses_phase_tables_that_miss_its_columns():
    """The compiled transpose trusts its caller's geometry, but reads the
    canvas width from the caller's border table: a table of another shape,
    or one that does not hold the plane's columns, would send the gather
    past its buffers, so it is a ValueError (and ``out`` is left alone).
    The good tables give numpy's scatter-add adjoint."""
    from cfilter._core._transpose import conv_transpose_planes
    from cfilter._phases import phase_table
    from cfilter._validate import normalize_mode

    rng = np.random.default_rng(3)
    ys = rng.standard_normal((1, 4, 5))
    k = rng.standard_normal((3, 3))
    # stride 2, no padding: the plane is the canvas reached by y
    H, W = 2 * 3 + 3, 2 * 4 + 3
    mode = normalize_mode("reflect")

    def call(ph_plane, ph_border):
        out = np.full((1, H, W), 7.0)
        conv_transpose_planes(ys, k, out, 0, 0, 2, 2, 1, 1, mode, 1,
                              ph_plane, ph_border)
        return out[0]

    good = phase_table(0, W, 3, 2, 1, 5)
    expected = np.zeros((H, W))
    for i in range(4):
        for j in range(5):
            expected[2 * i:2 * i + 3, 2 * j:2 * j + 3] += ys[0, i, j] * k
    np.testing.assert_allclose(call(good, good), expected, atol=1e-12)
    short = phase_table(0, W - 2, 3, 2, 1, 5)
    other = phase_table(0, W, 3, 3, 1, 5)
    for ph_plane, ph_border in ((short, good), (good, short),
                                (other, good), (good, good[:, :4].copy())):
        out = np.full((1, H, W), 7.0)
        with pytest.raises(ValueError, match="phase tables"):
            conv_transpose_planes(ys, k, out, 0, 0, 2, 2, 1, 1, mode, 1,
                                  ph_plane, ph_border)
        assert (out == 7.0).all()
