"""``cfilter kernels``, ``cfilter demo`` and ``cfilter bench``."""
import inspect
from pathlib import Path

import numpy as np

import cfilter
from cfilter import kernels

from . import imageio

from .specs import (ALIASES, NAMED, cast, filter_image, load_step,
                    split_alpha)

__all__ = ["catalog_lines", "cmd_kernels", "cmd_demo", "cmd_bench"]

#: Catalog entries that ``-f NAME`` runs as a named filter of cfilter: the
#: default shown for ``axis`` is the one ``-f NAME`` really uses.
_GRADIENT_AXIS = ("sobel", "prewitt", "scharr")


def _summary(func):
    return (inspect.getdoc(func) or "").splitlines()[0].rstrip(".") \
        .replace("``", "")


def _parameters(func, only=None):
    params = []
    for p in inspect.signature(func).parameters.values():
        if only is not None and p.name not in only:
            continue
        params.append(p.name if p.default is inspect.Parameter.empty
                      else f"{p.name}={p.default!r}")
    return params


def catalog_lines():
    """One line per ``-f`` name: name, parameters with the defaults that
    ``-f NAME`` uses, what it does.

    The catalog's kernels, plus the named filters of :data:`specs.NAMED`;
    ``sobel``/``prewitt``/``scharr`` show ``axis=None``, the gradient
    magnitude, which is what ``-f sobel`` computes."""
    rows = []
    for name in kernels.names():
        func = getattr(kernels, name)
        params, summary = _parameters(func), _summary(func)
        if name in _GRADIENT_AXIS:
            params = ["axis=None"]
            summary = (f"Gradient magnitude, as cfilter.{name}; axis=0 or "
                       f"1: {summary}")
        rows.append((name, ", ".join(params) or "-", summary))
    for name, valid in NAMED.items():
        func = getattr(cfilter, name)
        rows.append((name, ", ".join(_parameters(func, valid)),
                     f"{_summary(func)} (cfilter.{name})"))
    rows.sort()
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]


def cmd_kernels(args):
    for line in catalog_lines():
        print(line)
    aliases = ", ".join(f"{a} = {n}" for a, n in ALIASES.items())
    print("\nUse as -f NAME[:key=value,...], e.g. -f gaussian:sigma=2 or "
          "-f box:size=3x5;\nor -f file:PATH for your own kernel (.npy, "
          ".txt or .csv).\n-f sobel, prewitt or scharr without axis= (or "
          "with axis=None) is the\ngradient magnitude (cfilter.sobel, ...); "
          "with axis=0 or 1 it is the signed\nderivative along that axis.  "
          f"Aliases: {aliases}.")
    return 0


#: (label, spec) of the demo, left to right; the Sobel magnitude is scaled
#: for display.
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
    colour, _ = split_alpha(image)
    axis = -1 if colour.ndim == 3 else None
    mag = cfilter.sobel(colour.astype(np.float32), channel_axis=axis)
    if mag.ndim == 3:
        mag = mag.max(axis=-1)
    top = float(np.percentile(mag, 99.5)) or 1.0   # a few edges saturate
    mag *= 255.0 / top
    return cast(mag, np.uint8)


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


def cmd_demo(args):
    outdir = Path(args.output)
    outdir.mkdir(parents=True, exist_ok=True)
    rows, written = [], []
    for name, image in _demo_images():
        row = [("original", image)]
        path = outdir / f"{name}.png"
        imageio.write_image(path, image)
        written.append((path, "original"))
        for label, spec in _DEMO_FILTERS:
            if spec is None:
                out, spec = _sobel_magnitude(image), "cfilter.sobel magnitude"
            else:
                out = filter_image(image, [load_step(spec)])
            path = outdir / f"{name}_{label}.png"
            imageio.write_image(path, out)
            written.append((path, spec))
            row.append((label, out))
        rows.append(row)
    sheet = outdir / "contact_sheet.png"
    imageio.write_image(sheet, _contact_sheet(rows))
    written.append((sheet, "all of the above, one row per image"))
    width = max(len(str(p)) for p, _ in written)
    for path, what in written:
        print(f"{str(path):<{width}}  {what}")
    print(f"wrote {len(written)} files into {outdir}")
    return 0


def cmd_bench(args):
    import sys
    from cfilter import _bench
    _bench.run(args.size, args.quick,
               out=lambda text: print(text, flush=True),
               warn=lambda text: print(text, file=sys.stderr, flush=True))
    return 0
