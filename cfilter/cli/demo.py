"""``cfilter kernels``, ``cfilter demo`` and ``cfilter bench``."""
import inspect
from pathlib import Path

import numpy as np

import cfilter
from cfilter import _io, kernels

from .specs import ALIASES, cast, filter_image, load_step, split_alpha

__all__ = ["catalog_lines", "cmd_kernels", "cmd_demo", "cmd_bench"]


def catalog_lines():
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


def cmd_kernels(args):
    for line in catalog_lines():
        print(line)
    aliases = ", ".join(f"{a} = {n}" for a, n in ALIASES.items())
    print("\nUse as -f NAME[:key=value,...], e.g. -f gaussian:sigma=2 or "
          "-f box:size=3x5;\nor -f file:PATH for your own kernel (.npy, "
          ".txt or .csv).\n-f sobel, prewitt or scharr without axis= is the "
          "gradient magnitude (cfilter.sobel, ...);\nwith axis= it is the "
          f"signed derivative along that axis.  Aliases: {aliases}.")
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
        _io.write_image(path, image)
        written.append((path, "original"))
        for label, spec in _DEMO_FILTERS:
            if spec is None:
                out, spec = _sobel_magnitude(image), "cfilter.sobel magnitude"
            else:
                out = filter_image(image, [load_step(spec)])
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
    return 0


def cmd_bench(args):
    from cfilter import _bench
    _bench.run(args.size, args.quick, out=lambda text: print(text,
                                                              flush=True))
    return 0
