"""The public API's types (PEP 561: ``cfilter/py.typed``).

* The ``Literal`` names of ``cfilter._typing`` are exactly the names the
  functions accept at run time: each is accepted by a call, and none of the
  normalisers' names is missing.
* Every public function (``cfilter``, ``cfilter.kernels``, ``cfilter.nn``)
  annotates every parameter and its result.
* mypy, run on typical user code, passes the correct calls and reports the
  wrong ones (a misspelt mode, a str for a stride, a misspelt function...),
  line by line.
"""
import ast
import inspect
import re
import textwrap
import typing
from pathlib import Path

import numpy as np
import pytest

import cfilter
import cfilter._frequency
import cfilter._typing as T
import cfilter._validate as V
import cfilter.kernels
import cfilter.nn
from conftest import MODE_ALIASES, MODES

ROOT = Path(__file__).resolve().parent.parent
IMAGE = np.random.default_rng(3).random((16, 16))


def _names(alias):
    return set(typing.get_args(alias))


# -- the Literal names are the accepted names ---------------------------------

def _mode(name):
    cfilter.boundary_indices(4, -2, 8, name)


def _method(name):
    cfilter.plan(IMAGE, np.ones((3, 3)), method=name)


def _engine(name):
    assert cfilter.plan(IMAGE, np.ones((3, 3)), method=name).method == name


def _padding(name):
    cfilter.correlate(IMAGE, np.ones((3, 3)), padding=name)


def _nan_policy(name):
    cfilter.correlate(IMAGE, np.ones((3, 3)), nan_policy=name)


def _kind(name):
    cutoff = (0.1, 0.3) if name.startswith("band") else 0.2
    cfilter.frequency_filter(IMAGE, cutoff, kind=name)


def _shape(name):
    cfilter.frequency_filter(IMAGE, 0.2, shape=name)


def _torch_padding(name):
    cfilter.nn.conv2d(IMAGE[None, None], np.ones((1, 1, 3, 3)), padding=1,
                      padding_mode=name)


def _template_method(name):
    cfilter.match_template(IMAGE, IMAGE[2:7, 3:9], method=name)


def _separable_method(name):
    cfilter.sep_filter(IMAGE, [1.0, 2.0, 1.0], [1.0, 0.0, -1.0], method=name)


def _config_mode(name):
    cfilter.show_config(mode=name)


# alias name -> (the names the normaliser knows, a call that uses one)
LITERALS = {
    "Mode": (set(V._MODE_NAMES) | set(V._MODE_ALIASES), _mode),
    "Method": (set(V.METHODS), _method),
    "Engine": (set(V.METHODS) - {"auto"}, _engine),
    "PaddingName": (set(V.PADDING_NAMES), _padding),
    "NanPolicy": (set(V.NAN_POLICIES), _nan_policy),
    "FrequencyKind": (set(cfilter._frequency.KINDS), _kind),
    "FrequencyShape": (set(cfilter._frequency.SHAPES), _shape),
    "TorchPaddingMode": (set(cfilter.nn._PADDING_MODES), _torch_padding),
    "TemplateMethod": ({"auto", "direct", "fft"}, _template_method),
    "SeparableMethod": ({"separable", "direct"}, _separable_method),
    "ConfigMode": ({"stdout", "dicts"}, _config_mode),
}


@pytest.mark.parametrize("alias", list(LITERALS))
def test_literal_names_are_the_names_the_functions_accept(alias, capsys):
    known, call = LITERALS[alias]
    names = _names(getattr(T, alias))
    assert names == known
    for name in sorted(names):
        call(name)
    # and a near miss is refused, so the calls above did check the names
    bad = sorted(names)[0] + "x"
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        call(bad)


def test_mode_literal_is_the_documented_vocabulary():
    # conftest's table of DESIGN's modes and aliases, written independently
    assert _names(T.Mode) == set(MODES) | set(MODE_ALIASES)


def test_typing_module_imports_nothing_from_cfilter():
    tree = ast.parse((ROOT / "cfilter" / "_typing.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not node.module.startswith("cfilter")
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("cfilter") for a in node.names)


# -- every public function is annotated -------------------------------------

def _public_callables():
    for module in (cfilter, cfilter.kernels, cfilter.nn):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or name == "FilterPlan":
                continue    # modules; a NamedTuple annotates its fields
            if inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj.__init__
                for attr, member in vars(obj).items():
                    if isinstance(member, property):
                        yield f"{name}.{attr}", member.fget
                    elif inspect.isfunction(member) and (
                            not attr.startswith("_") or attr in (
                                "__array__", "__getitem__", "__len__")):
                        yield f"{name}.{attr}", member
            else:
                yield f"{module.__name__}.{name}", obj


def test_every_public_function_annotates_its_parameters_and_result():
    missing = []
    for name, func in _public_callables():
        sig = inspect.signature(func)
        bare = [p for p, v in sig.parameters.items()
                if p != "self" and v.annotation is inspect.Parameter.empty]
        if bare or sig.return_annotation is inspect.Signature.empty:
            missing.append((name, bare))
    assert missing == []


def test_the_package_is_marked_typed():
    assert (ROOT / "cfilter" / "py.typed").is_file()


# -- mypy on user code ------------------------------------------------------

# Every line marked ``# error`` must be reported, and no other line.
USER_CODE = '''
from typing import Any

import numpy as np
from typing_extensions import assert_type

import cfilter
from cfilter import kernels, nn

image = np.zeros((64, 48), dtype=np.float32)
weights = np.ones((3, 3)) / 9
a = cfilter.correlate(image, weights, mode="mirror", stride=(2, 1),
                      padding=((1, 1), (0, 2)), method="fft", workers=2,
                      nan_policy="ignore", output=np.float64)
b = cfilter.convolve(image, kernels.gaussian(1.5), mode="symmetric",
                     padding="valid", output=np.uint8, dilation=2)
print(a.shape, b.dtype)
c = cfilter.gaussian_blur(image, (1.0, 2.0), axes=(0, 1), cval=0.5)
d = cfilter.sobel(image, axis=0, mode="edge")
e = cfilter.frequency_filter(image, (0.05, 0.2), kind="bandpass",
                             shape="gaussian", pad=8)
f = cfilter.sep_filter(image, [1, 2, 1], [1, 0, -1], method="direct")
g = cfilter.correlate1d(image, [1.0, 2.0, 1.0], axis=0, padding=(1, 2))
h, w = cfilter.conv_output_shape((64, 48), 3, padding="same", stride=2)
assert_type(cfilter.conv_output_shape(64, 3), int)
assert_type(cfilter.transposed_output_shape((4, 4), (3, 3), stride=2),
            tuple[int, ...])
p = cfilter.plan(image, weights, convolve=True)
assert_type(p.output_shape, tuple[int, ...])
scores = cfilter.match_template(image, image[:8, :8], padding="same",
                                method="direct")
layer = nn.conv2d(np.zeros((1, 1, 8, 8)), np.ones((2, 1, 3, 3)),
                  padding="same", padding_mode="circular")
up = cfilter.nn.conv_transpose2d(layer, np.ones((2, 1, 3, 3)), stride=2)
up2 = cfilter.conv_transpose(image, weights, stride=2, output_padding=1)
matrix = cfilter.convolution_matrix(weights, (8, 8), mode="wrap")
info = cfilter.show_config(mode="dicts")
assert_type(info, dict[str, Any])
cfilter.show_config()
k = kernels.get("gaussian:sigma=2")
assert_type(k.shape, tuple[int, ...])
idx = cfilter.boundary_indices(4, -2, 8, "periodic")
old = cfilter.set_num_threads(cfilter.get_num_threads())
cfilter.correlate(image, weights, mode="reflec")  # error
cfilter.correlate(image, weights, stride="2")  # error
cfilter.convolve(image, weights, method="fastest")  # error
cfilter.correlate(image, weights, padding="sam")  # error
cfilter.gaussian_blur(image, 2, nan_policy="omit")  # error
cfilter.frequency_filter(image, 0.1, kind="low")  # error
cfilter.corelate(image, weights)  # error
cfilter.sobel(image, mode="reflec")  # error
kernels.gaussian("2")  # error
nn.conv2d(layer, weights, padding_mode="mirror")  # error
rows, cols = cfilter.conv_output_shape(64, 3)  # error
cfilter.show_config(mode="dict")  # error
cfilter.correlate(image, weights, workers="2")  # error
'''


def test_mypy_passes_correct_calls_and_reports_wrong_ones(tmp_path,
                                                          monkeypatch):
    api = pytest.importorskip("mypy.api")
    source = tmp_path / "user_code.py"
    source.write_text(textwrap.dedent(USER_CODE))
    expected = {i for i, line in enumerate(USER_CODE.splitlines(), start=1)
                if line.endswith("# error")}
    # This checkout's cfilter first, whatever else is installed.
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    stdout, stderr, status = api.run([
        "--config-file", str(ROOT / "pyproject.toml"),
        "--cache-dir", str(tmp_path / "cache"),
        "--no-error-summary", "--show-error-codes", str(source)])
    assert stderr == ""
    reported = {}
    for line in stdout.splitlines():
        where, _, message = line.partition(": error: ")
        if message:
            assert where.startswith(str(source)), line
            reported.setdefault(int(where.rsplit(":", 1)[1]), message)
    missed = sorted(expected - set(reported))
    unexpected = {n: m for n, m in reported.items() if n not in expected}
    assert (missed, unexpected) == ([], {}), stdout
    assert status == 1
