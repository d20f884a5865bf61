"""Image files for the command line: decode to arrays, encode atomically.

Pillow reads and writes PNG, JPEG and BMP; tifffile reads and writes TIFF.
Arrays come out as ``(H, W)`` (grey) or ``(H, W, C)`` with the channels last:
``C = 2`` is grey + alpha, ``3`` RGB, ``4`` RGBA.  Bit depth is kept: 8-bit
files give ``uint8``, 16-bit ``uint16``, float TIFFs ``float32``/``float64``.

Writing goes through a temporary file in the destination folder, which is
renamed over the destination only when it is complete (``os.replace``), so a
killed process never leaves a partial output under the final name.  The
temporary names carry the writer's process id, so :func:`remove_stale_temps`
can delete those of processes that no longer run.

This module has no filtering logic; it only moves pixels between files and
arrays.
"""
import io
import os
import re
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["FORMATS", "ImageError", "format_of", "extension_of",
           "format_problem", "read_image", "write_image",
           "remove_stale_temps", "TEMP_SUFFIX"]

#: Format name -> file extensions it is recognised by (the first is written).
FORMATS = {
    "png": (".png",),
    "jpg": (".jpg", ".jpeg"),
    "tif": (".tif", ".tiff"),
    "bmp": (".bmp",),
}

#: Format name -> the sample dtypes it can store.
_HOLDS = {
    "png": ("uint8", "uint16"),
    "jpg": ("uint8",),
    "bmp": ("uint8",),
    "tif": ("uint8", "uint16", "int8", "int16", "int32", "uint32",
            "float32", "float64"),
}

TEMP_SUFFIX = ".cfilter-tmp"
_TEMP_RE = re.compile(r"\.(\d+)\.[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX) + "$")

_UMASK = os.umask(0)
os.umask(_UMASK)


class ImageError(Exception):
    """A file that cannot be read or written as an image; the message says why."""


def format_of(path):
    """The format name of ``path`` from its extension, or None.

    Examples
    --------
    >>> from cfilter._io import format_of
    >>> format_of("a/b.JPEG"), format_of("x.tiff"), format_of("notes.txt")
    ('jpg', 'tif', None)
    """
    ext = Path(path).suffix.lower()
    for name, exts in FORMATS.items():
        if ext in exts:
            return name
    return None


def extension_of(fmt):
    """The extension written for format ``fmt`` (``'.png'``, ``'.jpg'``, ...)."""
    return FORMATS[fmt][0]


def format_problem(fmt, dtype, channels=None):
    """Why format ``fmt`` cannot store samples of ``dtype``, or None if it can.

    Parameters
    ----------
    fmt : str
        A key of :data:`FORMATS`.
    dtype : dtype_like
        The sample type to store.
    channels : int, optional
        Channels last (None for a grey 2-D image); checked when given.

    Returns
    -------
    str or None
        A sentence naming the problem and what to do, or None.

    Examples
    --------
    >>> from cfilter._io import format_problem
    >>> print(format_problem("png", "float32"))
    png cannot store float32 samples (it stores uint8, uint16); use --format tif or --dtype uint8/uint16
    >>> format_problem("tif", "float32") is None
    True
    """
    dt = np.dtype(dtype)
    holds = _HOLDS[fmt]
    if dt.name not in holds:
        fix = "--format tif" if dt.name in _HOLDS["tif"] else "another --dtype"
        if fmt != "tif":
            fix += " or --dtype " + "/".join(holds)
        return (f"{fmt} cannot store {dt.name} samples (it stores "
                f"{', '.join(holds)}); use {fix}")
    if channels in (2, 4) and fmt == "jpg":
        return "jpg cannot store an alpha channel; use --format png or tif"
    if channels in (2, 4) and fmt == "bmp":
        return "bmp cannot store an alpha channel here; use --format png or tif"
    if fmt == "png" and dt == np.uint16 and channels is not None:
        return ("16-bit colour PNG cannot be written with Pillow; use "
                "--format tif or --dtype uint8")
    return None


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def read_image(path):
    """Decode the image file at ``path`` into an array.

    Parameters
    ----------
    path : str or Path
        A PNG, JPEG, BMP or TIFF file (chosen by its content for Pillow
        formats, by its extension for TIFF).

    Returns
    -------
    ndarray
        ``(H, W)`` or ``(H, W, C)``, channels last, in the file's bit depth.

    Raises
    ------
    ImageError
        With the reason: unsupported extension, not an image, corrupt or
        truncated data, a layout this tool does not handle.
    OSError
        If the file cannot be opened (missing, no permission).
    """
    path = Path(path)
    fmt = format_of(path)
    if fmt is None:
        raise ImageError(f"unsupported file type {path.suffix or '(none)'!r}; "
                         f"supported: {', '.join(_all_extensions())}")
    if fmt == "tif":
        return _read_tiff(path)
    return _read_pillow(path)


def _all_extensions():
    return [e for exts in FORMATS.values() for e in exts]


def _png_header(path):
    """(bit depth, colour type) from a PNG's IHDR chunk, or None."""
    with open(path, "rb") as fh:
        head = fh.read(29)
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or \
            head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def _read_pillow(path):
    from PIL import Image, UnidentifiedImageError

    header = _png_header(path)
    if header is not None and header[0] == 16 and header[1] in (2, 4, 6):
        raise ImageError("16-bit colour PNG: Pillow decodes it only to 8 bits, "
                         "which would lose the bit depth; convert it to a "
                         "16-bit TIFF")
    try:
        with Image.open(path) as im:
            im.load()
            return _pillow_to_array(im)
    except UnidentifiedImageError:
        raise ImageError("not a readable image (unknown or corrupt "
                         "data)") from None
    except (SyntaxError, ValueError, EOFError, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError,
                            IsADirectoryError)):
            raise
        raise ImageError(f"corrupt or truncated image: {exc}") from None


def _pillow_to_array(im):
    mode = im.mode
    if mode == "1":
        return np.asarray(im, dtype=np.uint8) * np.uint8(255)
    if mode in ("P", "PA"):
        wants_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if wants_alpha else "RGB")
    elif mode == "La":
        im = im.convert("LA")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    elif mode in ("RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    mode = im.mode
    if mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16, copy=False)
    arr = np.asarray(im)
    if mode == "I" and im.format == "PNG":
        # older Pillow opens 16-bit grey PNGs as 32-bit "I"
        return arr.astype(np.uint16)
    if mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        raise ImageError(f"unsupported pixel mode {mode!r}")
    return arr


def _read_tiff(path):
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            axes = series.axes
            if len(tif.series) > 1 or set(axes) - set("YXS"):
                raise ImageError(f"TIFF holds several images (axes "
                                 f"{axes!r}, {len(tif.series)} series); "
                                 f"only one grey or colour image is "
                                 f"supported")
            photometric = getattr(series.keyframe.photometric, "name", "")
            if photometric in ("PALETTE", "SEPARATED", "CIELAB", "YCBCR") \
                    and not tif.is_ome:
                raise ImageError(f"TIFF photometric {photometric} is not "
                                 f"supported (grey, RGB and RGBA are)")
            arr = series.asarray()
    except ImageError:
        raise
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception as exc:  # tifffile raises many kinds on bad data
        raise ImageError(f"corrupt or unreadable TIFF: {exc}") from None
    if "S" in axes and axes.index("S") == 0:
        arr = np.moveaxis(arr, 0, -1)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype.kind not in "iuf":
        raise ImageError(f"TIFF sample type {arr.dtype} is not supported")
    return np.ascontiguousarray(arr)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def write_image(path, image, fmt=None):
    """Encode ``image`` into ``path`` atomically (temporary file + rename).

    Parameters
    ----------
    path : str or Path
        Destination; its folder must exist.  An existing file is replaced
        only once the new one is complete.
    image : ndarray
        ``(H, W)`` or ``(H, W, C)`` with ``C`` in 2, 3, 4.
    fmt : str, optional
        A key of :data:`FORMATS`; by default from the extension of `path`.

    Raises
    ------
    ImageError
        If the format cannot store this image (see :func:`format_problem`).
    """
    path = Path(path)
    fmt = fmt or format_of(path)
    if fmt is None:
        raise ImageError(f"cannot tell the format of {path.name!r}")
    image = np.asarray(image)
    channels = image.shape[2] if image.ndim == 3 else None
    if image.ndim not in (2, 3) or channels not in (None, 2, 3, 4):
        raise ImageError(f"cannot store an array of shape {image.shape} as "
                         f"an image")
    problem = format_problem(fmt, image.dtype, channels)
    if problem:
        raise ImageError(problem)
    fd, tmp = tempfile.mkstemp(dir=path.parent,
                               prefix=f".{path.name}.{os.getpid()}.",
                               suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            _ENCODERS[fmt](fh, np.ascontiguousarray(image))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _encode_pillow(fmt, **options):
    def encode(fh, image):
        from PIL import Image
        Image.fromarray(image).save(fh, format=fmt, **options)
    return encode


def _encode_tiff(fh, image):
    import tifffile
    channels = image.shape[2] if image.ndim == 3 else None
    kwargs = {"photometric": "rgb" if channels in (3, 4) else "minisblack"}
    if channels is not None:
        kwargs["planarconfig"] = "contig"
    if channels in (2, 4):
        kwargs["extrasamples"] = ("unassalpha",)
    buffer = io.BytesIO()   # tifffile wants a named file or a buffer
    tifffile.imwrite(buffer, image, **kwargs)
    fh.write(buffer.getbuffer())


_ENCODERS = {
    # zlib level 1: about 4x faster than Pillow's default 6 on photographs,
    # for files about 20 % larger (OpenCV's default is 1 too)
    "png": _encode_pillow("PNG", compress_level=1),
    "jpg": _encode_pillow("JPEG", quality=95, subsampling=0),
    "bmp": _encode_pillow("BMP"),
    "tif": _encode_tiff,
}


def remove_stale_temps(folder):
    """Delete temporary files left in ``folder`` by writers that were killed.

    Only files named by :func:`write_image` whose process no longer runs
    (or is this process, which has not written yet) are removed.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        match = _TEMP_RE.search(entry.name)
        if not (entry.name.startswith(".") and match and entry.is_file()):
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and _process_alive(pid):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except FileNotFoundError:
            pass
    return removed


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
