"""Image files for the command line: decode to arrays, encode atomically.

Codecs, chosen by measurement (``benchmarks/bench_cli.py``; 1024x768 RGB
photographs): imagecodecs' libpng (with zlib-ng) reads and writes PNG, and
its libjpeg-turbo JPEG; tifffile reads and writes TIFF; Pillow BMP, WebP
and GIF.  PNG is written at zlib level 1 with the run-length strategy and
the Sub row filter (OpenCV's fast settings: about 2.5x faster than Pillow's
level 1, with files a few percent smaller); JPEG at quality 95 with 4:4:4
chroma; WebP losslessly.  Every lossless round trip is bit-exact.  GIF is
read only (a palette cannot hold filtered values): its outputs are PNG
unless ``--format`` says otherwise.  An animated GIF or WebP is refused
with its frame count, as a TIFF of several images is.

A damaged file fails with its reason, never decodes into made-up pixels:
libpng refuses a chunk whose CRC is wrong and data that ends early; a JPEG
whose compressed data ends before its end-of-image marker is refused
before decoding (libjpeg-turbo would fill the missing rows with grey, where
Pillow refuses the file as truncated); Pillow's decoders refuse what they
cannot read whole.

Arrays come out as ``(H, W)`` (grey) or ``(H, W, C)`` with the channels last:
``C = 2`` is grey + alpha, ``3`` RGB, ``4`` RGBA.  Bit depth is kept: 8-bit
files give ``uint8``, 16-bit ``uint16`` (grey and colour PNG alike), float
TIFFs ``float32``/``float64``.

A file is opened without blocking and checked to be a regular file before a
byte is read, so a FIFO or a device named ``*.png`` is refused, never waited
on; its header is read before its pixels, so an image above the pixel
limit is refused before it is decoded (:func:`read_image`).

Writing goes through a temporary file in the destination folder, which is
flushed to the disk (``fsync``) and renamed over the destination only when
it is complete (``os.replace``), so a killed process never leaves a partial
output under the final name.  :func:`encode_image` and :func:`write_bytes`
are the two halves of :func:`write_image`, for callers that write in
another thread than they encode.  The
temporary names are short (at most 32 characters, so they fit wherever the
output's name fits) and carry the writer's process id, so
:func:`remove_stale_temps` can delete those of processes that no longer run.

This module has no filtering logic; it only moves pixels between files and
arrays.
"""
import io
import os
import re
import secrets
import stat
from pathlib import Path

import numpy as np

__all__ = ["FORMATS", "ImageError", "format_of", "extension_of",
           "format_problem", "read_file", "image_info", "decode",
           "read_image", "write_image", "encode_image", "write_bytes",
           "remove_stale_temps", "TEMP_SUFFIX", "WRITABLE", "output_format",
           "MAX_PIXELS"]

#: The default pixel limit: Pillow's ``Image.MAX_IMAGE_PIXELS`` (a third of
#: a gigabyte of RGB samples), applied to every format.
MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3

#: Format name -> file extensions it is recognised by (the first is written).
FORMATS = {
    "png": (".png",),
    "jpg": (".jpg", ".jpeg"),
    "tif": (".tif", ".tiff"),
    "bmp": (".bmp",),
    "webp": (".webp",),
    "gif": (".gif",),
}

#: The formats outputs can be written in (``--format``).
WRITABLE = ("png", "jpg", "tif", "bmp", "webp")

#: Read-only format -> the format its outputs are written in by default.
_WRITTEN_AS = {"gif": "png"}

#: Format name -> the sample dtypes it can store.
_HOLDS = {
    "png": ("uint8", "uint16"),
    "jpg": ("uint8",),
    "bmp": ("uint8",),
    "webp": ("uint8",),
    "gif": ("uint8",),
    "tif": ("uint8", "uint16", "int8", "int16", "int32", "uint32",
            "float32", "float64"),
}

TEMP_SUFFIX = ".cfilter-tmp"
_FSYNC = os.environ.get("CFILTER_FSYNC", "1") == "1"
_TEMP_RE = re.compile(r"\.(\d+)\.[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX) + "$")



class ImageError(Exception):
    """A file that cannot be read or written as an image; the message says why."""


def format_of(path):
    """The format name of ``path`` from its extension, or None.

    Examples
    --------
    >>> from cfilter.cli.imageio import format_of
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


def output_format(fmt):
    """The format an output of an input of format ``fmt`` is written in
    when ``--format`` is not given: the same, except for formats that are
    read only (GIF: PNG).

    Examples
    --------
    >>> from cfilter.cli.imageio import output_format
    >>> output_format("jpg"), output_format("gif")
    ('jpg', 'png')
    """
    return _WRITTEN_AS.get(fmt, fmt)


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
    >>> from cfilter.cli.imageio import format_problem
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
    if fmt not in WRITABLE:
        return (f"{fmt} is read only here; use --format "
                f"{' or '.join(WRITABLE)}")
    if channels in (2, 4) and fmt == "bmp":
        return "bmp cannot store an alpha channel here; use --format png or tif"
    return None




# ---------------------------------------------------------------------------
# Reading: file -> bytes -> header -> pixels
# ---------------------------------------------------------------------------

def _kind(mode):
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"


def read_file(path):
    """The bytes of the regular file at ``path``, and its ``os.stat_result``.

    The file is opened without blocking and checked with ``fstat`` before
    it is read, so a FIFO or a device is refused at once.

    Raises
    ------
    ImageError
        If ``path`` is not a regular file (a FIFO, a device, a folder).
    OSError
        If it cannot be opened (missing, no permission, a symlink loop).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ImageError(f"not a regular file: {_kind(st.st_mode)}")
        return fh.read(), st


def _not_an_image():
    return ImageError("not a readable image (unknown or corrupt data)")


def _png_info(data):
    if len(data) < 26 or data[:8] != b"\x89PNG\r\n\x1a\n" or \
            data[12:16] != b"IHDR":
        raise _not_an_image()
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    # colour type -> channels decoded (a palette may carry transparency)
    channels = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}.get(data[25], 4)
    return height, width, channels


def _jpeg_info(data):
    """(height, width, components) from the first SOF marker."""
    if data[:2] != b"\xff\xd8":
        raise _not_an_image()
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:                  # fill byte
            i += 1
            continue
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:
            i += 2                          # markers without a length
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 10 > n:
                break
            height = int.from_bytes(data[i + 5:i + 7], "big")
            width = int.from_bytes(data[i + 7:i + 9], "big")
            return height, width, data[i + 9]
        i += 2 + length
    raise ImageError("corrupt or truncated JPEG: no frame header")


def _jpeg_complete(data):
    """Check that a JPEG's compressed data reaches its end-of-image marker.

    The marker segments are walked by their lengths (an EXIF thumbnail with
    its own markers is skipped whole); after each start-of-scan the
    entropy-coded bytes run to the next marker, found as 0xFF followed by a
    byte that is neither a stuffed 0x00, a fill 0xFF nor a restart marker
    (a 0xFF in the coded data is always followed by 0x00, so this cannot
    misfire).  Data that ends before the end-of-image marker is truncated;
    libjpeg-turbo would decode it with the missing rows grey.

    Raises
    ------
    ImageError
        If the data ends first.
    """
    i, n = 2, len(data)
    while i + 2 <= n:
        if data[i] != 0xFF:
            # stray bytes before a marker: libjpeg skips them with a
            # warning, and so does this walk
            i = data.find(b"\xff", i)
            if i < 0:
                break
            continue
        marker = data[i + 1]
        if marker == 0xFF:                   # fill byte
            i += 1
            continue
        if marker == 0xD9:                   # end of image
            return
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            i += 2
            continue
        if i + 4 > n:
            break
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
        if marker != 0xDA:
            continue
        while True:                          # entropy-coded data
            i = data.find(b"\xff", i)
            if i < 0 or i + 1 >= n:
                i = n
                break
            following = data[i + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                i += 2
            elif following == 0xFF:
                i += 1
            else:
                break
    raise ImageError(f"corrupt or truncated JPEG: the data ends before the "
                     f"end of the image ({n} bytes)")


def _tiff_series(tif):
    series = tif.series[0]
    axes = series.axes
    if len(tif.series) > 1 or set(axes) - set("YXS"):
        raise ImageError(f"TIFF holds several images (axes {axes!r}, "
                         f"{len(tif.series)} series); only one grey or "
                         f"colour image is supported")
    photometric = getattr(series.keyframe.photometric, "name", "")
    if photometric in ("PALETTE", "SEPARATED", "CIELAB", "YCBCR") \
            and not tif.is_ome:
        raise ImageError(f"TIFF photometric {photometric} is not supported "
                         f"(grey, RGB and RGBA are)")
    return series


def _tiff_info(data):
    import tifffile
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            series = _tiff_series(tif)
            shape, axes = series.shape, series.axes
    except ImageError:
        raise
    except Exception as exc:  # tifffile raises many kinds on bad data
        raise ImageError(f"corrupt or unreadable TIFF: {exc}") from None
    sizes = dict(zip(axes, shape))
    return sizes.get("Y", 1), sizes.get("X", 1), sizes.get("S", 1)


def _pillow_info(data):
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size[1], im.size[0], len(im.getbands())
    except UnidentifiedImageError:
        raise _not_an_image() from None
    except Exception as exc:
        raise ImageError(f"corrupt or truncated image: {exc}") from None


def image_info(data, fmt):
    """``(height, width, channels)`` of an encoded image, from its header
    only (no pixel is decoded).

    Examples
    --------
    >>> from cfilter.cli.imageio import image_info
    >>> png = bytes.fromhex("89504e470d0a1a0a0000000d49484452"
    ...                     "00000300000004000806000000")
    >>> image_info(png, "png")
    (1024, 768, 4)
    """
    if fmt == "png":
        return _png_info(data)
    if fmt == "jpg":
        return _jpeg_info(data)
    if fmt == "tif":
        return _tiff_info(data)
    return _pillow_info(data)


def decode(data, fmt):
    """Decode the bytes of an image file of format ``fmt`` into an array.

    Raises
    ------
    ImageError
        With the reason: not an image, corrupt or truncated data, a layout
        this tool does not handle.
    """
    if fmt == "tif":
        return _decode_tiff(data)
    if fmt == "jpg":
        _jpeg_complete(data)
    if fmt == "png" or (fmt == "jpg" and _jpeg_info(data)[2] in (1, 3)):
        import imagecodecs
        codec = imagecodecs.png_decode if fmt == "png" else \
            imagecodecs.jpeg8_decode
        try:
            arr = codec(data)
        except Exception as exc:   # imagecodecs' errors carry the reason
            raise ImageError(f"corrupt or truncated image: {exc}") from None
        return np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("="),
                                               copy=False))
    return _decode_pillow(data)


def read_image(path, max_pixels=MAX_PIXELS):
    """Decode the image file at ``path`` into an array.

    Parameters
    ----------
    path : str or Path
        A PNG, JPEG, TIFF, BMP, WebP or GIF file, by its extension.
    max_pixels : int, optional
        Refuse an image of more pixels (from its header, before decoding);
        0 or None for no limit.  Default :data:`MAX_PIXELS`.

    Returns
    -------
    ndarray
        ``(H, W)`` or ``(H, W, C)``, channels last, in the file's bit depth.

    Raises
    ------
    ImageError
        With the reason: unsupported extension, not a regular file, not an
        image, above the pixel limit, corrupt or truncated data, a layout
        this tool does not handle.
    OSError
        If the file cannot be opened (missing, no permission, a loop).
    """
    fmt = check_format(path)
    data, _ = read_file(path)
    check_pixels(image_info(data, fmt), max_pixels)
    return decode(data, fmt)


def check_format(path):
    """The format of ``path`` by extension; ImageError if none."""
    fmt = format_of(path)
    if fmt is None:
        raise ImageError(f"unsupported file type "
                         f"{Path(path).suffix or '(none)'!r}; supported: "
                         f"{', '.join(_all_extensions())}")
    return fmt


def check_pixels(info, max_pixels):
    """Raise ImageError if the image ``info`` (from :func:`image_info`) is
    above ``max_pixels`` (0 or None: no limit)."""
    height, width = info[0], info[1]
    if max_pixels and height * width > max_pixels:
        raise ImageError(f"image of {width} x {height} = {height * width} "
                         f"pixels is above the limit of {max_pixels} "
                         f"(--max-pixels N to raise it, 0 for none)")


def _all_extensions():
    return [e for exts in FORMATS.values() for e in exts]


def _decode_pillow(data):
    # Pillow refuses truncated data as long as ImageFile.LOAD_TRUNCATED_IMAGES
    # is off (its default, which the command line never changes)
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(io.BytesIO(data)) as im:
            frames = getattr(im, "n_frames", 1)
            if frames > 1:
                raise ImageError(f"animated {im.format} of {frames} frames; "
                                 f"only single images are supported")
            im.load()
            return _pillow_to_array(im)
    except UnidentifiedImageError:
        raise _not_an_image() from None
    except ImageError:
        raise
    except Exception as exc:       # Pillow's errors on bad data vary
        raise ImageError(f"corrupt or truncated image: {exc}") from None


def _pillow_to_array(im):
    mode = im.mode
    if mode == "1":
        return np.asarray(im, dtype=np.uint8) * np.uint8(255)
    if mode in ("P", "PA"):
        wants_alpha = mode == "PA" or "transparency" in im.info
        palette = im.getpalette() or []
        grey = all(palette[i] == palette[i + 1] == palette[i + 2]
                   for i in range(0, len(palette) - 2, 3))
        # a palette of greys (a grey GIF) stays grey
        im = im.convert(("LA" if wants_alpha else "L") if grey
                        else ("RGBA" if wants_alpha else "RGB"))
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
    if mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        raise ImageError(f"unsupported pixel mode {mode!r}")
    return arr


def _decode_tiff(data):
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            series = _tiff_series(tif)
            axes = series.axes
            arr = series.asarray()
    except ImageError:
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

    The same as :func:`encode_image` then :func:`write_bytes` (whose
    ``(size, mtime_ns)`` it returns).

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
    return write_bytes(path, encode_image(image, fmt))


def encode_image(image, fmt):
    """The bytes of ``image`` encoded as a file of format ``fmt``.

    Parameters
    ----------
    image : ndarray
        ``(H, W)`` or ``(H, W, C)`` with ``C`` in 2, 3, 4.
    fmt : str
        A key of :data:`FORMATS`.

    Raises
    ------
    ImageError
        If the format cannot store this image (see :func:`format_problem`).

    Examples
    --------
    >>> import numpy as np
    >>> from cfilter.cli.imageio import encode_image, decode
    >>> image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    >>> data = encode_image(image, "png")
    >>> data[:4], (decode(data, "png") == image).all()
    (b'\\x89PNG', np.True_)
    """
    image = np.asarray(image)
    channels = image.shape[2] if image.ndim == 3 else None
    if image.ndim not in (2, 3) or channels not in (None, 2, 3, 4):
        raise ImageError(f"cannot store an array of shape {image.shape} as "
                         f"an image")
    problem = format_problem(fmt, image.dtype, channels)
    if problem:
        raise ImageError(problem)
    return _ENCODERS[fmt](np.ascontiguousarray(image))


def write_bytes(path, data):
    """Write ``data`` as the file ``path``, atomically and durably.

    The bytes go into a new temporary file next to ``path``, are flushed to
    the disk (``fsync``), and only then is the file renamed over ``path``:
    whenever the process stops, ``path`` is either absent, the old file or
    the whole new one.  On an error (a full disk) the temporary file is
    removed and the error raised.

    Returns
    -------
    (int, int)
        The size and modification time (ns) of the file this call wrote,
        read from its temporary name before the rename (a rename keeps
        them), so they describe this call's file even if another process
        replaces ``path`` right after.
    """
    fd, tmp = _temp_file(Path(path).parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if _FSYNC:
                fh.flush()
                os.fsync(fh.fileno())
        # stat after close: the temporary name is this call's alone
        st = os.stat(tmp)
        os.replace(tmp, path)
        return st.st_size, st.st_mtime_ns
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _temp_file(folder):
    """A new, short-named temporary file in ``folder``: ``(fd, path)``.

    Created with mode 0o666, so the process umask applies as it does to any
    new file (no need to read the umask, which cannot be read without
    changing it)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL \
        | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = f".{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        path = os.path.join(folder, name)
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def _encode_png(image):
    import imagecodecs
    # zlib level 1, run-length strategy, Sub filter: OpenCV's fast settings
    return imagecodecs.png_encode(image, level=1, strategy=3, filter=16)


def _encode_jpeg(image):
    import imagecodecs
    return imagecodecs.jpeg8_encode(image, level=95, subsampling="444",
                                    optimize=False)


def _encode_bmp(image):
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="BMP")
    return buffer.getvalue()


def _encode_webp(image):
    from PIL import Image
    if image.ndim == 2:                  # WebP has no grey: three equal
        image = np.repeat(image[..., None], 3, axis=2)    # channels
    elif image.shape[2] == 2:
        image = image[..., [0, 0, 0, 1]]
    buffer = io.BytesIO()
    # lossless (bit-exact, as PNG), with the encoder's fastest effort
    Image.fromarray(image).save(buffer, format="WEBP", lossless=True,
                                quality=0, method=0, exact=True)
    return buffer.getvalue()


def _encode_tiff(image):
    import tifffile
    channels = image.shape[2] if image.ndim == 3 else None
    kwargs = {"photometric": "rgb" if channels in (3, 4) else "minisblack"}
    if channels is not None:
        kwargs["planarconfig"] = "contig"
    if channels in (2, 4):
        kwargs["extrasamples"] = ("unassalpha",)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, image, **kwargs)
    return buffer.getvalue()


_ENCODERS = {
    "png": _encode_png,
    "jpg": _encode_jpeg,
    "bmp": _encode_bmp,
    "tif": _encode_tiff,
    "webp": _encode_webp,
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
