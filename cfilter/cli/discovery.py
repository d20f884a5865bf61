"""Inputs to jobs: files, folders and globs, each mapped to an output path
inside ``-o`` (never outside it, whatever the names or globs say).

Nothing here opens an image; paths are looked at with ``lstat``/``scandir``
so that a FIFO, a device or a symlink loop is reported, never waited on.
"""
import glob
import os
from pathlib import Path

from . import imageio

from .specs import UsageError

__all__ = ["Job", "plan_jobs", "safe_resolve", "RECORD_DIR", "OTHER",
           "SUBFOLDER", "HIDDEN"]

#: The folder under ``-o`` where the resume record lives; never scanned.
RECORD_DIR = ".cfilter"

#: Why a folder's entry was not read: another extension, a subfolder
#: without ``-r``, a hidden name (starting with a dot).
OTHER, SUBFOLDER, HIDDEN = "other", "subfolder", "hidden"


class Job:
    """One input file, its output path and format."""

    __slots__ = ("src", "dst", "fmt", "rel")

    def __init__(self, src, dst, fmt, rel):
        self.src, self.dst, self.fmt, self.rel = src, dst, fmt, rel

    def __getstate__(self):
        return (self.src, self.dst, self.fmt, self.rel)

    def __setstate__(self, state):
        self.src, self.dst, self.fmt, self.rel = state

    def __repr__(self):
        return f"Job({str(self.src)!r} -> {str(self.dst)!r})"


def safe_resolve(path):
    """``path`` made absolute with symlinks resolved as far as they go (a
    loop or a missing part stops there; never raises)."""
    return Path(os.path.realpath(os.path.abspath(path)))


def _is_within(path, folder):
    try:
        safe_resolve(path).relative_to(folder)
        return True
    except ValueError:
        return False


def _glob_base(pattern):
    """The folder part of a glob pattern before its first wildcard."""
    base = []
    for part in Path(pattern).parts:
        if glob.has_magic(part):
            break
        base.append(part)
    return Path(*base) if base else Path(".")


def _image_files(folder, recursive, exclude, problems):
    """Image files (by extension) in ``folder``, sorted; and the entries
    not read, as ``(path, OTHER | SUBFOLDER | HIDDEN)``.  Folders that
    cannot be listed are added to ``problems``."""
    found, ignored = [], []
    if exclude is not None and _is_within(folder, exclude):
        exclude = None          # the output folder holds this input folder

    def unreadable(exc):
        problems.append((exc.filename or str(folder),
                         f"cannot list this folder: "
                         f"{(exc.strerror or str(exc)).lower()}"))

    if recursive:
        walker = os.walk(folder, onerror=unreadable)
    else:
        names, subfolders = [], []
        try:
            for entry in os.scandir(folder):
                if _entry_is_dir(entry):
                    subfolders.append(entry.name)
                else:
                    names.append(entry.name)
        except OSError as exc:
            unreadable(exc)
        walker = [(str(folder), subfolders, names)]
    for root, dirs, files in walker:
        root = Path(root)
        if exclude is not None and _is_within(root, exclude):
            dirs[:] = []
            continue
        kept = []
        for name in sorted(dirs):
            if exclude is not None and _is_within(root / name, exclude):
                continue                 # the output folder: not an input
            if name.startswith("."):
                ignored.append((root / name, HIDDEN))
            elif not recursive:
                ignored.append((root / name, SUBFOLDER))
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if name.startswith("."):
                ignored.append((root / name, HIDDEN))
            elif imageio.format_of(name) is None:
                ignored.append((root / name, OTHER))
            else:
                found.append(root / name)
    return found, ignored


def _entry_is_dir(entry):
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:              # a symlink loop: listed as a file, whose
        return False             # read reports it


def _glob_relative(match, base):
    """The path of a glob match under the glob's fixed base folder, with
    ``..`` resolved lexically; just the file name when it is not under it."""
    norm = Path(os.path.normpath(match))
    try:
        rel = norm.relative_to(os.path.normpath(base))
    except ValueError:
        return Path(norm.name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return Path(norm.name)
    return rel


def _exists(path):
    """True for anything at ``path``, even a dangling or looping symlink."""
    try:
        os.lstat(path)
        return True
    except OSError:
        return False


def _is_dir(path):
    try:
        return path.is_dir()
    except OSError:          # a symlink loop, a name too long, ...
        return False


def _expand_inputs(inputs, recursive, outdir):
    """``(sources, problems, ignored)``: sources are ``(path, relative)``;
    problems are ``(given, reason)``; ignored as :func:`_image_files`."""
    sources, problems, ignored = [], [], []
    out_resolved = safe_resolve(outdir)
    for given in inputs:
        path = Path(given)
        if _is_dir(path):
            files, skipped = _image_files(path, recursive, out_resolved,
                                          problems)
            ignored += skipped
            sources += [(f, f.relative_to(path)) for f in files]
        elif _exists(path):
            sources.append((path, Path(path.name)))
        elif glob.has_magic(given):
            matches = sorted(glob.glob(given, recursive=recursive))
            if not matches:
                problems.append((given, "no file matches this pattern"))
            base = _glob_base(given)
            for match in map(Path, matches):
                if _is_dir(match) or _is_within(match, out_resolved):
                    continue
                sources.append((match, _glob_relative(match, base)))
        else:
            problems.append((given, "no such file or directory"))
    # the same file named twice (e.g. by a folder and a glob): keep the first
    seen, unique = set(), []
    for src, rel in sources:
        key = safe_resolve(src)
        if key not in seen:
            seen.add(key)
            unique.append((src, rel))
    return unique, problems, ignored


def _output_format(fmt_option, dtype_option, src):
    if fmt_option:
        return fmt_option
    if dtype_option == "float32":
        return "tif"      # the only format here that stores float samples
    fmt = imageio.format_of(src)
    return None if fmt is None else imageio.output_format(fmt)


def _inside(dst, outdir):
    """True if ``dst`` stays inside ``outdir`` lexically and after
    resolving the symlinks that exist."""
    out_norm = os.path.normpath(os.path.abspath(outdir))
    dst_norm = os.path.normpath(os.path.abspath(dst))
    if os.path.commonpath([out_norm, dst_norm]) != out_norm:
        return False
    real_out = safe_resolve(outdir)
    try:
        safe_resolve(dst).relative_to(real_out)
    except ValueError:
        return False
    return True


def plan_jobs(inputs, outdir, *, recursive=False, fmt=None, dtype="same"):
    """The jobs, the input problems and the ignored count.

    Parameters
    ----------
    inputs : list of str
        Files, folders and glob patterns.
    outdir : Path
        The output folder.
    recursive : bool
        Descend into sub-folders (and ``**`` in globs).
    fmt : str or None
        ``--format``.
    dtype : str
        ``--dtype``.

    Returns
    -------
    jobs : list of Job
    problems : list of (str, str)
        Inputs that cannot be used (missing, unlistable folder), with why.
    ignored : list of (Path, str)
        The entries of the input folders that are not read, each with why:
        :data:`OTHER` (not an image by extension), :data:`SUBFOLDER` (a
        subfolder, without ``recursive``) or :data:`HIDDEN` (a name that
        starts with a dot).

    Raises
    ------
    UsageError
        If an output would overwrite an input, two inputs would be written to
        one output, an output would fall outside `outdir`, or the format
        cannot store `dtype`.
    """
    sources, problems, ignored = _expand_inputs(inputs, recursive, outdir)
    jobs, by_dst, unsupported = [], {}, []
    resolved_inputs = {safe_resolve(src) for src, _ in sources}
    for src, rel in sources:
        out_fmt = _output_format(fmt, dtype, src)
        dst = outdir / rel
        if out_fmt is not None:
            if fmt or imageio.format_of(src) != out_fmt:
                dst = dst.with_suffix(imageio.extension_of(out_fmt))
            if dtype != "same":
                problem = imageio.format_problem(out_fmt, dtype)
                if problem:
                    unsupported.append(f"{src}: {problem}")
        if not _inside(dst, outdir) or RECORD_DIR in rel.parts:
            raise UsageError(f"output {dst} for input {src} would fall "
                             f"outside -o {outdir}")
        key = safe_resolve(dst)
        if key in resolved_inputs:
            raise UsageError(f"output {dst} would overwrite the input "
                             f"{src}; choose another -o folder")
        if key in by_dst:
            raise UsageError(f"inputs {by_dst[key]} and {src} would both be "
                             f"written to {dst}; filter them into separate "
                             f"-o folders")
        by_dst[key] = src
        jobs.append(Job(src, dst, out_fmt, dst.relative_to(outdir)))
    if unsupported:
        shown = "\n  ".join(unsupported[:5])
        more = f"\n  ... and {len(unsupported) - 5} more" \
            if len(unsupported) > 5 else ""
        raise UsageError(f"--dtype {dtype} cannot be written in the "
                         f"output format:\n  {shown}{more}")
    return jobs, problems, ignored
