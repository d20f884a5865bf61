"""Run-time dispatch of the portable build (``cfilter/_core/__init__.py``).

A default build compiles the hot modules once per x86-64 level and picks
the best the CPU runs at import; ``CFILTER_CPU`` forces a lower one.  The
checks: the loader's choice and its report (``show_config``), the forced
level really being the one loaded, a CPU below the lowest level refused
with one line (never an illegal instruction), and every level computing
the same integers and the same floats up to the documented rounding
(fused multiply-adds).  References: the CPU's own feature list from
``/proc/cpuinfo`` and scipy.ndimage for the values; the levels are compared
with each other only for the rule that they agree.
"""
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter
from cfilter import _core

DISPATCH = bool(_core.BUILT)
needs_dispatch = pytest.mark.skipif(not DISPATCH,
                                    reason="a single-target build")


def _run(code, env=None):
    full = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300,
                          env=full)


def _usable():
    from cfilter._core import _cpu
    return [lvl for lvl in _core.BUILT if not _cpu.missing(lvl)]


@needs_dispatch
def test_the_best_usable_level_is_chosen():
    assert _core.LEVEL == max(_usable(), key=("v2", "v3", "v4").index) or \
        _core.FORCED is not None
    info = cfilter.show_config(mode="dicts")
    assert info["cpu_level"] == _core.LEVEL
    assert info["cpu_levels_built"] == list(_core.BUILT)
    assert f"x86-64-{_core.LEVEL}" in info["compile_flags"]
    assert _core._direct.__file__.startswith(
        os.path.join(os.path.dirname(_core.__file__), "_" + _core.LEVEL))


@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo"),
                    reason="compares with Linux's /proc/cpuinfo")
@needs_dispatch
def test_the_features_seen_agree_with_the_kernel():
    with open("/proc/cpuinfo") as fh:
        flags = next(line for line in fh if line.startswith("flags"))
    kernel = set(flags.split(":", 1)[1].split())
    for name in ("sse4_2", "popcnt", "avx", "avx2", "fma", "bmi2",
                 "avx512f", "avx512bw", "avx512vl"):
        assert (name in _core.CPU_FEATURES) == (name in kernel), name


@needs_dispatch
@pytest.mark.parametrize("level", ["v2", "v3", "v4"])
def test_cfilter_cpu_forces_a_lower_level(level):
    if level not in _usable():
        pytest.skip(f"this CPU cannot run {level}")
    run = _run("""
        import cfilter, cfilter._core as c
        import cfilter._core._direct as d, cfilter._core._fftconv as f
        print(c.LEVEL, d.__file__, f.__file__)
    """, {"CFILTER_CPU": level})
    assert run.returncode == 0, run.stderr
    got, direct, fft = run.stdout.split()
    assert got == level
    for path in (direct, fft):
        assert os.path.basename(os.path.dirname(path)) == "_" + level


@needs_dispatch
@pytest.mark.parametrize("value", ["v9", "avx9000", "v4" if "v4" not in
                                   _usable() else "nonsense"])
def test_an_unusable_cfilter_cpu_warns_and_takes_the_best(value):
    run = _run("import cfilter, cfilter._core as c; print(c.LEVEL)",
               {"CFILTER_CPU": value})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == max(_usable(), key=("v2", "v3", "v4").index)
    assert "CFILTER_CPU" in run.stderr and "RuntimeWarning" in run.stderr


@needs_dispatch
def test_a_cpu_below_the_lowest_level_is_refused_with_one_line():
    """What an old CPU sees (qemu's core2duo, checked by
    tools/check_cpus.sh): the probe reports SSE2 only, and importing
    cfilter raises an ImportError naming the missing features instead of
    dying of an illegal instruction."""
    run = _run("""
        import sys, types
        real = __import__("importlib").import_module
        fake = types.ModuleType("cfilter._core._cpu")
        fake.features = lambda: {"sse2", "sse3"}
        def missing(level, seen=None):
            need = {"v2": ["popcnt", "sse4_1", "sse4_2"]}
            return need.get(level, ["avx2"]) if level == "v2" else ["avx2"]
        fake.missing = missing
        sys.modules["cfilter._core._cpu"] = fake
        try:
            import cfilter
        except ImportError as exc:
            print("refused:", exc)
        else:
            print("imported")
    """)
    assert run.returncode == 0, run.stderr
    out = run.stdout.strip()
    assert out.startswith("refused:"), out
    assert "x86-64-v2" in out and "sse4_2" in out and "\n" not in out


_LEVEL_CALLS = """
    import pickle, sys
    import numpy as np
    import cfilter
    rng = np.random.default_rng(0)
    f32 = rng.random((130, 117), dtype=np.float32)
    u8 = rng.integers(0, 256, (90, 101, 3), dtype=np.uint8)
    i16 = rng.integers(-2000, 2000, (77, 64), dtype=np.int16)
    k5 = rng.standard_normal((5, 5)).astype(np.float32)
    big = rng.random((37, 37)).astype(np.float32)
    holed = f32.copy()
    holed[rng.random(f32.shape) < 0.03] = np.nan
    out = {
        "direct": cfilter.correlate(f32, k5, method="direct"),
        "direct strided": cfilter.correlate(f32, k5, stride=(2, 3)),
        "separable": cfilter.gaussian_blur(f32, 2.0),
        "lowrank": cfilter.correlate(f32, cfilter.kernels.log(3.0),
                                     method="lowrank"),
        "box": cfilter.box_blur(f32, 7),
        "fft": cfilter.correlate(f32, big, method="fft"),
        "transpose": cfilter.conv_transpose(f32, k5, stride=2),
        "nan": cfilter.gaussian_blur(holed, 2.0, nan_policy="ignore"),
        "template": cfilter.match_template(f32, f32[30:50, 40:61]),
        "frequency": cfilter.frequency_filter(f32, 0.1),
        "uint8 box": cfilter.box_blur(u8, 5, channel_axis=-1,
                                      output=np.uint8),
        "uint8 direct": cfilter.correlate(u8, k5 / 3, channel_axis=-1,
                                          output=np.uint8),
        "int16 sums": cfilter.correlate(i16, np.ones((3, 5)),
                                        output=np.int16),
        "uint8 gauss": cfilter.gaussian_blur(u8, 1.5, channel_axis=-1,
                                             output=np.uint8),
    }
    sys.stdout.buffer.write(pickle.dumps(out))
"""


@needs_dispatch
def test_every_level_gives_the_same_integers_and_close_floats():
    levels = _usable()
    if len(levels) < 2:
        pytest.skip("this CPU runs one level only")
    results = {}
    for level in levels:
        run = subprocess.run([sys.executable, "-c",
                              textwrap.dedent(_LEVEL_CALLS)],
                             capture_output=True, timeout=300,
                             env=dict(os.environ, CFILTER_CPU=level))
        assert run.returncode == 0, run.stderr.decode()
        results[level] = pickle.loads(run.stdout)
    first = results[levels[0]]
    for level in levels[1:]:
        for name, value in results[level].items():
            ref = first[name]
            if value.dtype.kind in "iu":
                # Integer outputs are rounded from float sums; a sum a
                # rounding away from a half may round either way on levels
                # that fuse multiply-adds, so compare with that allowance
                # only where the engines sum floats (not the exact integer
                # box sums).
                if name in ("uint8 box", "int16 sums"):
                    np.testing.assert_array_equal(value, ref, err_msg=name)
                else:
                    assert np.abs(value.astype(int) - ref).max() <= 1, name
                continue
            finite = np.isfinite(ref)
            np.testing.assert_array_equal(np.isfinite(value), finite,
                                          err_msg=name)
            scale = float(np.abs(ref[finite]).max()) if finite.any() else 1.0
            tol = 64 * np.finfo(value.dtype).eps * max(scale, 1.0)
            np.testing.assert_allclose(value[finite], ref[finite], rtol=0,
                                       atol=tol, err_msg=name)


def test_the_level_in_use_computes_what_scipy_computes(rng):
    """Whatever level was chosen (or forced by CI's per-level runs), the
    loops agree with scipy.ndimage."""
    x = rng.random((83, 91)).astype(np.float32)
    k = rng.standard_normal((7, 6)).astype(np.float32)
    np.testing.assert_allclose(cfilter.correlate(x, k),
                               ndi.correlate(x, k, mode="reflect"),
                               rtol=1e-5, atol=1e-5)
