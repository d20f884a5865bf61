"""Bad arguments raise clear errors that name the parameter (and the allowed values)."""

import numpy as np
import pytest

import cfilter

X = np.arange(30, dtype=np.float64).reshape(5, 6)
W = np.arange(9, dtype=np.float64).reshape(3, 3) - 4.0
# a kernel that is certainly not rank 1
W_NONSEP = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])

TV = (TypeError, ValueError)


def _readonly(shape):
    a = np.zeros(shape)
    a.setflags(write=False)
    return a


# (id, keyword arguments for correlate/convolve, exception(s), regex the message must match)
BAD_KEYWORDS = [
    # mode
    ("mode-typo", dict(mode="reflec"), ValueError, r"(?s)reflec.*reflect"),
    ("mode-unknown-lists-all", dict(mode="bogus"),
     ValueError, r"(?s)mode.*reflect.*mirror.*nearest.*wrap.*constant"),
    ("mode-empty", dict(mode=""), ValueError, "mode"),
    ("mode-near-miss", dict(mode="mirrors"), ValueError, "mode"),
    ("mode-not-str", dict(mode=3), TV, "mode"),
    ("mode-none", dict(mode=None), TV, "mode"),
    # padding
    ("padding-typo", dict(padding="sam"), ValueError, r"(?s)padding.*same"),
    ("padding-unknown-lists-all", dict(padding="bogus"), ValueError,
     r"(?s)padding.*(same.*valid.*full|same.*full.*valid|valid.*same|full.*same)"),
    ("padding-negative-int", dict(padding=-1), ValueError, "padding"),
    ("padding-negative-pair", dict(padding=(1, -2)), ValueError, "padding"),
    ("padding-negative-per-side", dict(padding=((0, 1), (-1, 0))), ValueError, "padding"),
    ("padding-three-ints", dict(padding=(1, 2, 3)), TV, "padding"),
    ("padding-bad-nesting-3", dict(padding=((1, 2, 3), (0, 0))), TV, "padding"),
    ("padding-deep-nesting", dict(padding=(((1,), (2,)), ((0,), (0,)))), TV, "padding"),
    ("padding-float", dict(padding=1.5), TV, "padding"),
    ("padding-none", dict(padding=None), TV, "padding"),
    ("padding-empty-tuple", dict(padding=()), TV, "padding"),
    # stride
    ("stride-zero", dict(stride=0), ValueError, "stride"),
    ("stride-negative", dict(stride=-2), ValueError, "stride"),
    ("stride-pair-zero", dict(stride=(1, 0)), ValueError, "stride"),
    ("stride-float", dict(stride=1.5), TV, "stride"),
    ("stride-str", dict(stride="2"), TV, "stride"),
    ("stride-triple", dict(stride=(1, 2, 3)), TV, "stride"),
    ("stride-none", dict(stride=None), TV, "stride"),
    # dilation
    ("dilation-zero", dict(dilation=0), ValueError, "dilation"),
    ("dilation-negative", dict(dilation=(2, -1)), ValueError, "dilation"),
    ("dilation-float", dict(dilation=2.0 + 0.5), TV, "dilation"),
    ("dilation-str", dict(dilation="1"), TV, "dilation"),
    ("dilation-triple", dict(dilation=(1, 1, 1)), TV, "dilation"),
    # axes / channel_axis on a 2-D image
    ("axes-duplicate", dict(axes=(0, 0)), ValueError, "axes"),
    ("axes-duplicate-negative", dict(axes=(1, -1)), ValueError, "axes"),
    ("axes-out-of-range", dict(axes=(0, 2)), (ValueError, IndexError), "axes"),
    ("axes-out-of-range-negative", dict(axes=(-3, 1)), (ValueError, IndexError), "axes"),
    ("axes-one", dict(axes=(0,)), TV, "axes"),
    ("axes-three", dict(axes=(0, 1, 1)), TV, "axes"),
    ("axes-float", dict(axes=(0.0, 1.0)), TV, "axes"),
    ("channel-axis-on-2d", dict(channel_axis=0), ValueError, "channel_axis|axes"),
    ("channel-axis-out-of-range", dict(channel_axis=5), (ValueError, IndexError),
     "channel_axis"),
    # output
    ("output-wrong-shape", dict(output=np.empty((5, 5))), ValueError, r"(?s)output.*shape"),
    ("output-wrong-shape-transposed", dict(output=np.empty((6, 5))), ValueError, r"(?s)output.*shape"),
    ("output-wrong-ndim", dict(output=np.empty(30)), ValueError, r"(?s)output.*shape"),
    ("output-complex-dtype", dict(output=np.complex128), TV, "output|complex|dtype"),
    ("output-bad-dtype-name", dict(output="not-a-dtype"), TV, "output|dtype"),
    ("output-object-dtype", dict(output=object), TV, "output|dtype"),
    ("output-readonly-array", dict(output=_readonly((5, 6))), ValueError,
     "output|read|writ"),
    # method
    ("method-unknown", dict(method="fast"), ValueError, r"(?s)method.*(auto|direct)"),
    ("method-typo", dict(method="directt"), ValueError, r"(?s)method.*direct"),
    ("method-none", dict(method=None), TV, "method"),
    ("method-separable-nonseparable", dict(method="separable", _kernel=W_NONSEP), ValueError,
     "separable"),
    # workers
    ("workers-zero", dict(workers=0), ValueError, "workers"),
    ("workers-negative", dict(workers=-3), ValueError, "workers"),
    ("workers-float", dict(workers=1.5), TV, "workers"),
    ("workers-str", dict(workers="2"), TV, "workers"),
    # cval
    ("cval-str", dict(mode="constant", cval="zero"), TV, "cval"),
    ("cval-complex", dict(mode="constant", cval=1j), TV, "cval|complex"),
]


def _prepare(kwargs):
    kwargs = dict(kwargs)
    kernel = kwargs.pop("_kernel", W)
    return kernel, kwargs


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("case", BAD_KEYWORDS, ids=[c[0] for c in BAD_KEYWORDS])
def test_bad_keyword_raises_clear_error(case, fname):
    _, kwargs, exc, regex = case
    kernel, kwargs = _prepare(kwargs)
    xb = X.copy()
    with pytest.raises(exc, match=regex):
        getattr(cfilter, fname)(X, kernel, **kwargs)
    np.testing.assert_array_equal(X, xb)


SEP_KEYWORDS = [c for c in BAD_KEYWORDS if "_kernel" not in c[1] and not c[0].startswith("method")]


@pytest.mark.parametrize("case", SEP_KEYWORDS, ids=[c[0] for c in SEP_KEYWORDS])
def test_sep_filter_bad_keyword_raises_clear_error(case):
    _, kwargs, exc, regex = case
    _, kwargs = _prepare(kwargs)
    with pytest.raises(exc, match=regex):
        cfilter.sep_filter(X, [1.0, 2.0, 1.0], [1.0, 0.0, -1.0], **kwargs)


def test_mode_error_lists_valid_names():
    with pytest.raises(ValueError) as info:
        cfilter.correlate(X, W, mode="reflec")
    msg = str(info.value)
    assert "reflec" in msg  # what was given
    for name in ("reflect", "mirror", "nearest", "wrap", "constant"):
        assert name in msg  # what is allowed


# ------------------------------------------------------------------ image / kernel arguments

BAD_ARRAYS = [
    ("kernel-3d", X, np.ones((3, 3, 1)), {}, TV, "kernel|weights|ndim|dim"),
    ("kernel-1d", X, np.ones(3), {}, TV, "kernel|weights|ndim|dim"),
    ("kernel-0d", X, np.float64(1.0), {}, TV, "kernel|weights|ndim|dim"),
    ("kernel-empty", X, np.ones((0, 3)), {}, ValueError, "kernel|weights|empty"),
    ("kernel-empty-2", X, np.ones((3, 0)), {}, ValueError, "kernel|weights|empty"),
    ("kernel-complex", X, W.astype(complex), {}, TypeError, "complex"),
    ("kernel-str", X, [["a", "b"]], {}, TV, "kernel|weights|dtype|numeric|str|could not"),
    ("kernel-ragged", X, [[1.0, 2.0], [3.0]], {}, TV, None),
    # Empty images are no longer errors (DESIGN.md §2): tests/test_empty.py.
    ("image-complex", X.astype(np.complex64), W, {}, TypeError, "complex"),
    ("image-complex128", X + 0j, W, {}, TypeError, "complex"),
    ("image-str", np.array([["a", "b"]]), W, {}, TV, "image|input|dtype|numeric|str"),
    ("image-object", np.array([[1, None]], dtype=object), W, {}, TV, None),
    ("image-1d", np.ones(7), W, {}, TV, "image|input|dim|axes"),
    ("image-0d", np.float64(3.0), W, {}, TV, "image|input|dim|axes"),
    ("image-3d-no-axes", np.ones((4, 5, 3)), W, {}, ValueError,
     "(?s)(channel_axis.*axes|axes.*channel_axis)"),
    ("image-4d-channel-axis-only", np.ones((2, 4, 5, 3)), W, dict(channel_axis=-1), ValueError,
     "axes"),
    ("image-3d-channel-axis-out-of-range", np.ones((4, 5, 3)), W, dict(channel_axis=3),
     (ValueError, IndexError), "channel_axis"),
    ("image-3d-channel-axis-in-axes", np.ones((4, 5, 3)), W, dict(channel_axis=2, axes=(1, 2)),
     ValueError, "channel_axis|axes"),
    ("image-3d-axes-out-of-range", np.ones((4, 5, 3)), W, dict(axes=(0, 3)),
     (ValueError, IndexError), "axes"),
    ("image-3d-output-wrong-shape", np.ones((4, 5, 3)), W,
     dict(channel_axis=-1, output=np.empty((4, 5))), ValueError, r"(?s)output.*shape"),
    ("image-strided-output-wrong-shape", X, W, dict(stride=2, output=np.empty((5, 6))),
     ValueError, r"(?s)output.*shape"),
]


@pytest.mark.parametrize("fname", ["correlate", "convolve"])
@pytest.mark.parametrize("case", BAD_ARRAYS, ids=[c[0] for c in BAD_ARRAYS])
def test_bad_image_or_kernel_raises_clear_error(case, fname):
    _, image, kernel, kwargs, exc, regex = case
    with pytest.raises(exc, match=regex):
        getattr(cfilter, fname)(image, kernel, **kwargs)


def test_valid_padding_with_kernel_larger_than_image_raises():
    # out_len = n - k + 1 <= 0: no output pixel exists
    with pytest.raises(ValueError):
        cfilter.correlate(np.ones((3, 3)), np.ones((5, 5)), padding="valid")


def test_kernel_with_nan_is_allowed():
    w = W.copy()
    w[0, 0] = np.nan
    out = cfilter.correlate(X, w)  # must not raise
    assert np.isnan(out).all()


# ------------------------------------------------------------------ 1-D and sep_filter

BAD_1D = [
    ("weights-2d", np.ones((3, 1)), {}, TV, "weights|kernel|1-D|ndim|dim"),
    ("weights-0d", np.float64(2.0), {}, TV, "weights|kernel|1-D|ndim|dim"),
    ("weights-empty", np.ones(0), {}, ValueError, "weights|kernel|empty"),
    ("weights-complex", np.ones(3, complex), {}, TypeError, "complex"),
    ("axis-out-of-range", np.ones(3), dict(axis=2), (ValueError, IndexError), "axis"),
    ("axis-out-of-range-neg", np.ones(3), dict(axis=-3), (ValueError, IndexError), "axis"),
    ("axis-float", np.ones(3), dict(axis=1.0), TV, "axis"),
    ("axis-tuple", np.ones(3), dict(axis=(0, 1)), TV, "axis"),
    ("mode-typo", np.ones(3), dict(mode="reflec"), ValueError, r"(?s)reflec.*reflect"),
    ("padding-typo", np.ones(3), dict(padding="vaild"), ValueError, r"(?s)padding.*valid"),
    ("padding-negative", np.ones(3), dict(padding=-1), ValueError, "padding"),
    ("padding-negative-pair", np.ones(3), dict(padding=(0, -1)), ValueError, "padding"),
    ("stride-zero", np.ones(3), dict(stride=0), ValueError, "stride"),
    ("stride-float", np.ones(3), dict(stride=1.5), TV, "stride"),
    ("dilation-zero", np.ones(3), dict(dilation=0), ValueError, "dilation"),
    ("output-wrong-shape", np.ones(3), dict(output=np.empty((6, 5))), ValueError, r"(?s)output.*shape"),
    ("workers-zero", np.ones(3), dict(workers=0), ValueError, "workers"),
]


@pytest.mark.parametrize("fname", ["correlate1d", "convolve1d"])
@pytest.mark.parametrize("case", BAD_1D, ids=[c[0] for c in BAD_1D])
def test_bad_1d_call_raises_clear_error(case, fname):
    _, weights, kwargs, exc, regex = case
    with pytest.raises(exc, match=regex):
        getattr(cfilter, fname)(X, weights, **kwargs)


@pytest.mark.parametrize("fname", ["correlate1d", "convolve1d"])
@pytest.mark.parametrize("image", [np.ones((2, 3)) + 1j], ids=["complex"])
def test_bad_1d_image_raises(fname, image):
    with pytest.raises((TypeError, ValueError)):
        getattr(cfilter, fname)(image, [1.0, 2.0])


@pytest.mark.parametrize("row,col", [(np.ones((2, 2)), np.ones(3)), (np.ones(3), np.ones((3, 1))),
                                     (np.ones(0), np.ones(3)), (np.ones(3), np.ones(0))],
                         ids=["row-2d", "col-2d", "row-empty", "col-empty"])
def test_sep_filter_bad_weights_raise(row, col):
    with pytest.raises((TypeError, ValueError), match="weights|row|col|kernel|empty|1-D|dim"):
        cfilter.sep_filter(X, row, col)


# ------------------------------------------------------------------ threads

@pytest.mark.parametrize("n,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                   ("4", TypeError)])
def test_set_num_threads_rejects_bad_values(n, exc):
    before = cfilter.get_num_threads()
    with pytest.raises((exc, ValueError) if exc is TypeError else exc):
        cfilter.set_num_threads(n)
    assert cfilter.get_num_threads() == before


@pytest.mark.parametrize("kernel", [W, np.array([[1.0, 1.0], [1.0, 1.0 + 1e-3]])],
                         ids=["ramp", "almost-box"])
def test_box_method_with_unequal_weights_raises(kernel):
    with pytest.raises(ValueError, match="box"):
        cfilter.correlate(X, kernel, method="box")
