"""The ``cfilter`` command line: filter batches of image files, safely.

Subcommands:

``cfilter apply``
    Run a chain of filters over files, folders and globs into an output
    folder (atomic writes, resumable, one bad file does not stop the rest).
``cfilter kernels``
    The kernel catalog, one line each.
``cfilter demo``
    Catalog filters on scikit-image's sample images, plus a contact sheet.
``cfilter bench``
    The benchmark table against whichever peer libraries are installed.

The command line is a client of the public functions
(:func:`cfilter.correlate`, :func:`cfilter.sobel`, :mod:`cfilter.kernels`);
image files are read and written by :mod:`cfilter._io`.

Exit codes: 0 success, 1 some files failed, 2 a bad command line (a bad
filter spec or option is reported before any file is touched), 130
interrupted.
"""
import argparse
import glob
import inspect
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

import cfilter
from cfilter import _io, kernels

__all__ = ["main", "load_kernel", "filter_image"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DTYPES = ("same", "float32", "uint8", "uint16")


class UsageError(Exception):
    """A bad command line: reported before any file is touched (exit 2)."""


# ---------------------------------------------------------------------------
# Filter specs and the filtering itself (through the public functions only)
# ---------------------------------------------------------------------------

def load_kernel(spec):
    """Build the kernel for one ``-f`` spec.

    Parameters
    ----------
    spec : str
        ``name[:key=value,...]`` for a catalog entry (see
        :func:`cfilter.kernels.get`), or ``file:PATH`` for a custom kernel
        stored as ``.npy`` (:func:`numpy.load`) or as text, ``.txt``/``.csv``
        (:func:`numpy.loadtxt`, comma-separated when the text has commas,
        otherwise whitespace-separated; ``#`` starts a comment).

    Returns
    -------
    cfilter.kernels.Kernel

    Raises
    ------
    UsageError
        With a message naming the spec, the bad key or value, and what is
        allowed.

    Examples
    --------
    >>> from cfilter.cli import load_kernel
    >>> load_kernel("gaussian:sigma=2").shape
    (17, 17)
    >>> load_kernel("gaussian:sigma=2,size=3")
    Traceback (most recent call last):
    ...
    cfilter.cli.UsageError: -f 'gaussian:sigma=2,size=3': gaussian: unknown parameter(s) 'size'; valid parameters: sigma, truncate, radius
    """
    if spec.strip().lower().startswith("file:"):
        return _kernel_from_file(spec, spec.strip()[len("file:"):].strip())
    try:
        return kernels.get(spec)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"-f {spec!r}: {exc}") from None


def _kernel_from_file(spec, path):
    if not path:
        raise UsageError(f"-f {spec!r}: no path after 'file:'")
    ext = Path(path).suffix.lower()
    if ext not in (".npy", ".txt", ".csv"):
        raise UsageError(f"-f {spec!r}: kernel file extension {ext or '(none)'!r}"
                         f" is not supported; use .npy, .txt or .csv")
    try:
        if ext == ".npy":
            weights = np.load(path, allow_pickle=False)
        else:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            body = "\n".join(line.split("#")[0] for line in text.splitlines())
            delimiter = "," if "," in body else None
            weights = np.loadtxt(path, delimiter=delimiter, ndmin=2,
                                 dtype=np.float64)
    except OSError as exc:
        raise UsageError(f"-f {spec!r}: cannot read kernel file: "
                         f"{exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"-f {spec!r}: kernel file is not a table of "
                         f"numbers: {exc}") from None
    if np.ndim(weights) == 1:
        weights = np.asarray(weights)[None, :]
    try:
        return kernels.Kernel(weights, name=f"file:{path}")
    except (ValueError, TypeError) as exc:
        raise UsageError(f"-f {spec!r}: {exc}") from None


def _split_alpha(image):
    """(colour part, alpha or None): 2 channels are grey+alpha, 4 RGBA."""
    if image.ndim == 3 and image.shape[-1] in (2, 4):
        colour = image[..., :-1]
        if colour.shape[-1] == 1:
            colour = colour[..., 0]
        return colour, image[..., -1]
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0], None
    return image, None


def _cast(values, dtype):
    """``values`` as ``dtype``: integers rounded and saturated."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and values.dtype.kind == "f":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    if dtype.kind in "iu" and values.dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(values, info.min, info.max).astype(dtype)
    return values.astype(dtype)


def filter_image(image, chain, *, mode="reflect", stride=1, dtype=None,
                 workers=None):
    """Run a chain of kernels over one decoded image, as ``apply`` does.

    Each kernel is applied with :func:`cfilter.correlate` in turn, the
    colour channels independently (``channel_axis=-1``); an alpha channel
    (the last of 2 or 4 channels) is not filtered but copied (subsampled
    like the image when ``stride > 1``).  Intermediate results stay in
    floating point; the last step casts to `dtype` (rounded and saturated
    for integers).

    Parameters
    ----------
    image : ndarray
        ``(H, W)`` or ``(H, W, C)``, channels last.
    chain : sequence of array_like
        Kernels, applied in order.
    mode : str, optional
        Boundary mode for every step.
    stride : int, optional
        Applied by the last step only, so the result is the full-resolution
        chain sampled every `stride` pixels.
    dtype : dtype_like, optional
        The output sample type; by default the input's.
    workers : int, optional
        Threads per :func:`cfilter.correlate` call.

    Returns
    -------
    ndarray
        The filtered image, alpha re-attached.

    Examples
    --------
    >>> import numpy as np
    >>> from cfilter.cli import filter_image, load_kernel
    >>> rgba = np.zeros((4, 4, 4), dtype=np.uint8); rgba[..., 3] = 7
    >>> out = filter_image(rgba, [load_kernel("box:size=3")], stride=2)
    >>> out.shape, out.dtype, int(out[..., 3].max())
    ((2, 2, 4), dtype('uint8'), 7)
    """
    dtype = np.dtype(image.dtype if dtype is None else dtype)
    colour, alpha = _split_alpha(image)
    channel_axis = -1 if colour.ndim == 3 else None
    result = colour
    for i, kernel in enumerate(chain):
        last = i == len(chain) - 1
        result = cfilter.correlate(result, kernel, mode=mode,
                                   stride=stride if last else 1,
                                   channel_axis=channel_axis,
                                   output=dtype if last else None,
                                   workers=workers)
    if not chain:
        result = _cast(colour[::stride, ::stride], dtype)
    if alpha is None:
        return result
    alpha = _cast(alpha[::stride, ::stride], dtype)
    if result.ndim == 2:
        result = result[..., None]
    return np.concatenate([result, alpha[..., None]], axis=-1)


# ---------------------------------------------------------------------------
# apply: planning (no file touched)
# ---------------------------------------------------------------------------

class _Job:
    """One input file, its output path and format."""

    __slots__ = ("src", "dst", "fmt")

    def __init__(self, src, dst, fmt):
        self.src, self.dst, self.fmt = src, dst, fmt


def _glob_base(pattern):
    """The folder part of a glob pattern before its first wildcard."""
    parts = Path(pattern).parts
    base = []
    for part in parts:
        if glob.has_magic(part):
            break
        base.append(part)
    return Path(*base) if base else Path(".")


def _image_files(folder, recursive, exclude):
    """Image files (by extension) in ``folder``, sorted; and how many others."""
    found, ignored = [], 0
    if exclude is not None and _is_within(folder, exclude):
        exclude = None          # the output folder holds this input folder
    walker = os.walk(folder) if recursive else \
        [(str(folder), [], [e.name for e in os.scandir(folder)
                            if e.is_file()])]
    for root, dirs, files in walker:
        root = Path(root)
        if exclude is not None and _is_within(root, exclude):
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.endswith(_io.TEMP_SUFFIX):
                continue
            if _io.format_of(name) is None:
                ignored += 1
            else:
                found.append(root / name)
    return found, ignored


def _is_within(path, folder):
    try:
        Path(path).resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def _expand_inputs(inputs, recursive, outdir):
    """``(sources, missing, ignored)``: sources are ``(path, relative)``."""
    sources, missing, ignored = [], [], 0
    out_resolved = outdir.resolve()
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            files, skipped = _image_files(path, recursive, out_resolved)
            ignored += skipped
            sources += [(f, f.relative_to(path)) for f in files]
        elif path.exists():
            sources.append((path, Path(path.name)))
        elif glob.has_magic(given):
            matches = sorted(glob.glob(given, recursive=recursive))
            if not matches:
                missing.append((given, "no file matches this pattern"))
            base = _glob_base(given)
            for match in map(Path, matches):
                if match.is_file() and not _is_within(match, out_resolved):
                    try:
                        rel = match.relative_to(base)
                    except ValueError:
                        rel = Path(match.name)
                    sources.append((match, rel))
        else:
            missing.append((given, "no such file or directory"))
    # the same file named twice (e.g. by a folder and a glob): keep the first
    seen, unique = set(), []
    for src, rel in sources:
        key = src.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((src, rel))
    return unique, missing, ignored


def _output_format(args, src):
    if args.format:
        return args.format
    if args.dtype == "float32":
        return "tif"      # the only format here that stores float samples
    return _io.format_of(src)


def _plan_jobs(args, outdir):
    """The jobs, the missing inputs and the ignored count; raises UsageError."""
    sources, missing, ignored = _expand_inputs(args.inputs, args.recursive,
                                               outdir)
    jobs, by_dst, unsupported = [], {}, []
    inputs = {src.resolve() for src, _ in sources}
    for src, rel in sources:
        fmt = _output_format(args, src)
        if fmt is None:            # not an image extension: fails on read
            dst = outdir / rel
        else:
            dst = outdir / rel
            if args.format or _io.format_of(src) != fmt:
                dst = dst.with_suffix(_io.extension_of(fmt))
            if args.dtype != "same":
                problem = _io.format_problem(fmt, args.dtype)
                if problem:
                    unsupported.append(f"{src}: {problem}")
        key = dst.resolve()
        if key in inputs:
            raise UsageError(f"output {dst} would overwrite the input "
                             f"{src}; choose another -o folder")
        if key in by_dst:
            raise UsageError(f"inputs {by_dst[key]} and {src} would both be "
                             f"written to {dst}; filter them into separate "
                             f"-o folders")
        by_dst[key] = src
        jobs.append(_Job(src, dst, fmt))
    if unsupported:
        shown = "\n  ".join(unsupported[:5])
        more = f"\n  ... and {len(unsupported) - 5} more" \
            if len(unsupported) > 5 else ""
        raise UsageError(f"--dtype {args.dtype} cannot be written in the "
                         f"output format:\n  {shown}{more}")
    return jobs, missing, ignored


def _check_options(args):
    """Validate mode, stride, format/dtype and jobs; raise UsageError."""
    try:   # the library's own validation, and its messages
        cfilter.correlate(np.zeros((1, 1), np.float32), np.ones((1, 1)),
                          mode=args.mode, stride=args.stride)
    except (ValueError, TypeError) as exc:
        opt = "--stride" if "stride" in str(exc) else "--mode"
        raise UsageError(f"{opt}: {exc}") from None
    if args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs} must be >= 1")
    if args.format and args.dtype != "same":
        problem = _io.format_problem(args.format, args.dtype)
        if problem:
            raise UsageError(f"--format {args.format} --dtype {args.dtype}: "
                             f"{problem}")


# ---------------------------------------------------------------------------
# apply: running
# ---------------------------------------------------------------------------

class _Stats:
    """Counts and cumulative stage times, shared by the worker threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = self.skipped = self.failed = 0
        self.decode = self.filter = self.encode = 0.0

    def add(self, **times):
        with self.lock:
            for key, value in times.items():
                setattr(self, key, getattr(self, key) + value)


def _process(job, chain, args, workers, stats):
    """Filter one file; returns ``(status, message)``."""
    if job.dst.exists() and not args.overwrite:
        return "skipped", f"skipped {job.dst} (exists; --overwrite to redo)"
    t0 = time.perf_counter()
    image = _io.read_image(job.src)
    t1 = time.perf_counter()
    dtype = None if args.dtype == "same" else np.dtype(args.dtype)
    out = filter_image(image, chain, mode=args.mode, stride=args.stride,
                       dtype=dtype, workers=workers)
    t2 = time.perf_counter()
    job.dst.parent.mkdir(parents=True, exist_ok=True)
    _io.write_image(job.dst, out, job.fmt)
    t3 = time.perf_counter()
    stats.add(decode=t1 - t0, filter=t2 - t1, encode=t3 - t2)
    return "done", f"wrote {job.dst}"


def _reason(exc):
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return exc.strerror.lower() + where
    if isinstance(exc, _io.ImageError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _Progress:
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


def _cmd_apply(args):
    chain = [load_kernel(spec) for spec in args.filters]
    _check_options(args)
    outdir = Path(args.output)
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"-o {outdir}: exists and is not a folder")
    jobs, missing, ignored = _plan_jobs(args, outdir)
    stats = _Stats()
    for given, why in missing:
        print(f"cfilter: FAILED {given}: {why}", file=sys.stderr)
    stats.failed += len(missing)
    if ignored:
        print(f"cfilter: ignored {ignored} file(s) in the input folders "
              f"that are not images by extension", file=sys.stderr)

    if args.dry_run:
        would = 0
        for job in jobs:
            exists = job.dst.exists() and not args.overwrite
            would += not exists
            print(f"{'skip' if exists else 'write'} {job.src} -> {job.dst}")
        print(f"dry run: would write {would}, skip {len(jobs) - would}; "
              f"{len(missing)} input(s) missing; nothing written")
        return EXIT_FAILED if missing else EXIT_OK

    if jobs:
        outdir.mkdir(parents=True, exist_ok=True)
        for folder in sorted({job.dst.parent for job in jobs}):
            _io.remove_stale_temps(folder)
    workers = 1 if args.jobs > 1 else None
    progress = _Progress(len(jobs), args.quiet)
    start = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {pool.submit(_process, job, chain, args, workers, stats): job
                   for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                status, message = future.result()
            except Exception as exc:      # one bad file never stops the rest
                status, message = "failed", f"FAILED {job.src}: {_reason(exc)}"
            stats.add(**{status: 1})
            progress.update(status, message)
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()
        print("cfilter: interrupted; finished outputs are whole, re-run to "
              "resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    pool.shutdown(wait=True)
    progress.close()
    elapsed = time.perf_counter() - start
    rate = stats.done / elapsed if elapsed > 0 else 0.0
    print(f"done {stats.done}, skipped {stats.skipped}, failed {stats.failed} "
          f"in {elapsed:.2f} s ({rate:.1f} files/s); decode "
          f"{stats.decode:.2f} s, filter {stats.filter:.2f} s, encode "
          f"{stats.encode:.2f} s (summed over {args.jobs} job(s))")
    return EXIT_FAILED if stats.failed else EXIT_OK


# ---------------------------------------------------------------------------
# kernels, demo, bench
# ---------------------------------------------------------------------------

def _catalog_lines():
    """One line per catalog entry: name, parameters, description."""
    rows = []
    for name in kernels.names():
        func = getattr(kernels, name)
        params = []
        for p in inspect.signature(func).parameters.values():
            params.append(p.name if p.default is inspect.Parameter.empty
                          else f"{p.name}={p.default!r}")
        summary = (inspect.getdoc(func) or "").splitlines()[0].rstrip(".")
        summary = summary.replace("``", "")
        rows.append((name, ", ".join(params) or "-", summary))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]


def _cmd_kernels(args):
    for line in _catalog_lines():
        print(line)
    print("\nUse as -f NAME[:key=value,...], e.g. -f gaussian:sigma=2 or "
          "-f box:size=3x5;\nor -f file:PATH for your own kernel (.npy, "
          ".txt or .csv).")
    return EXIT_OK


#: (label, spec or None for the Sobel magnitude) of the demo, left to right.
_DEMO_FILTERS = (
    ("gaussian", "gaussian:sigma=3"),
    ("sobel", None),
    ("sharpen", "sharpen:amount=3"),
    ("emboss", "emboss"),
    ("motion_blur", "motion_blur:length=21,angle=30"),
    ("box", "box:size=15"),
)


def _sobel_magnitude(image):
    """Gradient magnitude via :func:`cfilter.sobel`, scaled for display to
    0..255 (the 99.5th percentile maps to 255)."""
    colour, _ = _split_alpha(image)
    axis = -1 if colour.ndim == 3 else None
    mag = cfilter.sobel(colour.astype(np.float32), channel_axis=axis)
    if mag.ndim == 3:
        mag = mag.max(axis=-1)
    top = float(np.percentile(mag, 99.5)) or 1.0   # a few edges saturate
    mag *= 255.0 / top
    return _cast(mag, np.uint8)


def _demo_images():
    from skimage import data
    return [("camera", data.camera()), ("astronaut", data.astronaut())]


def _contact_sheet(rows, tile=256, pad=8, label=22):
    """A grid (one row per image) of labelled thumbnails, as an RGB array."""
    from PIL import Image, ImageDraw, ImageFont

    ncols = max(len(r) for r in rows)
    width = pad + ncols * (tile + pad)
    height = pad + len(rows) * (tile + label + pad)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.load_default(size=16)
    except TypeError:        # Pillow < 10.1
        font = ImageFont.load_default()
    for r, row in enumerate(rows):
        for c, (text, image) in enumerate(row):
            thumb = Image.fromarray(image).convert("RGB")
            thumb.thumbnail((tile, tile))
            x = pad + c * (tile + pad)
            y = pad + r * (tile + label + pad)
            sheet.paste(thumb, (x, y + label))
            draw.text((x, y + 2), text, fill=(0, 0, 0), font=font)
    return np.asarray(sheet)


def _cmd_demo(args):
    outdir = Path(args.output)
    outdir.mkdir(parents=True, exist_ok=True)
    rows, written = [], []
    for name, image in _demo_images():
        row = [("original", image)]
        path = outdir / f"{name}.png"
        _io.write_image(path, image)
        written.append((path, "original"))
        for label, spec in _DEMO_FILTERS:
            if spec is None:
                out, spec = _sobel_magnitude(image), "cfilter.sobel magnitude"
            else:
                out = filter_image(image, [load_kernel(spec)])
            path = outdir / f"{name}_{label}.png"
            _io.write_image(path, out)
            written.append((path, spec))
            row.append((label, out))
        rows.append(row)
    sheet = outdir / "contact_sheet.png"
    _io.write_image(sheet, _contact_sheet(rows))
    written.append((sheet, "all of the above, one row per image"))
    width = max(len(str(p)) for p, _ in written)
    for path, what in written:
        print(f"{str(path):<{width}}  {what}")
    print(f"wrote {len(written)} files into {outdir}")
    return EXIT_OK


def _cmd_bench(args):
    from cfilter import _bench
    _bench.run(args.size, args.quick, out=lambda text: print(text,
                                                              flush=True))
    return EXIT_OK


# ---------------------------------------------------------------------------
# Argument parsing
# ---------------------------------------------------------------------------

_APPLY_EXAMPLES = """\
examples:
  cfilter apply photo.jpg -o out -f gaussian:sigma=2
  cfilter apply scans/ -r -o out -f box:size=5 -f sharpen:amount=2 --jobs 4
  cfilter apply "raw/*.tif" -o out -f sobel:axis=1 --dtype float32
  cfilter apply images/ -o small -f gaussian:sigma=1 --stride 2 --format png
  cfilter apply images/ -o out -f file:my_kernel.csv --dry-run

Each output keeps its path relative to the input folder and its file name
(only the extension changes, with --format).  Outputs keep the input's bit
depth unless --dtype says otherwise (rounded and saturated; no rescaling).
Colour channels are filtered independently; an alpha channel is copied.
--stride applies once, at the last filter.  Existing outputs are skipped
unless --overwrite, so re-running a stopped batch resumes it.  Exit status:
0 all done, 1 some files failed, 2 bad command line (nothing touched)."""

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


def build_parser():
    """The argument parser of the ``cfilter`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
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
                                   "BMP; grey, RGB, RGBA).")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files, folders or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="output folder (created if needed)")
    p.add_argument("-f", "--filter", dest="filters", action="append",
                   required=True, metavar="SPEC",
                   help="NAME[:key=value,...] from 'cfilter kernels', or "
                        "file:PATH (.npy, .txt, .csv); repeat to chain")
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
    p.add_argument("--format", choices=sorted(_io.FORMATS),
                   help="output format (default: the input's)")
    p.add_argument("--dtype", choices=DTYPES, default="same",
                   help="output sample type (default same as the input; "
                        "float32 writes TIFF)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress; failures and the summary only")
    p.set_defaults(run=_cmd_apply)
    apply_parser = p

    p = sub.add_parser("kernels", formatter_class=fmt,
                       epilog=_KERNELS_EXAMPLES,
                       help="list the kernel catalog",
                       description="The kernel catalog, one line each: "
                                   "name, parameters with defaults, what "
                                   "it does.")
    p.set_defaults(run=_cmd_kernels)

    p = sub.add_parser("demo", formatter_class=fmt, epilog=_DEMO_EXAMPLES,
                       help="filter sample images, write a contact sheet",
                       description="Run catalog filters on bundled sample "
                                   "images.")
    p.add_argument("-o", "--output", default="demo", metavar="DIR",
                   help="output folder (default ./demo)")
    p.set_defaults(run=_cmd_demo)

    p = sub.add_parser("bench", formatter_class=fmt, epilog=_BENCH_EXAMPLES,
                       help="benchmark against installed peer libraries",
                       description="The benchmark tables.")
    p.add_argument("--quick", action="store_true",
                   help="few repeats, for a quick look")
    p.add_argument("--size", type=int, default=2048, metavar="N",
                   help="side of the square test image (default 2048)")
    p.set_defaults(run=_cmd_bench)
    parser.apply_parser = apply_parser
    return parser


def main(argv=None):
    """Run the ``cfilter`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 success, 1 some files failed, 2 bad command
        line, 130 interrupted.
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["apply"]:
        # options may come between the inputs: 'apply a.png -o out b.png'
        args = parser.apply_parser.parse_intermixed_args(argv[1:])
        args.command = "apply"
    else:
        args = parser.parse_args(argv)
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
