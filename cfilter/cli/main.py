"""The argument parser, ``cfilter apply`` and :func:`main`."""
import argparse
import sys
import time
from pathlib import Path

import cfilter
from cfilter._validate import as_int, normalize_mode

from . import imageio
from .discovery import RECORD_DIR, plan_jobs
from .lock import FolderLock, LockBusy
from .record import FOREIGN, SKIP, STALE, Record, RecordError
from .runner import Progress, Settings, Stats, run_jobs
from .specs import UsageError, recipe_entry, resolve

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE",
           "EXIT_INTERRUPTED"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DTYPES = ("same", "float32", "uint8", "uint16")
#: The largest --stride: far beyond any image side, far below the sizes
#: where index arithmetic overflows.
MAX_STRIDE = 1 << 20


# ---------------------------------------------------------------------------
# apply
# ---------------------------------------------------------------------------

def _option(name, check, *values):
    """``check(*values)``, its ValueError/TypeError as a UsageError naming
    the option."""
    try:
        return check(*values)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{name}: {exc}") from None


def _check_options(args):
    """Validate the options with the library's own helpers; UsageError."""
    mode = _option("--mode", normalize_mode, args.mode)
    stride = _option("--stride", as_int, args.stride, "stride", 1)
    if stride > MAX_STRIDE:
        raise UsageError(f"--stride: stride={stride} must be <= "
                         f"{MAX_STRIDE}")
    _option("--jobs", as_int, args.jobs, "jobs", 1)
    _option("--max-pixels", as_int, args.max_pixels, "max_pixels", 0)
    if args.scheduler and args.cluster:
        raise UsageError("--scheduler and --cluster: give one of them")
    if args.cluster:
        _cluster_size(args.cluster)
    if args.format and args.dtype != "same":
        problem = imageio.format_problem(args.format, args.dtype)
        if problem:
            raise UsageError(f"--format {args.format} --dtype {args.dtype}: "
                             f"{problem}")
    return mode


def _mode_name(mode):
    """The canonical name of a boundary mode given by name or alias (the
    resume record stores names: ``str()`` of the mode enum differs between
    Python versions)."""
    mode = normalize_mode(mode)
    return next(name for name in cfilter.mode_names()
                if normalize_mode(name) == mode)


def _recipe(args, mode, sources):
    """Everything that changes an output's pixels, for the resume record:
    every spec (a ``file:`` kernel with the digest of the weights this run
    filters with), the options, and the cfilter version.  Each key is
    flipped by a test that checks the output is then redone."""
    return {"chain": [recipe_entry(source) for source in sources],
            "mode": _mode_name(mode), "stride": args.stride,
            "dtype": args.dtype, "abs": args.abs, "rescale": args.rescale,
            "format": args.format, "version": cfilter.__version__}


def _prepare_outdir(outdir):
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"-o {outdir}: exists and is not a folder")


def _cannot_write(outdir, exc):
    return UsageError(f"-o {outdir}: cannot write there: "
                      f"{(exc.strerror or str(exc)).lower()}")


def _lock_outdir(outdir, wait):
    """Create ``outdir/.cfilter`` and hold its lock (:mod:`.lock`): one run
    per output folder.  UsageError if another run holds it and ``wait`` is
    False."""
    def waiting(pid):
        who = f"pid {pid}" if pid else "another process"
        print(f"cfilter: waiting for the cfilter apply run ({who}) writing "
              f"into {outdir}", file=sys.stderr, flush=True)

    lock = FolderLock(outdir / RECORD_DIR)
    try:
        (outdir / RECORD_DIR).mkdir(parents=True, exist_ok=True)
        lock.acquire(wait=wait, on_wait=waiting)
    except LockBusy as busy:
        who = f"pid {busy.pid}" if busy.pid else "another process"
        raise UsageError(f"-o {outdir}: another cfilter apply run ({who}) "
                         f"is writing there; let it finish first, or give "
                         f"--wait to wait for it") from None
    except OSError as exc:
        raise _cannot_write(outdir, exc) from None
    return lock


def _open_record(outdir, recipe, create):
    try:
        if create:
            outdir.mkdir(parents=True, exist_ok=True)
        return Record(outdir, recipe, create=create)
    except RecordError as exc:
        raise UsageError(f"-o {outdir}: {exc}") from None
    except OSError as exc:
        raise _cannot_write(outdir, exc) from None
    except Exception as exc:          # sqlite3 errors: a broken record
        raise UsageError(f"-o {outdir}: cannot use the resume record "
                         f"{outdir / RECORD_DIR}: {exc}") from None


class _Pool:
    """Where the jobs run: threads here, or a Dask distributed cluster."""

    def __init__(self, executor, workers, slots, close, where, writer=None):
        self.executor, self.workers, self.slots = executor, workers, slots
        self._close, self.where = close, where
        #: the background writer threads (local runs: the workers' memory
        #: and the files they write are this process's)
        self.writer = writer

    def close(self, cancel):
        """Stop the pool (once): ``cancel`` drops the jobs not started."""
        close, self._close = self._close, None
        if close is not None:
            close(cancel)


def _local_pool(jobs):
    from concurrent.futures import ThreadPoolExecutor
    pool = ThreadPoolExecutor(max_workers=jobs)
    writer = ThreadPoolExecutor(max_workers=jobs,
                                thread_name_prefix="cfilter-write")

    def close(cancel):
        # the writes under way or queued finish either way: an output is
        # whole or absent, and its record entry stays pending until it is
        # reported
        pool.shutdown(wait=True, cancel_futures=cancel)
        writer.shutdown(wait=True)

    return _Pool(pool, 1 if jobs > 1 else None, jobs, close,
                 f"{jobs} job(s)", writer=writer)


def _cluster_size(text):
    """N from ``--cluster local:N``."""
    kind, _, count = text.partition(":")
    if kind.strip().lower() != "local" or not count.strip().isdigit():
        raise UsageError(f"--cluster {text!r}: use local:N, N local worker "
                         f"processes (or --scheduler ADDRESS for a running "
                         f"cluster)")
    return _option("--cluster", as_int, int(count), "N", 1)


def _dask_pool(args):
    """A client of the cluster of ``--scheduler`` or ``--cluster``; its
    executor runs :func:`runner.process` on the workers, one filter
    thread each."""
    option = f"--scheduler {args.scheduler}" if args.scheduler else \
        f"--cluster {args.cluster}"
    try:
        import logging

        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(f"{option}: needs Dask distributed; install "
                         f"cfilter[dask]") from None
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    try:
        if args.cluster:
            cluster = LocalCluster(n_workers=_cluster_size(args.cluster),
                                   threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
        else:
            # the connect timeout is Dask's (distributed.comm.timeouts.connect)
            client = Client(args.scheduler)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise UsageError(f"{option}: cannot start or reach the cluster: "
                         f"{exc}") from None
    executor = client.get_executor(pure=False)
    slots = max(sum(client.nthreads().values()), 1)

    def close(cancel):
        executor.shutdown(wait=not cancel)
        client.close()
        if cluster is not None:
            cluster.close()
    return _Pool(executor, 1, slots, close,
                 f"{slots} Dask worker thread(s)")


def _pool(args):
    if args.scheduler or args.cluster:
        return _dask_pool(args)
    return _local_pool(args.jobs)


def _keep_freed_memory():
    """Let glibc keep freed image buffers for the next image.

    By default every buffer of more than about 128 kB is a fresh ``mmap``,
    returned to the system when freed, so each image's arrays are
    page-faulted in anew; on virtual machines that cost rivals the
    filtering itself (measured: 10 -> 13 files/s on 1024x768 JPEGs).
    Buffers of up to 64 MB now come from the heap, and up to 1 GB of free
    heap is kept.  This changes the whole process, so it is done only
    when :func:`main` runs as the program, never when it is called as a
    library.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 64 << 20)      # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 30)       # M_TRIM_THRESHOLD
    except (OSError, AttributeError):   # not glibc: keep its defaults
        pass


def cmd_apply(args):
    # every spec checked, and each file: kernel read, once, before any file
    sources = [resolve(spec) for spec in args.filters]
    mode = _check_options(args)
    outdir = Path(args.output)
    _prepare_outdir(outdir)
    jobs, problems, ignored = plan_jobs(
        args.inputs, outdir, recursive=args.recursive, fmt=args.format,
        dtype=args.dtype)
    if not jobs and problems and all(why == "no such file or directory"
                                     for _, why in problems):
        raise UsageError("no input exists: " + ", ".join(
            given for given, _ in problems))
    recipe = _recipe(args, mode, sources)
    stats = Stats()
    stats.ignored = ignored
    for given, why in problems:
        print(f"cfilter: FAILED {given}: {why}", file=sys.stderr)
    stats.failed += len(problems)
    writes = bool(jobs) and not args.dry_run
    # the pool first: a cluster that cannot be reached is a usage error
    # before anything is created under -o
    pool = _pool(args) if writes else None
    lock = None
    try:
        # one run per output folder: the lock is held from before the
        # record is read until the pool has stopped (no write of this run
        # is under way when the next run starts)
        lock = _lock_outdir(outdir, args.wait) if writes else None
        record = _open_record(outdir, recipe, create=writes)
        try:
            return _apply(args, jobs, problems, record, stats, pool, sources)
        finally:
            record.close()
    finally:
        try:
            if pool is not None:
                pool.close(False)
        finally:
            if lock is not None:
                lock.release()


def _apply(args, jobs, problems, record, stats, pool, sources):
    todo = []
    for job in jobs:
        decision = record.decide(job, args.overwrite)
        if decision == SKIP:
            stats.skipped += 1
        elif decision == FOREIGN:
            stats.foreign += 1
            print(f"cfilter: left alone {job.dst}: not made by cfilter from "
                  f"{job.src} (--overwrite to replace it)", file=sys.stderr)
        else:
            stats.stale += decision == STALE
            todo.append((job, decision))

    if args.dry_run:
        for job, decision in todo:
            print(f"write ({decision}) {job.src} -> {job.dst}")
        print(f"dry run: would write {len(todo)}, skip {stats.skipped}, "
              f"leave alone {stats.foreign}; {len(problems)} input(s) "
              f"unusable; nothing written")
        for line in stats.ignored_lines():
            print(line)
        return EXIT_FAILED if problems or stats.foreign else EXIT_OK

    todo = [job for job, _ in todo]
    if getattr(args, "program", False):
        _keep_freed_memory()
    if todo:
        for folder in sorted({job.dst.parent for job in todo}):
            imageio.remove_stale_temps(folder)
        record.mark_pending(todo)
    settings = Settings(sources, mode=args.mode, stride=args.stride,
                        dtype=args.dtype, absolute=args.abs,
                        rescale=args.rescale, max_pixels=args.max_pixels,
                        workers=None if pool is None else pool.workers)
    progress = Progress(len(todo), args.quiet)

    def on_result(job, result):
        # the driver alone writes the record, whatever runs the jobs
        if result.status == "done":
            record.mark_done(job, result.src_stat, result.src_hash,
                             result.out_stat)
        stats.add(result, job)
        progress.update(result.status, result.message(job))

    start = time.perf_counter()
    try:
        if todo:          # (no pool when the inputs gave no job at all)
            run_jobs(pool.executor, todo, settings, on_result,
                     window=4 * pool.slots,
                     absolute=bool(args.scheduler or args.cluster),
                     writer=pool.writer)
    except KeyboardInterrupt:
        pool.close(True)
        progress.close()
        print("cfilter: interrupted; finished outputs are whole, re-run to "
              "resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    progress.close()
    where = "" if pool is None else pool.where
    for line in stats.summary(time.perf_counter() - start, where):
        print(line)
    return EXIT_FAILED if stats.failed or stats.foreign else EXIT_OK


# ---------------------------------------------------------------------------
# Argument parsing
# ---------------------------------------------------------------------------

_APPLY_EXAMPLES = """\
examples:
  cfilter apply photo.jpg -o out -f gaussian:sigma=2
  cfilter apply scans/ -r -o out -f box:size=5 -f sharpen:amount=2 --jobs 4
  cfilter apply "raw/*.tif" -o out -f sobel --dtype float32
  cfilter apply edges/ -o out -f sobel:axis=1 --abs
  cfilter apply images/ -o small -f gaussian:sigma=1 --stride 2 --format png
  cfilter apply images/ -o converted --format png
  cfilter apply images/ -o out -f file:my_kernel.csv --dry-run
  cfilter apply images/ -o out -f gaussian:sigma=2 --scheduler tcp://h:8786

Each output keeps its path relative to the input folder and its file name
(only the extension changes, with --format); nothing is written outside -o.
Outputs keep the input's bit depth unless --dtype says otherwise (rounded and
saturated; --abs and --rescale map signed responses, and the summary says
when values were clipped).  Colour channels are filtered independently; an
alpha channel is copied.  --stride applies once, at the last filter.

Re-running is safe: OUTDIR/.cfilter/ records what made each output, so an
output is skipped only if it was made from the same, unchanged input with
the same filters and options; otherwise it is redone.  A file in the way
that cfilter did not make is left alone (--overwrite replaces it).  One
run writes into an output folder at a time: a second run on the same -o
stops at once with exit status 2 (--wait makes it wait instead).  Exit
status: 0 all done, 1 some files failed or were left alone, 2 bad command
line or busy output folder (nothing touched), 130 interrupted."""

_KERNELS_EXAMPLES = """\
examples:
  cfilter kernels
  cfilter apply img.png -o out -f motion_blur:length=9,angle=30"""

_DEMO_EXAMPLES = """\
examples:
  cfilter demo                  # writes into ./demo
  cfilter demo -o /tmp/cfilter-demo

Filters scikit-image's camera (grey) and astronaut (colour) sample images
with gaussian, the Sobel magnitude, sharpen, emboss, motion_blur and box,
and writes one PNG per result plus contact_sheet.png (all in a grid)."""

_BENCH_EXAMPLES = """\
examples:
  cfilter bench --quick
  cfilter bench --size 1024

Times cfilter against whichever of OpenCV and scipy.ndimage are installed
(float32 images, reflect border, all threads).  Ratios below 1 mean
cfilter is faster."""


def _from_demo(name):
    """The command ``name`` of :mod:`cfilter.cli.demo`, imported when run
    (it is not needed by ``apply``, nor by ``--help``)."""
    def command(args):
        from . import demo
        return getattr(demo, name)(args)
    return command


def build_parser():
    """The argument parser of the ``cfilter`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    return _parsers()[0]


def _parsers():
    """The ``cfilter`` parser and its ``apply`` sub-parser (which
    :func:`main` runs with intermixed parsing)."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="cfilter", formatter_class=fmt,
        description="Fast, exact 2-D image filtering, for batches of files.",
        epilog="examples:\n  cfilter demo -o demo\n  cfilter kernels\n"
               "  cfilter apply photos/ -r -o out -f gaussian:sigma=2\n"
               "  cfilter bench --quick\n\n"
               "'cfilter COMMAND --help' tells more about each command.")
    parser.add_argument("--version", action="version",
                        version=f"cfilter {cfilter.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("apply", formatter_class=fmt, epilog=_APPLY_EXAMPLES,
                       help="filter image files into an output folder",
                       description="Run a chain of filters over image files "
                                   "(PNG 8/16-bit, JPEG, TIFF incl. float, "
                                   "BMP, WebP, GIF; grey, RGB, RGBA).")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files, folders or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="output folder (created if needed)")
    p.add_argument("-f", "--filter", dest="filters", action="append",
                   default=[], metavar="SPEC",
                   help="NAME[:key=value,...] from 'cfilter kernels', or "
                        "file:PATH (.npy, .txt, .csv); repeat to chain; "
                        "none: a plain format conversion")
    p.add_argument("-r", "--recursive", action="store_true",
                   help="descend into sub-folders (and ** in globs)")
    p.add_argument("--mode", default="reflect",
                   help="boundary mode: " + ", ".join(cfilter.mode_names())
                        + " (default reflect)")
    p.add_argument("--stride", type=int, default=1, metavar="N",
                   help="keep every N-th pixel of the result (default 1)")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="files filtered at once, in threads (default 1)")
    p.add_argument("--overwrite", action="store_true",
                   help="rewrite outputs that exist (default: skip them)")
    p.add_argument("--dry-run", "-n", action="store_true",
                   help="show what would be written; write nothing")
    p.add_argument("--format", choices=sorted(imageio.WRITABLE),
                   help="output format (default: the input's; PNG for a "
                        "GIF input)")
    p.add_argument("--dtype", choices=DTYPES, default="same",
                   help="output sample type (default same as the input; "
                        "float32 writes TIFF)")
    p.add_argument("--abs", action="store_true",
                   help="take the absolute value of the last response "
                        "(signed edges into an integer output)")
    p.add_argument("--rescale", action="store_true",
                   help="map each output's range of values linearly onto "
                        "the output type's (0..255, 0..65535; 0..1 for "
                        "float)")
    p.add_argument("--max-pixels", type=int, default=imageio.MAX_PIXELS,
                   metavar="N",
                   help=f"refuse images of more pixels, read from the "
                        f"header before decoding (default "
                        f"{imageio.MAX_PIXELS}, as Pillow; 0 for no limit)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the jobs on the Dask distributed cluster of "
                        "this scheduler (e.g. tcp://10.0.0.5:8786); the "
                        "workers must see the same files")
    p.add_argument("--cluster", metavar="local:N",
                   help="start a Dask cluster of N worker processes on this "
                        "machine for the run")
    p.add_argument("--wait", action="store_true",
                   help="if another cfilter apply is writing into OUTDIR, "
                        "wait for it to finish (default: stop at once, exit "
                        "status 2)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress; failures and the summary only")
    p.set_defaults(run=cmd_apply)
    apply_parser = p

    p = sub.add_parser("kernels", formatter_class=fmt,
                       epilog=_KERNELS_EXAMPLES,
                       help="list the kernel catalog",
                       description="The kernel catalog, one line each: "
                                   "name, parameters with defaults, what "
                                   "it does.")
    p.set_defaults(run=_from_demo("cmd_kernels"))

    p = sub.add_parser("demo", formatter_class=fmt, epilog=_DEMO_EXAMPLES,
                       help="filter sample images, write a contact sheet",
                       description="Run catalog filters on bundled sample "
                                   "images.")
    p.add_argument("-o", "--output", default="demo", metavar="DIR",
                   help="output folder (default ./demo)")
    p.set_defaults(run=_from_demo("cmd_demo"))

    p = sub.add_parser("bench", formatter_class=fmt, epilog=_BENCH_EXAMPLES,
                       help="benchmark against installed peer libraries",
                       description="The benchmark tables.")
    p.add_argument("--quick", action="store_true",
                   help="few repeats, for a quick look")
    p.add_argument("--size", type=int, default=2048, metavar="N",
                   help="side of the square test image (default 2048)")
    p.set_defaults(run=_from_demo("cmd_bench"))
    return parser, apply_parser


def main(argv=None):
    """Run the ``cfilter`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments.  Without them, ``main`` runs as the program (the
        ``cfilter`` console script, ``python -m cfilter``): it reads
        ``sys.argv[1:]``, and ``apply`` tunes glibc's allocator for the
        process (freed image buffers are kept for the next image).  Called
        with arguments, as a library, it changes nothing process-wide.

    Returns
    -------
    int
        The exit status: 0 success, 1 some files failed, 2 bad command
        line, 130 interrupted.
    """
    parser, apply_parser = _parsers()
    program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["apply"]:
        # options may come between the inputs: 'apply a.png -o out b.png'
        args = apply_parser.parse_intermixed_args(argv[1:])
        args.command = "apply"
    else:
        args = parser.parse_args(argv)
    args.program = program
    try:
        return args.run(args)
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"cfilter {args.command}: error: {exc}\n")
    except KeyboardInterrupt:
        print("cfilter: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_FAILED
