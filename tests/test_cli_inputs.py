"""``cfilter apply`` on damaged files, WebP and GIF, and what a run names:
the entries it does not read, the files it clips; ``cfilter kernels`` and
the named filters it lists; the process tuning kept to the program.

Inputs are made, and outputs read, with Pillow; Pillow is also the
reference for which files are damaged; pixels are checked against
scipy.ndimage.
"""
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import cfilter

_ENV = dict(os.environ)
_ENV["PYTHONPATH"] = os.pathsep.join(
    [str(Path(cfilter.__file__).resolve().parent.parent)]
    + [p for p in [os.environ.get("PYTHONPATH")] if p])
_ENV["CFILTER_NUM_THREADS"] = "1"


def run(*args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "cfilter", *map(str, args)],
                          cwd=cwd, env=_ENV, capture_output=True, text=True,
                          timeout=timeout)


def noise(shape, seed, high=255, dtype=np.uint8):
    return (np.random.default_rng(seed).random(shape) * high).astype(dtype)


def smooth(shape, seed):
    """A smooth uint8 image (JPEG keeps it well)."""
    small = np.random.default_rng(seed).random((4, 5) + shape[2:]) * 255
    zoom = (shape[0] / 4, shape[1] / 5) + (1,) * (len(shape) - 2)
    return np.clip(ndimage.zoom(small, zoom, order=1), 0, 255).astype(
        np.uint8)[:shape[0], :shape[1]]


def encoded(array, fmt, **options):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def load(path):
    with Image.open(path) as im:
        return np.asarray(im)


def pillow_refuses(data):
    """Pillow's verdict (LOAD_TRUNCATED_IMAGES off): True if it cannot
    load the file's pixels whole."""
    from PIL import ImageFile
    assert not ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception:
        return True
    return False


def counts(stdout):
    m = re.search(r"done (\d+), skipped (\d+), failed (\d+)", stdout)
    assert m, stdout
    return tuple(map(int, m.groups()))


def box3(image):
    """scipy's 3x3 mean (reflect) per channel, rounded into uint8."""
    size = (3, 3) + (1,) * (image.ndim - 2)
    out = ndimage.uniform_filter(image.astype(np.float64), size,
                                 mode="reflect")
    return np.clip(np.rint(out), 0, 255)


def assert_box3(got, image):
    diff = np.abs(got.astype(np.float64) - box3(image))
    assert diff.max() <= 1, diff.max()


def in_process(monkeypatch, capsys, cwd, *args):
    from cfilter.cli import main
    monkeypatch.chdir(cwd)
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---------------------------------------------------------------------------
# Damaged files
# ---------------------------------------------------------------------------

def _jpeg_cases():
    rgb = smooth((48, 64, 3), 1)
    plain = encoded(rgb, "JPEG", quality=90)
    progressive = encoded(rgb, "JPEG", quality=90, progressive=True)
    # an EXIF block holding end-of-image markers (a thumbnail has them)
    exif = encoded(rgb, "JPEG", quality=90,
                   exif=b"Exif\x00\x00" + b"\xff\xd8\xff\xd9" * 8)
    grey = encoded(rgb[..., 0], "JPEG", quality=90)
    return {"plain": plain, "progressive": progressive, "exif": exif,
            "grey": grey}


@pytest.mark.parametrize("kind", ["plain", "progressive", "exif", "grey"])
def test_jpeg_reader_refuses_exactly_what_pillow_refuses(kind):
    """Each JPEG cut at many lengths: cfilter's reader fails exactly when
    Pillow does, and a file it reads decodes as Pillow decodes it."""
    from cfilter.cli import imageio
    data = _jpeg_cases()[kind]
    cuts = sorted({len(data) - k for k in (1, 2, 3, 7, 50, 200)}
                  | set(range(400, len(data), max(len(data) // 25, 1))))
    cases = [(n, data[:n]) for n in cuts] + [
        (len(data), data), (-1, data + b"trailing bytes after the end")]
    for n, cut in cases:
        refused = pillow_refuses(cut)
        try:
            got = imageio.decode(cut, "jpg")
        except imageio.ImageError:
            assert refused, f"{kind}: {n} bytes refused, Pillow reads them"
            continue
        assert not refused, f"{kind}: {n} of {len(data)} bytes read, " \
                            f"Pillow refuses them"
        with Image.open(io.BytesIO(cut)) as im:
            want = np.asarray(im).astype(int)
        assert np.abs(got.astype(int) - want).max() <= 1


def _png_with_bad_crc(array):
    data = bytearray(encoded(array, "PNG"))
    at = data.find(b"IDAT")
    length = int.from_bytes(data[at - 4:at], "big")
    data[at + 4 + length] ^= 0xFF             # the chunk's CRC
    return bytes(data)


def test_damaged_files_fail_with_their_reason(tmp_path):
    good = smooth((40, 50, 3), 2)
    jpeg = encoded(good, "JPEG", quality=95)
    damaged = {
        "half.jpg": jpeg[:len(jpeg) // 2],
        "end_cut.jpg": jpeg[:-2],
        "crc.png": _png_with_bad_crc(good),
        "half.png": encoded(good, "PNG")[:300],
        "half.webp": encoded(good, "WEBP", lossless=True)[:200],
        "cut.gif": encoded(good[..., 0], "GIF")[:300],
        "half.bmp": encoded(good, "BMP")[:2000],
        "half.tif": encoded(good, "TIFF")[:3000],
    }
    for name, data in damaged.items():
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_bytes(data)
        # the reference: Pillow refuses to load each (a bad CRC: verify)
        if name == "crc.png":
            with pytest.raises(SyntaxError):
                with Image.open(io.BytesIO(data)) as im:
                    im.verify()
        else:
            assert pillow_refuses(data), name
    (tmp_path / "in" / "good.jpg").write_bytes(jpeg)
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert counts(proc.stdout) == (1, 0, len(damaged))
    for name in damaged:
        line = next((l for l in proc.stderr.splitlines()
                     if f"FAILED in/{name}:" in l), None)
        assert line is not None, (name, proc.stderr)
        assert re.search(r"truncated|corrupt|CRC|not a readable image",
                         line), line
    for name in ("half.jpg", "end_cut.jpg"):
        assert "truncated" in proc.stderr.split(f"in/{name}:")[1] \
            .splitlines()[0]
    written = sorted(p.name for p in (tmp_path / "out").iterdir()
                     if p.is_file())
    assert written == ["good.jpg"]


# ---------------------------------------------------------------------------
# WebP and GIF
# ---------------------------------------------------------------------------

def test_webp_and_gif_are_read(tmp_path):
    rgb = noise((30, 40, 3), 3)
    rgba = noise((30, 40, 4), 4)
    grey = noise((30, 40), 5)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "rgb.webp").write_bytes(
        encoded(rgb, "WEBP", lossless=True))
    (tmp_path / "in" / "rgba.webp").write_bytes(
        encoded(rgba, "WEBP", lossless=True, exact=True))
    (tmp_path / "in" / "grey.gif").write_bytes(encoded(grey, "GIF"))
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert counts(proc.stdout) == (3, 0, 0)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == \
        ["grey.png", "rgb.webp", "rgba.webp"]     # GIF is written as PNG
    # the inputs as Pillow decodes them are the reference's inputs
    assert_box3(load(out / "rgb.webp"), load(tmp_path / "in" / "rgb.webp"))
    src = load(tmp_path / "in" / "rgba.webp")
    got = load(out / "rgba.webp")
    assert_box3(got[..., :3], src[..., :3])
    np.testing.assert_array_equal(got[..., 3], src[..., 3])
    with Image.open(tmp_path / "in" / "grey.gif") as im:
        src = np.asarray(im.convert("L"))
    assert_box3(load(out / "grey.png"), src)


def test_webp_is_written_losslessly(tmp_path):
    grey = noise((20, 24), 6)
    (tmp_path / "a.png").write_bytes(encoded(grey, "PNG"))
    proc = run("apply", "a.png", "-o", "out", "--format", "webp",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = load(tmp_path / "out" / "a.webp")
    for c in range(3):                       # WebP has no grey
        np.testing.assert_array_equal(got[..., c], grey)


def test_gif_cannot_be_an_output_format(tmp_path):
    (tmp_path / "a.png").write_bytes(encoded(noise((8, 8), 0), "PNG"))
    proc = run("apply", "a.png", "-o", "out", "--format", "gif",
               cwd=tmp_path)
    assert proc.returncode == 2 and "invalid choice: 'gif'" in proc.stderr


def test_animated_gif_and_webp_are_refused_with_their_frame_count(
        tmp_path):
    frames = [Image.fromarray(noise((16, 18), i)) for i in range(3)]
    (tmp_path / "in").mkdir()
    for name, fmt in (("anim.gif", "GIF"), ("anim.webp", "WEBP")):
        buffer = io.BytesIO()
        frames[0].convert("RGB").save(buffer, format=fmt, save_all=True,
                                      append_images=[f.convert("RGB") for f
                                                     in frames[1:]])
        (tmp_path / "in" / name).write_bytes(buffer.getvalue())
        with Image.open(tmp_path / "in" / name) as im:   # the reference
            assert im.n_frames == 3
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 1
    assert "FAILED in/anim.gif: animated GIF of 3 frames" in proc.stderr
    assert "FAILED in/anim.webp: animated WEBP of 3 frames" in proc.stderr
    assert counts(proc.stdout) == (0, 0, 2)


# ---------------------------------------------------------------------------
# What a run names
# ---------------------------------------------------------------------------

def test_entries_not_read_are_named(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(encoded(noise((8, 8), 0), "PNG"))
    (folder / "sub" / "b.png").write_bytes(encoded(noise((8, 8), 1), "PNG"))
    others = [f"note{i:02d}.txt" for i in range(13)]
    for name in others:
        (folder / name).write_text("not an image")
    (folder / ".DS_Store").write_bytes(b"\0")
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    shown = ", ".join(f"in/{n}" for n in others[:10])
    assert f"ignored 13 file(s) in the input folders that are not images " \
           f"by extension: {shown} and 3 more" in lines
    assert "ignored 1 subfolder(s) of the input folders (-r descends into " \
           "them): in/sub" in lines
    assert "ignored 1 hidden file(s) or folder(s) (names starting with a " \
           "dot): in/.DS_Store" in lines
    proc = run("apply", "in", "-r", "-o", "out2", "-f", "box:size=3",
               cwd=tmp_path)
    assert counts(proc.stdout) == (2, 0, 0)
    assert "subfolder" not in proc.stdout


def test_clipping_notice_names_its_files(tmp_path):
    for i in range(12):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / f"e{i:02d}.png").write_bytes(
            encoded(noise((12, 14), i), "PNG"))
    (tmp_path / "in" / "flat.png").write_bytes(
        encoded(np.full((12, 14), 7, np.uint8), "PNG"))
    proc = run("apply", "in", "-o", "out", "-f", "sobel:axis=1",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    shown = ", ".join(f"out/e{i:02d}.png" for i in range(10))
    assert f"values clipped to the output range in 12 file(s): {shown} " \
           f"and 2 more; --abs or --rescale" in proc.stdout


# ---------------------------------------------------------------------------
# cfilter kernels and the named filters
# ---------------------------------------------------------------------------

#: Values for the parameters a name needs (no default).
_NEEDED = {"gaussian": "sigma=1.5", "log": "sigma=1.5", "box": "size=3",
           "motion_blur": "length=5", "unsharp_mask": "sigma=1.5"}


def _listed(stdout):
    """{name: [(parameter, shown default), ...]} from ``cfilter kernels``."""
    entries = {}
    for line in stdout.splitlines():
        m = re.match(r"(\w+)\s{2,}(.*?)\s{2,}\S", line)
        if not m:
            continue
        params = [p.split("=", 1) for p in m.group(2).split(", ")
                  if "=" in p]
        entries[m.group(1)] = params
    return entries


def test_kernels_shows_the_defaults_that_f_name_uses(tmp_path):
    """For each name listed, ``-f NAME`` and ``-f NAME:p=DEFAULT`` (each
    default as shown) filter alike."""
    from cfilter.cli import filter_image, load_step
    proc = run("kernels", cwd=tmp_path)
    assert proc.returncode == 0
    entries = _listed(proc.stdout)
    assert set(cfilter.kernels.names()) | {"unsharp_mask"} <= set(entries)
    image = noise((20, 22), 7, high=100, dtype=np.float32)
    checked = 0
    for name, params in entries.items():
        needed = _NEEDED.get(name)
        base = f"{name}:{needed}" if needed else name
        plain = filter_image(image, [load_step(base)])
        for key, shown in params:
            spec = f"{base}{',' if needed else ':'}{key}={shown}"
            np.testing.assert_array_equal(
                filter_image(image, [load_step(spec)]), plain,
                err_msg=f"-f {base} is not -f {spec}")
            checked += 1
    assert checked >= 10


def test_f_sobel_is_what_kernels_says(tmp_path):
    proc = run("kernels", cwd=tmp_path)
    for name in ("sobel", "prewitt", "scharr"):
        assert _listed(proc.stdout)[name] == [["axis", "None"]]
        line = next(l for l in proc.stdout.splitlines()
                    if l.startswith(name + " "))
        assert f"Gradient magnitude, as cfilter.{name}" in line


def test_unsharp_mask_is_a_named_filter(tmp_path):
    image = noise((24, 28, 3), 8, high=200, dtype=np.float32)
    import tifffile
    tifffile.imwrite(tmp_path / "a.tif", image, photometric="rgb")
    for stride in (1, 2):
        proc = run("apply", "a.tif", "-o", f"s{stride}", "-f",
                   "unsharp_mask:sigma=2,amount=1.5", "--stride", stride,
                   cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        x = image.astype(np.float64)
        blur = ndimage.gaussian_filter(x, (2, 2, 0), mode="reflect")
        want = (x + 1.5 * (x - blur))[::stride, ::stride]
        np.testing.assert_allclose(
            tifffile.imread(tmp_path / f"s{stride}" / "a.tif"), want,
            rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("spec, words", [
    ("unsharp_mask", ["missing required parameter(s) 'sigma'",
                      "sigma, amount, truncate"]),
    ("unsharp_mask:sigma=2,size=3", ["unknown parameter(s) 'size'"]),
    ("unsharp_mask:sigma=0", ["sigma=0 must be > 0"]),
    ("unsharp_mask:sigma=2,amount=strong", ["amount='strong'"]),
    ("unsharp_mask:sigma=5000", ["the kernel would be 40001 x 40001"]),
])
def test_unsharp_mask_bad_parameters_are_usage_errors(tmp_path, spec,
                                                      words):
    (tmp_path / "a.png").write_bytes(encoded(noise((8, 8), 0), "PNG"))
    proc = run("apply", "a.png", "-o", "out", "-f", spec, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------
# Process-wide tuning: the program only
# ---------------------------------------------------------------------------

class _FakeLibc:
    calls = []

    def __init__(self, name):
        pass

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return 1


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="the allocator is tuned on Linux (glibc) only")
def test_allocator_tuned_by_the_program_only(tmp_path, monkeypatch, capsys):
    import ctypes
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(encoded(noise((8, 8), 0), "PNG"))
    monkeypatch.setattr(ctypes, "CDLL", _FakeLibc)
    _FakeLibc.calls = []
    status, _, err = in_process(monkeypatch, capsys, tmp_path, "apply",
                                "in", "-o", "lib", "-f", "box:size=3")
    assert status == 0, err
    assert _FakeLibc.calls == []          # a library call: untouched
    from cfilter.cli import main
    monkeypatch.setattr(sys, "argv", ["cfilter", "apply", "in", "-o",
                                      "prog", "-f", "box:size=3"])
    assert main() == 0                    # the program: tuned
    assert (-1, 1 << 30) in _FakeLibc.calls      # M_TRIM_THRESHOLD
