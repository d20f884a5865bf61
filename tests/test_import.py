"""``import cfilter`` stays light (issue 12): the slow scipy subpackages are
imported by the functions that use them, on first use."""
import subprocess
import sys


def test_import_does_not_load_scipy_fft_or_sparse():
    code = ("import sys, cfilter; "
            "print(sorted(m for m in ('scipy.fft', 'scipy.sparse', "
            "'scipy.ndimage', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


def test_first_use_still_works_in_a_fresh_process():
    # Each lazily importing path, as the first call of a process.
    code = ("import numpy as np, cfilter; x = np.random.default_rng(0)"
            ".random((40, 30)); "
            "a = cfilter.correlate(x, np.ones((9, 9)), method='fft'); "
            "b = cfilter.frequency_filter(x, 0.2); "
            "c = cfilter.match_template(x, x[5:12, 4:9], method='fft'); "
            "m = cfilter.convolution_matrix(np.ones((3, 3)), (5, 5)); "
            "print(a.shape, b.shape, c.shape, m.shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "(40, 30) (40, 30) (34, 26) (25, 25)"
