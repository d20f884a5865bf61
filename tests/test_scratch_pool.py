"""The kept scratch and the shared helper pool (``cfilter._threads``), and
what they must not change: results that never alias a later call's
scratch, threads that give the same result, a pool that is busy or gone
(after a fork) without a hang.

References: skimage.feature.match_template, skimage.filters.butterworth
and a normalised convolution from scipy.ndimage.correlate written here from
its definition; numpy for the window scores' argument checks.
"""
import multiprocessing
import threading

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage.feature import match_template as sk_match
from skimage.filters import butterworth

import cfilter
from cfilter import _engine, _threads
from cfilter._core import _ncc


def test_scratch_is_kept_per_name_and_per_thread():
    a = _threads.scratch("test-a", (10, 20), np.float32)
    b = _threads.scratch("test-b", (10, 20), np.float32)
    assert a.shape == (10, 20) and a.dtype == np.float32
    assert a.flags.c_contiguous and a.flags.writeable
    assert not np.shares_memory(a, b)
    # The same name again: the same memory, whatever the shape and dtype.
    again = _threads.scratch("test-a", (5, 8), np.complex64)
    assert np.shares_memory(a, again)
    other = []
    worker = threading.Thread(target=lambda: other.append(
        _threads.scratch("test-a", (10, 20), np.float32)))
    worker.start()
    worker.join()
    assert not np.shares_memory(a, other[0])


def test_scratch_drops_the_least_recent_names_beyond_its_limit(monkeypatch):
    monkeypatch.setattr(_threads, "SCRATCH_BYTES", 1000)
    x = _threads.scratch("test-x", (400,), np.uint8)
    y = _threads.scratch("test-y", (400,), np.uint8)
    _threads.scratch("test-x", (400,), np.uint8)          # x is recent now
    z = _threads.scratch("test-z", (400,), np.uint8)      # y must go
    assert np.shares_memory(x, _threads.scratch("test-x", (400,), np.uint8))
    assert np.shares_memory(z, _threads.scratch("test-z", (400,), np.uint8))
    assert not np.shares_memory(y, _threads.scratch("test-y", (400,),
                                                    np.uint8))
    # Larger than the limit: served, never kept.
    big = _threads.scratch("test-big", (2000,), np.uint8)
    assert big.size == 2000
    assert not np.shares_memory(big, _threads.scratch("test-big", (2000,),
                                                      np.uint8))


@pytest.mark.parametrize("nthreads", [1, 2, 3, 8])
def test_share_out_gives_every_item_to_exactly_one_thread(nthreads):
    seen, lock = [], threading.Lock()

    def work(item):
        with lock:
            seen.append(item)

    _threads.share_out(work, range(100), nthreads)
    assert sorted(seen) == list(range(100))


def test_share_out_raises_what_a_helper_raises():
    def work(item):
        if item == 7:
            raise KeyError("item 7")

    with pytest.raises(KeyError, match="item 7"):
        _threads.share_out(work, range(20), 2)


def test_share_out_stops_its_helpers_when_the_caller_raises():
    """An interrupt in the calling thread: the helpers take no further
    items, and none is still running when the exception arrives (they
    would otherwise go on writing into buffers the next call reuses)."""
    if _threads.cpu_count() < 2:
        pytest.skip("one CPU: share_out never uses the pool")
    import time
    caller = threading.get_ident()
    taken, running = [], [0]
    lock = threading.Lock()
    started = threading.Event()

    def work(item):
        if threading.get_ident() == caller:
            started.wait(5)          # a helper is under way first
            raise KeyboardInterrupt
        with lock:
            taken.append(item)
            running[0] += 1
        started.set()
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    with pytest.raises(KeyboardInterrupt):
        _threads.share_out(work, range(1000), 2)
    assert running[0] == 0
    count = len(taken)
    time.sleep(0.1)
    assert len(taken) == count < 10


def test_share_out_does_not_wait_for_a_busy_pool():
    """Every helper thread held by another caller's item: this caller does
    all the work and returns without waiting for them."""
    if _threads.cpu_count() < 2:
        pytest.skip("one CPU: share_out never uses the pool")
    import time
    release, held = threading.Event(), threading.Event()
    holder_id = []

    def hold(item):
        if threading.get_ident() == holder_id[0]:
            time.sleep(0.001)        # leaves items for the helpers
        else:
            held.set()
            release.wait(30)

    def holder_call():
        holder_id.append(threading.get_ident())
        _threads.share_out(hold, range(2000), _threads.cpu_count())

    holder = threading.Thread(target=holder_call)
    holder.start()
    try:
        assert held.wait(10)
        done = []
        finished = threading.Event()
        caller = threading.Thread(target=lambda: (
            _threads.share_out(done.append, range(50), 2), finished.set()))
        caller.start()
        assert finished.wait(10), "share_out waited for a busy pool"
        assert sorted(done) == list(range(50))
    finally:
        release.set()
        holder.join()
        caller.join()


def _filter_in_child(queue):
    image = np.random.default_rng(3).random((300, 260)).astype(np.float32)
    out = cfilter.frequency_filter(image, 0.1, workers=2)
    queue.put(float(np.abs(out - butterworth(
        image, 0.1, high_pass=False)).max()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="no fork on this platform")
def test_a_forked_child_filters_without_the_parents_threads():
    image = np.random.default_rng(4).random((300, 260)).astype(np.float32)
    cfilter.frequency_filter(image, 0.1, workers=2)   # the parent's pool
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_filter_in_child, args=(queue,))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        pytest.fail("frequency_filter hung in a forked child")
    assert child.exitcode == 0
    assert queue.get(timeout=5) < 1e-4


def _normalised_convolution(image, kernel, mode):
    """DESIGN section 8's 'ignore' from its definition, by scipy.ndimage:
    sum_valid(w*x) * sum(w) / sum_valid(w)."""
    valid = np.isfinite(image)
    x = np.where(valid, image, 0).astype(np.float64)
    num = ndi.correlate(x, kernel, mode=mode)
    den = ndi.correlate(valid.astype(np.float64), kernel, mode=mode)
    return num * kernel.sum() / den


def _cases(rng):
    image = rng.random((257, 300)).astype(np.float32)
    holed = image.copy()
    holed[rng.random(image.shape) < 0.02] = np.nan
    template = image[100:131, 40:71] + 0.05 * rng.standard_normal((31, 31))
    kernel = rng.random((5, 7)) + 0.1
    return {
        "match_template": (
            lambda img: cfilter.match_template(img, template, method="fft"),
            lambda img: sk_match(img.astype(np.float64), template), image),
        "frequency_filter": (
            lambda img: cfilter.frequency_filter(img, 0.1),
            lambda img: butterworth(img.astype(np.float64), 0.1,
                                    high_pass=False), image),
        "nan_policy='ignore'": (
            lambda img: cfilter.correlate(img, kernel, mode="nearest",
                                          nan_policy="ignore"),
            lambda img: _normalised_convolution(img, kernel, "nearest"),
            holed),
    }


@pytest.mark.parametrize("name", ["match_template", "frequency_filter",
                                  "nan_policy='ignore'"])
def test_a_result_never_aliases_the_next_calls_scratch(rng, name):
    ours, reference, image = _cases(rng)[name]
    first = ours(image)
    other = image[::-1, ::-1].copy()
    second = ours(other)
    assert not np.shares_memory(first, second)
    np.testing.assert_allclose(first, reference(image), atol=2e-4)
    np.testing.assert_allclose(second, reference(other), atol=2e-4)


@pytest.mark.parametrize("name", ["match_template", "frequency_filter",
                                  "nan_policy='ignore'"])
def test_calls_from_several_threads_at_once(rng, name):
    ours, reference, image = _cases(rng)[name]
    images = [np.roll(image, 17 * k, axis=k % 2) for k in range(6)]
    results = [None] * len(images)
    start = threading.Barrier(len(images))

    def call(k):
        start.wait()
        for _ in range(3):
            results[k] = ours(images[k])

    threads = [threading.Thread(target=call, args=(k,))
               for k in range(len(images))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for img, res in zip(images, results):
        np.testing.assert_allclose(res, reference(img), atol=2e-4)


@pytest.mark.parametrize("block,first", [(-1, 0), (2, 0), (0, 1), (1, 70)])
def test_window_scores_refuses_blocks_outside_the_output(rng, block, first):
    ext = rng.random((1, 100 + 4, 30 + 4)).astype(np.float32)
    out = np.full((100, 30), 7, np.float32)
    num = np.zeros((100, 30), np.float32)
    with pytest.raises(ValueError, match="block"):
        _ncc.window_scores(ext, num, out, 5, 5, 0.5, 1e-6, 1.0, block, first)
    assert (out == 7).all()
