"""The process's one work-sharing pool (``cfilter/_core/_pool.h``).

What it promises: every item runs exactly once; the calling thread works
too and never waits for a helper that has not started (a busy pool or a
busy machine); several callers share at most ``CPUs - 1`` helpers; nested
calls finish; a forked child starts its own helpers and computes what its
parent computes; ``threadpoolctl`` sees and limits it; no OpenMP runtime is
linked.  Independent references: Python's own counting of items, scipy and
numpy results for the engines, ``/proc`` for thread counts.
"""
import glob
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import scipy.ndimage as ndi

import cfilter
from cfilter import _threads
from cfilter._core import _pool

FORK = "fork" in multiprocessing.get_all_start_methods()
CPUS = _threads.cpu_count()


@pytest.mark.parametrize("nthreads", [1, 2, 3, 8])
@pytest.mark.parametrize("nitems", [0, 1, 2, 7, 1000])
def test_compiled_items_run_exactly_once(nitems, nthreads):
    counts, slots = _pool.count_items(nitems, nthreads, spin=50)
    assert counts.tolist() == [1] * nitems
    assert slots.sum() == nitems
    # slot numbers stay below the thread count asked for
    assert slots[min(nthreads, max(nitems, 1)):].sum() == 0


def test_items_spread_over_the_helpers_when_they_are_free():
    if CPUS < 2:
        pytest.skip("one CPU: no helpers")
    before = _pool.stats()["items_helped"]
    # Long items: a free helper wakes long before they run out.
    _, slots = _pool.count_items(200, 2, spin=20000)
    assert slots[0] > 0 and slots[1] > 0
    assert _pool.stats()["items_helped"] > before


def test_helpers_never_exceed_the_cpus():
    threads = [threading.Thread(target=_pool.count_items,
                                args=(500, 64, 2000)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = _pool.stats()
    assert stats["max_helpers"] == CPUS - 1
    assert stats["helpers"] <= CPUS - 1


def _os_threads():
    return len(os.listdir("/proc/self/task"))


_CALLERS_SCRIPT = textwrap.dedent("""
    import os, threading, time
    import numpy as np
    import scipy.ndimage as ndi
    import cfilter

    def os_threads():
        return len(os.listdir("/proc/self/task"))

    rng = np.random.default_rng(0)
    images = [rng.random((512, 512), dtype=np.float32) for _ in range(8)]
    kernel = rng.standard_normal((5, 5)).astype(np.float32)
    expected = [ndi.correlate(im, kernel, mode="reflect") for im in images]
    baseline = os_threads()
    peak, results, stop = [0], [None] * 8, threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], os_threads())
            time.sleep(0.0005)

    def call(k):
        for _ in range(5):
            results[k] = cfilter.correlate(images[k], kernel)

    watcher = threading.Thread(target=watch)
    watcher.start()
    callers = [threading.Thread(target=call, args=(k,)) for k in range(8)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    stop.set()
    watcher.join()
    worst = max(float(np.abs(r - e).max()) for r, e in zip(results, expected))
    print(baseline, peak[0], worst)
""")


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"),
                    reason="counts threads through /proc")
def test_eight_callers_share_the_helpers():
    """The Dask threaded-scheduler pattern, in a fresh interpreter: 8
    Python threads filtering at once never run more than CPUs + 8 threads
    besides those alive before (the main thread and the watcher), and each
    gets scipy's result."""
    run = subprocess.run([sys.executable, "-c", _CALLERS_SCRIPT],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    baseline, peak, worst = run.stdout.split()
    # + 8 callers, + the watcher, + at most CPUs - 1 helpers
    assert int(peak) <= int(baseline) + 8 + 1 + (CPUS - 1)
    assert float(worst) < 1e-4


def test_nested_calls_finish():
    rng = np.random.default_rng(1)
    image = rng.random((600, 600), dtype=np.float32)
    kernel = rng.standard_normal((3, 3)).astype(np.float32)
    expected = ndi.correlate(image, kernel, mode="reflect")
    out = [None] * 6

    def item(k):
        out[k] = cfilter.correlate(image, kernel, workers=2)

    _threads.share_out(item, range(6), 2)
    for got in out:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_a_busy_pool_never_stalls_a_compiled_call():
    """Every helper held by another caller's item: a compiled engine's call
    on two threads runs all its items on the calling thread and returns."""
    if CPUS < 2:
        pytest.skip("one CPU: no helpers")
    release, held = threading.Event(), threading.Event()
    holder_id = []

    def hold(item):
        if threading.get_ident() == holder_id[0]:
            time.sleep(0.001)
        else:
            held.set()
            release.wait(30)

    def holder_call():
        holder_id.append(threading.get_ident())
        _threads.share_out(hold, range(5000), CPUS)

    holder = threading.Thread(target=holder_call)
    holder.start()
    try:
        assert held.wait(10)
        rng = np.random.default_rng(2)
        image = rng.random((1024, 1024), dtype=np.float32)
        kernel = rng.standard_normal((7, 7)).astype(np.float32)
        result, finished = [], threading.Event()
        caller = threading.Thread(target=lambda: (result.append(
            cfilter.correlate(image, kernel, workers=2, method="direct")),
            finished.set()))
        caller.start()
        assert finished.wait(20), "a compiled call waited for a busy helper"
        np.testing.assert_allclose(
            result[0], ndi.correlate(image, kernel, mode="reflect"),
            rtol=1e-4, atol=1e-4)
    finally:
        release.set()
        holder.join()


def _engine_calls():
    """Threaded calls on every engine: name -> callable giving an array."""
    rng = np.random.default_rng(5)
    img = rng.random((400, 380), dtype=np.float32)
    u8 = rng.integers(0, 256, (400, 380, 3), dtype=np.uint8)
    i16 = rng.integers(-300, 300, (300, 280), dtype=np.int16)
    holed = img.copy()
    holed[rng.random(img.shape) < 0.05] = np.nan
    few = img.copy()
    few[::97, ::89] = np.nan
    k7 = rng.standard_normal((7, 7)).astype(np.float32)
    sep = np.outer(rng.random(9), rng.random(11)).astype(np.float32)
    big = rng.random((41, 41)).astype(np.float32)
    tmpl = img[100:131, 50:81].copy()
    y = rng.random((150, 140), dtype=np.float32)
    w = 2
    return {
        "direct": lambda: cfilter.correlate(img, k7, method="direct",
                                            workers=w),
        "direct strided": lambda: cfilter.correlate(
            img, k7, method="direct", stride=(2, 3), workers=w),
        "separable": lambda: cfilter.correlate(img, sep, method="separable",
                                               workers=w),
        "box": lambda: cfilter.box_blur(img, 9, workers=w),
        "box uint8": lambda: cfilter.box_blur(u8, 5, channel_axis=-1,
                                              output=np.uint8, workers=w),
        "box int16": lambda: cfilter.correlate(i16, np.ones((3, 5)),
                                               output=np.int16, workers=w),
        "fft": lambda: cfilter.correlate(img, big, method="fft", workers=w),
        "transpose": lambda: cfilter.conv_transpose(y, k7, stride=2,
                                                    workers=w),
        "nan engine": lambda: cfilter.gaussian_blur(
            holed, 2, nan_policy="ignore", workers=w),
        "nan scatter": lambda: cfilter.correlate(
            few, k7, nan_policy="ignore", workers=w),
        "match_template": lambda: cfilter.match_template(img, tmpl,
                                                         workers=w),
        "frequency_filter": lambda: cfilter.frequency_filter(img, 0.1,
                                                             workers=w),
    }


def _compute_in_child(conn):
    try:
        conn.send({name: call() for name, call in _engine_calls().items()})
    except BaseException as exc:           # pragma: no cover - reported
        conn.send(repr(exc))
    conn.close()


@pytest.mark.skipif(not FORK, reason="no fork on this platform")
def test_a_forked_child_computes_what_its_parent_computes():
    """After threaded calls on every engine, a child forked with
    multiprocessing's 'fork' context starts its own helpers: no hang, and
    the same results to the bit."""
    parent = {name: call() for name, call in _engine_calls().items()}
    assert _pool.stats()["helpers"] >= min(1, CPUS - 1)
    ctx = multiprocessing.get_context("fork")
    mine, theirs = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_compute_in_child, args=(theirs,))
    child.start()
    theirs.close()
    if not mine.poll(120):
        child.kill()
        pytest.fail("a forked child hung in its first threaded call")
    got = mine.recv()
    child.join(30)
    assert isinstance(got, dict), got
    for name, value in parent.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


@pytest.mark.skipif(not FORK, reason="no fork on this platform")
def test_a_child_forked_while_helpers_work_is_not_stuck():
    """Fork while another thread's call keeps the helpers busy: the
    child's pool is fresh (no job, no helper) and its call finishes."""
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            _pool.count_items(400, CPUS, 500)

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        ctx = multiprocessing.get_context("fork")
        for _ in range(5):
            child = ctx.Process(target=_pool.count_items, args=(1000, 2, 100))
            child.start()
            child.join(60)
            if child.is_alive():
                child.kill()
                pytest.fail("a child forked during a parallel call hung")
            assert child.exitcode == 0
    finally:
        stop.set()
        worker.join()


_BUSY_SCRIPT = textwrap.dedent("""
    import os, subprocess, sys, time
    import numpy as np
    import cfilter
    rng = np.random.default_rng(0)
    x = rng.random((512, 512), dtype=np.float32)
    k = rng.standard_normal((5, 5)).astype(np.float32)
    cfilter.correlate(x, k, workers=2)            # the helpers start
    cpu = sorted(os.sched_getaffinity(0))[0]
    for tid in os.listdir("/proc/self/task"):      # every thread, one CPU
        os.sched_setaffinity(int(tid), {cpu})
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    os.sched_setaffinity(spin.pid, {cpu})
    time.sleep(0.3)
    t = {1: [], 2: []}
    try:
        for _ in range(15):
            for w in (1, 2):
                t0 = time.perf_counter()
                cfilter.correlate(x, k, workers=w)
                t[w].append(time.perf_counter() - t0)
    finally:
        spin.kill()
    print(np.median(t[1]), np.median(t[2]))
""")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity")
                    or not os.path.isdir("/proc/self/task"),
                    reason="needs Linux's per-thread CPU affinity")
def test_a_helper_without_a_core_does_not_stall_the_call():
    """A busy machine, made deterministic: the process and a spinning
    process share one CPU, so a helper gets a core only when the scheduler
    takes it from the caller.  Two threads must then cost about what one
    does (an OpenMP barrier made it 20-60 times slower)."""
    run = subprocess.run([sys.executable, "-c", _BUSY_SCRIPT],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    one, two = map(float, run.stdout.split())
    assert two <= 2.0 * one + 2e-3, (one, two)


def test_threadpoolctl_sees_and_limits_the_pool():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    info = [i for i in threadpoolctl.threadpool_info()
            if i["user_api"] == "cfilter"]
    assert len(info) == 1
    assert info[0]["num_threads"] == cfilter.get_num_threads()
    before = cfilter.get_num_threads()
    with threadpoolctl.threadpool_limits(1):
        assert cfilter.get_num_threads() == 1
    with threadpoolctl.threadpool_limits(limits=1, user_api="cfilter"):
        assert cfilter.get_num_threads() == 1
    assert cfilter.get_num_threads() == before


def test_threadpoolctl_imported_later_is_registered():
    """cfilter does not import threadpoolctl; importing it afterwards, in a
    fresh interpreter, still lists cfilter's pool."""
    pytest.importorskip("threadpoolctl")
    code = ("import sys, cfilter; assert 'threadpoolctl' not in sys.modules;"
            "import threadpoolctl as t;"
            "print([i['user_api'] for i in t.threadpool_info()])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "'cfilter'" in run.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="reads ELF dependencies")
def test_no_openmp_runtime_is_linked():
    core = os.path.join(os.path.dirname(cfilter.__file__), "_core")
    libs = glob.glob(os.path.join(core, "**", "*.so"), recursive=True)
    assert libs
    for path in libs:
        with open(path, "rb") as fh:
            data = fh.read()
        for runtime in (b"libgomp", b"libomp", b"libiomp"):
            assert runtime not in data, (path, runtime)


def _correlate_in_child(conn):
    x = np.random.default_rng(9).random((64, 70))
    conn.send(cfilter.correlate(x, np.ones((3, 3)) / 9))
    conn.close()


@pytest.mark.skipif(not FORK, reason="no fork on this platform")
def test_a_child_forked_while_a_cache_lock_is_held_is_not_stuck():
    """The plan and fast-path caches are guarded by locks: a fork while
    another thread holds one gives the child a fresh lock and an empty
    cache (registered with _threads.after_fork), not a lock no thread of
    the child will ever release."""
    from cfilter import _api
    held, release = threading.Event(), threading.Event()

    def hold():
        with _api._PLANS._lock, _api._FAST._lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        ctx = multiprocessing.get_context("fork")
        mine, theirs = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_correlate_in_child, args=(theirs,))
        child.start()
        theirs.close()
        if not mine.poll(60):
            child.kill()
            pytest.fail("a child forked while a cache lock was held hung")
        got = mine.recv()
        child.join(30)
    finally:
        release.set()
        holder.join()
    x = np.random.default_rng(9).random((64, 70))
    np.testing.assert_allclose(got, ndi.correlate(x, np.ones((3, 3)) / 9,
                                                  mode="reflect"), atol=1e-12)
