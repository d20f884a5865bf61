"""Running the jobs: one file from bytes to output, the pool, the progress.

:func:`process` does one job end to end (read, check the header, decode,
filter, encode, write atomically) and returns a :class:`Result`; it never
raises for a bad file.  It runs in worker threads (the codecs and the
filters release the GIL, so the threads overlap one file's decoding with
another's filtering and encoding), or on Dask workers: everything it needs
travels in a picklable :class:`Settings`, ``file:`` kernels as their
weights (:class:`~cfilter.cli.specs.FileKernel`), never as a path.

In a local run the last step, making the output durable (write a temporary
file, ``fsync``, rename), is handed to the run's writer threads, so the worker
moves on to its next file while the disk flushes (a JPEG's ``fsync`` costs
about as much as its encoding); the job's result comes when its output has
been renamed into place, never before.

The driver (:func:`run_jobs`) alone updates the resume record, the counts
and the progress bar, as results arrive.
"""
import os
import sys
import threading
import time

import numpy as np

from . import imageio

from . import specs as _specs_module
from .record import content_hash

__all__ = ["Settings", "Result", "MemoryGate", "process", "reason",
           "Progress", "Stats", "run_jobs"]


class Settings:
    """What every job needs, as plain values (picklable for Dask).

    ``sources`` are the resolved ``-f`` specs
    (:func:`cfilter.cli.specs.resolve`): spec text, or a ``file:`` kernel's
    weights."""

    def __init__(self, sources, *, mode="reflect", stride=1, dtype="same",
                 absolute=False, rescale=False, max_pixels=imageio.MAX_PIXELS,
                 workers=None):
        self.sources = tuple(sources)
        self.mode, self.stride, self.dtype = mode, stride, dtype
        self.absolute, self.rescale = absolute, rescale
        self.max_pixels, self.workers = max_pixels, workers

    def chain(self):
        """The filter steps, built once per process for each chain.

        The cache key is each step's identity (:func:`specs.step_key`): the
        spec text, or a ``file:`` kernel's digest, never its path, so a
        kernel file rewritten between two runs in one process (or on a
        long-lived Dask worker) gives a new chain."""
        key = tuple(_specs_module.step_key(s) for s in self.sources)
        with _CHAINS_LOCK:
            chain = _CHAINS.pop(key, None)
            if chain is None:
                chain = [_specs_module.load_step(s) for s in self.sources]
            _CHAINS[key] = chain                  # the most recent last
            while len(_CHAINS) > _CHAINS_KEPT:
                del _CHAINS[next(iter(_CHAINS))]
        return chain


#: Chains built in this process, least recently used first.
_CHAINS = {}
_CHAINS_KEPT = 8
_CHAINS_LOCK = threading.Lock()


class Result:
    """The outcome of one job (picklable): ``status`` is ``"done"`` or
    ``"failed"``, ``reason`` says why it failed."""

    __slots__ = ("status", "reason", "times", "src_stat", "src_hash",
                 "clipped", "out_stat")

    def __init__(self, status, reason=None, times=(0.0, 0.0, 0.0, 0.0),
                 src_stat=None, src_hash=None, clipped=False, out_stat=None):
        self.status, self.reason, self.times = status, reason, times
        self.src_stat, self.src_hash = src_stat, src_hash
        self.clipped = clipped
        #: (size, mtime_ns) of the output file this job wrote
        self.out_stat = out_stat

    def __getstate__(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state):
        for key, value in state.items():
            setattr(self, key, value)

    def message(self, job):
        """The line that reports this result for ``job``."""
        if self.status == "done":
            return f"wrote {job.dst}"
        return f"FAILED {job.src}: {self.reason}"


class MemoryGate:
    """Bounds the memory of the images in flight across threads.

    A job asks for its estimate before decoding and gives it back after
    writing; it waits while the others hold too much.  A job larger than
    the whole budget runs alone.
    """

    def __init__(self, budget):
        self.budget, self.used = budget, 0
        self._cond = threading.Condition()

    def acquire(self, amount):
        with self._cond:
            while self.used > 0 and self.used + amount > self.budget:
                self._cond.wait()
            self.used += amount

    def release(self, amount):
        with self._cond:
            self.used -= amount
            self._cond.notify_all()


def memory_budget():
    """Half the physical memory, in bytes (4 GiB if it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def _footprint(info, encoded_size):
    """Bytes one image needs in flight: the decoded samples (up to 8 bytes
    each), float32 working copies and the output, plus the file."""
    height, width, channels = info
    return height * width * max(channels, 1) * 20 + 2 * encoded_size


def reason(exc):
    """One line saying why a file failed."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return exc.strerror.lower() + where
    if isinstance(exc, imageio.ImageError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory for this image"
    return f"{type(exc).__name__}: {exc}"


_GATE = None
_GATE_LOCK = threading.Lock()


def _gate():
    global _GATE
    with _GATE_LOCK:
        if _GATE is None:
            _GATE = MemoryGate(memory_budget())
        return _GATE


def _write(dst, encoded, gate, held, result):
    """Make one output durable; ``result`` with the time it took, or a
    failed Result (a full disk fails that file only).  ``held`` bytes of
    the memory budget are given back whatever happens."""
    t0 = time.perf_counter()
    try:
        result.out_stat = imageio.write_bytes(dst, encoded)
    except Exception as exc:
        return Result("failed", reason(exc))
    finally:
        if held:
            gate.release(held)
    result.times = result.times[:3] + (time.perf_counter() - t0,)
    return result


def process(job, settings, gate=None, writer=None):
    """Filter one file; returns a :class:`Result` (never raises for a bad
    file).  With ``writer`` (an executor: the local run's writer threads)
    the output is made durable there, and the return value is the future
    of that write, which gives the Result once the output is in place."""
    gate = gate or _gate()
    held = 0
    t0 = time.perf_counter()
    try:
        fmt = imageio.check_format(job.src)
        data, st = imageio.read_file(job.src)
        info = imageio.image_info(data, fmt)
        imageio.check_pixels(info, settings.max_pixels)
        held = _footprint(info, len(data))
        gate.acquire(held)
        digest = content_hash(data)
        image = imageio.decode(data, fmt)
        del data
        t1 = time.perf_counter()
        dtype = None if settings.dtype == "same" else np.dtype(settings.dtype)
        out, clipped = _specs_module.run_chain(
            image, settings.chain(), mode=settings.mode,
            stride=settings.stride, dtype=dtype, workers=settings.workers,
            absolute=settings.absolute, rescale=settings.rescale)
        del image
        t2 = time.perf_counter()
        encoded = imageio.encode_image(out, job.fmt)
        del out
        job.dst.parent.mkdir(parents=True, exist_ok=True)
        t3 = time.perf_counter()
        result = Result("done", None, (t1 - t0, t2 - t1, t3 - t2, 0.0),
                        (st.st_size, st.st_mtime_ns), digest, clipped)
        if writer is None:
            return _write(job.dst, encoded, gate, 0, result)
        # only the encoded bytes stay in flight: the rest of this image's
        # share of the memory budget is given back now, the bytes by the
        # write
        keep = min(held, len(encoded))
        gate.release(held - keep)
        held = keep
        writing = writer.submit(_write, job.dst, encoded, gate, keep, result)
        held = 0
        return writing
    except Exception as exc:      # one bad file never stops the rest
        return Result("failed", reason(exc))
    finally:
        if held:
            gate.release(held)


#: How many paths a summary line names before "and N more".
NAMED_AT_MOST = 10


def named(paths, limit=NAMED_AT_MOST):
    """``paths`` as one comma-separated list, the first ``limit`` of them
    and "and N more".

    Examples
    --------
    >>> from cfilter.cli.runner import named
    >>> named(["a.png", "b.png", "c.png"], limit=2)
    'a.png, b.png and 1 more'
    """
    paths = [str(p) for p in paths]
    shown = ", ".join(paths[:limit])
    if len(paths) > limit:
        shown += f" and {len(paths) - limit} more"
    return shown


#: What the summary says of each kind of entry a run did not read (see
#: :func:`cfilter.cli.discovery.plan_jobs`).
_NOT_READ = (
    ("other", "file(s) in the input folders that are not images by "
              "extension"),
    ("subfolder", "subfolder(s) of the input folders (-r descends into "
                  "them)"),
    ("hidden", "hidden file(s) or folder(s) (names starting with a dot)"),
)


class Stats:
    """Counts and summed stage times (updated by the driver only)."""

    def __init__(self):
        self.done = self.skipped = self.failed = 0
        self.stale = self.foreign = 0
        self.decode = self.filter = self.encode = self.write = 0.0
        #: the outputs whose values were clipped to the output range
        self.clipped = []
        #: what the input folders hold that the run did not read, as
        #: (path, kind) pairs
        self.ignored = []

    def add(self, result, job=None):
        if result.status == "done":
            self.done += 1
            self.decode += result.times[0]
            self.filter += result.times[1]
            self.encode += result.times[2]
            self.write += result.times[3]
            if result.clipped:
                self.clipped.append(job.dst if job is not None else "?")
        else:
            self.failed += 1

    def ignored_lines(self):
        """One line per kind of entry not read, naming them."""
        lines = []
        for kind, what in _NOT_READ:
            paths = [path for path, why in self.ignored if why == kind]
            if paths:
                lines.append(f"ignored {len(paths)} {what}: {named(paths)}")
        return lines

    def summary(self, elapsed, where):
        """The summary lines printed at the end of a run."""
        lines = [f"done {self.done}, skipped {self.skipped}, failed "
                 f"{self.failed}"]
        if self.stale:
            lines[0] += (f"; redone {self.stale} stale output(s) (made from "
                         f"another input or chain)")
        if self.foreign:
            lines[0] += (f"; left alone {self.foreign} file(s) in the way "
                         f"that cfilter did not make (--overwrite to "
                         f"replace them)")
        if self.clipped:
            lines.append(f"values clipped to the output range in "
                         f"{len(self.clipped)} file(s): "
                         f"{named(sorted(map(str, self.clipped)))}; --abs "
                         f"or --rescale map signed or large responses")
        lines += self.ignored_lines()
        if self.done:
            rate = self.done / elapsed if elapsed > 0 else 0.0
            lines.append(f"in {elapsed:.2f} s ({rate:.1f} files/s); decode "
                         f"{self.decode:.2f} s, filter {self.filter:.2f} s, "
                         f"encode {self.encode:.2f} s, write "
                         f"{self.write:.2f} s (summed over {where})")
        else:
            lines.append(f"in {elapsed:.2f} s")
        return lines


class Progress:
    """A tqdm bar when stderr is a terminal, plain lines otherwise.

    Failures are always shown (on stderr); other lines unless ``quiet``.
    """

    def __init__(self, total, quiet):
        self.bar = None
        if sys.stderr.isatty() and not quiet:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="file", file=sys.stderr,
                            dynamic_ncols=True)
        self.total, self.count, self.quiet = total, 0, quiet

    def update(self, status, message):
        self.count += 1
        if self.bar is not None:
            if status == "failed":
                self.bar.write(f"cfilter: {message}", file=sys.stderr)
            self.bar.update(1)
        elif status == "failed":
            print(f"cfilter: [{self.count}/{self.total}] {message}",
                  file=sys.stderr, flush=True)
        elif not self.quiet:
            print(f"[{self.count}/{self.total}] {message}", file=sys.stderr,
                  flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run_jobs(executor, jobs, settings, on_result, *, window=None,
             absolute=False, writer=None):
    """Submit ``jobs`` to ``executor`` (a :class:`concurrent.futures.Executor`)
    and call ``on_result(job, result)`` in this thread as each finishes.

    At most ``window`` jobs are in flight at once (default: all), so the
    futures of a huge batch are not all created up front.  With ``writer``
    (local runs) :func:`process` hands its output to those threads; the
    job counts as in flight, and is reported, only when that write has
    finished (or failed: a full disk fails that file).  ``absolute`` sends
    the workers absolute paths (they may run in another folder);
    ``on_result`` still gets the job as given.
    """
    from concurrent.futures import FIRST_COMPLETED, Future, wait

    pending = {}          # future of process() or of a write -> job
    queue = iter(jobs)
    extra = () if writer is None else (None, writer)
    window = window or len(jobs) or 1
    here = os.path.join(os.getcwd(), "")

    def fill():
        for job in queue:
            sent = job
            if absolute:
                sent = type(job)(job.src.absolute(), job.dst.absolute(),
                                 job.fmt, job.rel)
            pending[executor.submit(process, sent, settings, *extra)] = job
            if len(pending) >= window:
                return

    fill()
    while pending:
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            job = pending.pop(future)
            try:
                result = future.result()
            except Exception as exc:      # the worker itself broke
                result = Result("failed", reason(exc))
            if isinstance(result, Future):    # its output is being written
                pending[result] = job
                continue
            if absolute and result.reason:    # the paths as given
                result.reason = result.reason.replace(here, "")
            on_result(job, result)
        fill()
