"""``import cfilter`` stays light (issues 12 and 13): the slow scipy
subpackages, ``importlib.metadata`` and the modules a plain filtering call
does not need (``cfilter.nn``, ``cfilter.dask``, template search, frequency
filters, the convolution matrix, transposed convolution) are imported on
first use.  The ``cfilter`` command pays the same start-up."""
import subprocess
import sys

import pytest

# Imported by neither ``import cfilter`` nor ``import cfilter.cli``.
NOT_AT_IMPORT = ("scipy.fft", "scipy.sparse", "scipy.ndimage", "dask",
                 "importlib.metadata", "cfilter.nn", "cfilter.dask",
                 "cfilter._template", "cfilter._frequency", "cfilter._matrix",
                 "cfilter._transpose", "cfilter.cli.demo")


def _python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.mark.parametrize("module", ["cfilter", "cfilter.cli"])
def test_import_loads_nothing_it_does_not_need(module):
    code = (f"import sys, {module}; print(sorted(m for m in "
            f"{NOT_AT_IMPORT!r} if m in sys.modules))")
    assert _python(code) == "[]"


def test_lazy_names_resolve_in_a_fresh_process():
    code = ("import cfilter\n"
            "from cfilter import nn\n"
            "import cfilter.nn\n"
            "assert cfilter.nn is nn and callable(cfilter.nn.conv2d)\n"
            "missing = [n for n in cfilter.__all__ if n not in dir(cfilter)]\n"
            "assert not missing, missing\n"
            "assert all(getattr(cfilter, n) is not None "
            "for n in cfilter.__all__)\n"
            "assert cfilter.match_template.__module__ == 'cfilter._template'\n"
            "from cfilter import conv_transpose, show_config\n"
            "assert show_config(mode='dicts')['numpy']\n"
            "try:\n"
            "    cfilter.no_such_name\n"
            "except AttributeError as exc:\n"
            "    print(exc)\n")
    assert _python(code) == "module 'cfilter' has no attribute 'no_such_name'"


def test_first_use_still_works_in_a_fresh_process():
    # Each lazily importing path, as the first call of a process.
    code = ("import numpy as np, cfilter; x = np.random.default_rng(0)"
            ".random((40, 30)); "
            "a = cfilter.correlate(x, np.ones((9, 9)), method='fft'); "
            "b = cfilter.frequency_filter(x, 0.2); "
            "c = cfilter.match_template(x, x[5:12, 4:9], method='fft'); "
            "m = cfilter.convolution_matrix(np.ones((3, 3)), (5, 5)); "
            "t = cfilter.conv_transpose(x, np.ones((3, 3)), stride=2); "
            "print(a.shape, b.shape, c.shape, m.shape, t.shape)")
    assert _python(code) == "(40, 30) (40, 30) (34, 26) (25, 25) (81, 61)"


def test_help_runs_without_the_demo_module():
    code = ("import sys, contextlib, io\n"
            "from cfilter.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n"
            "        main(['--help'])\n"
            "    except SystemExit:\n"
            "        pass\n"
            "assert 'apply' in out.getvalue()\n"
            "print('cfilter.cli.demo' in sys.modules)\n")
    assert _python(code) == "False"


def test_cfilter_dask_without_dask_is_a_missing_attribute():
    # A process where Dask cannot be imported: ``cfilter.dask`` is then no
    # attribute (hasattr and dir()-walking tools go on), and the message
    # still says what to install.
    code = ("import sys; sys.modules['dask'] = None\n"
            "import cfilter\n"
            "print(hasattr(cfilter, 'dask'))\n"
            "try:\n"
            "    cfilter.dask\n"
            "except AttributeError as exc:\n"
            "    print('pip install cfilter[dask]' in str(exc))\n")
    assert _python(code).split() == ["False", "True"]
