"""End-to-end tests of the ``cfilter`` command line, run as a subprocess.

Input files are written, and outputs decoded, with Pillow and tifffile
directly (not with cfilter's own I/O), and every output is compared with the
Python API applied to the same decoded input.
"""
import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import cfilter
from cfilter import kernels

# The subprocess imports the same cfilter as this test process.
_ENV = dict(os.environ)
_ENV["PYTHONPATH"] = os.pathsep.join(
    [str(Path(cfilter.__file__).resolve().parent.parent)]
    + [p for p in [os.environ.get("PYTHONPATH")] if p])
_ENV["CFILTER_NUM_THREADS"] = "1"

CHAIN = ["gaussian:sigma=1.5", "sharpen:amount=0.5"]


def run(*args, cwd, timeout=120):
    """``python -m cfilter ARGS`` in ``cwd``; the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "cfilter", *map(str, args)],
                          cwd=cwd, env=_ENV, capture_output=True, text=True,
                          timeout=timeout)


# ---------------------------------------------------------------------------
# Independent file I/O and the API reference
# ---------------------------------------------------------------------------

def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".tif", ".tiff"):
        tifffile.imwrite(path, array)
    else:
        Image.fromarray(array).save(path)


def load(path):
    if path.suffix in (".tif", ".tiff"):
        return tifffile.imread(path)
    with Image.open(path) as im:
        arr = np.asarray(im)
    return arr.astype(np.uint16) if arr.dtype.kind in "iu" and \
        arr.dtype.itemsize > 1 else arr


def api_result(image, specs, *, dtype=None, stride=1, mode="reflect"):
    """The chain through cfilter.correlate: colour channels filtered, alpha
    (the last of 2 or 4 channels) copied."""
    dtype = np.dtype(dtype or image.dtype)
    alpha = None
    if image.ndim == 3 and image.shape[-1] == 4:
        image, alpha = image[..., :3], image[..., 3]
    axis = -1 if image.ndim == 3 else None
    out = image
    for i, spec in enumerate(specs):
        last = i == len(specs) - 1
        out = cfilter.correlate(out, kernels.get(spec), mode=mode,
                                channel_axis=axis,
                                stride=stride if last else 1,
                                output=dtype if last else None)
    if alpha is not None:
        out = np.dstack([out, alpha[::stride, ::stride].astype(dtype)])
    return out


def assert_same_as_api(got, expected, *, lossy=False):
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    if lossy:      # JPEG: within the error of quality 95, 4:4:4 chroma
        diff = np.abs(got.astype(float) - expected.astype(float))
        assert diff.mean() < 1.0 and diff.max() <= 12, (diff.mean(),
                                                        diff.max())
    elif got.dtype.kind in "iu":     # lossless integers: bit for bit
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-6,
                                   atol=1e-6 * float(np.abs(expected).max()))


def smooth(shape, seed, high=255.0):
    """A smooth random image (low frequencies only), in [0, high]."""
    rng = np.random.default_rng(seed)
    small = rng.random((6, 8) + shape[2:])
    rows = np.linspace(0, 5, shape[0])
    cols = np.linspace(0, 7, shape[1])
    r0 = np.clip(rows.astype(int), 0, 4)
    c0 = np.clip(cols.astype(int), 0, 6)
    fr = (rows - r0)[:, None]
    fc = (cols - c0)[None, :]
    if small.ndim == 3:
        fr, fc = fr[..., None], fc[..., None]
    top = small[r0][:, c0] * (1 - fc) + small[r0][:, c0 + 1] * fc
    bottom = small[r0 + 1][:, c0] * (1 - fc) + small[r0 + 1][:, c0 + 1] * fc
    return (top * (1 - fr) + bottom * fr) * high


def tree_hash(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes())
            .hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def image_files(folder):
    """The files under ``folder``, except the resume record."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and ".cfilter" not in
                  p.relative_to(folder).parts)


# ---------------------------------------------------------------------------
# A folder with every format
# ---------------------------------------------------------------------------

H, W = 40, 52


def make_inputs(root):
    rng = np.random.default_rng(7)
    images = {
        "grey8.png": (rng.random((H, W)) * 255).astype(np.uint8),
        "grey16.png": (rng.random((H, W)) * 65535).astype(np.uint16),
        "rgb.png": (rng.random((H, W, 3)) * 255).astype(np.uint8),
        "rgba.png": (rng.random((H, W, 4)) * 255).astype(np.uint8),
        "photo.jpg": smooth((H, W, 3), 1).astype(np.uint8),
        "float.tif": (rng.standard_normal((H, W)) * 3).astype(np.float32),
        "paint.bmp": (rng.random((H, W, 3)) * 255).astype(np.uint8),
        "sub/deeper/nested.png": (rng.random((H, W)) * 255).astype(np.uint8),
    }
    for name, array in images.items():
        save(root / name, array)
    (root / "corrupt.png").write_bytes(b"\x89PNG but not really" * 20)
    (root / "notes.txt").write_text("not an image\n")
    return list(images)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One run over the folder with every format, plus a non-image file and
    a missing path given explicitly."""
    root = tmp_path_factory.mktemp("batch")
    names = make_inputs(root / "in")
    before = tree_hash(root / "in")
    args = ["apply", "in", "-r", "-o", "out", "in/notes.txt",
            "no/such/file.png"]
    for spec in CHAIN:
        args += ["-f", spec]
    proc = run(*args, cwd=root)
    return root, names, before, proc


def test_batch_exit_code_and_failures_reported(batch):
    root, names, _, proc = batch
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert "corrupt.png" in err and "not a readable image" in err
    assert "notes.txt" in err and "unsupported file type '.txt'" in err
    assert "no/such/file.png" in err and "no such file" in err
    assert f"done {len(names)}, skipped 0, failed 3" in proc.stdout


def test_batch_progress_and_stage_times(batch):
    """Without a terminal: one numbered line per file on stderr (failures
    too), then the summary with the time of each stage."""
    root, names, _, proc = batch
    total = len(names) + 2                # corrupt.png and notes.txt too
    lines = proc.stderr.splitlines()
    numbers = sorted(int(m.group(1)) for line in lines
                     if (m := re.search(rf"\[(\d+)/{total}\] ", line)))
    assert numbers == list(range(1, total + 1)), proc.stderr
    for name in names:
        assert f"] wrote out{os.sep}{Path(name)}" in proc.stderr
    assert re.search(r"cfilter: \[\d+/\d+\] FAILED in/corrupt.png",
                     proc.stderr)
    assert re.search(r"\nin [\d.]+ s \([\d.]+ files/s\); decode [\d.]+ s, "
                     r"filter [\d.]+ s, encode [\d.]+ s, write [\d.]+ s "
                     r"\(summed over 1 job\(s\)\)\n", proc.stdout), proc.stdout


def test_progress_bar_on_a_terminal(tmp_path):
    """With stderr a terminal, a progress bar (tqdm) counts the files."""
    import fcntl
    import pty
    import struct
    import termios
    for i in range(3):
        save(tmp_path / "in" / f"{i}.png", np.full((6, 7), i, np.uint8))
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ,          # 24 x 80, not 0 x 0
                struct.pack("HHHH", 24, 80, 0, 0))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "cfilter", "apply", "in", "-o", "out",
             "-f", "box:size=3", "--jobs", "2"], cwd=tmp_path, env=_ENV,
            stdout=subprocess.PIPE, stderr=follower, timeout=120)
        os.close(follower)
        follower = None
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:               # the terminal closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    assert b"3/3" in shown and b"file" in shown and b"wrote" not in shown
    assert proc.stdout.startswith(b"done 3, skipped 0, failed 0")


def test_batch_keeps_folder_structure(batch):
    root, names, _, _ = batch
    assert image_files(root / "out") == sorted(names)


@pytest.mark.parametrize("name", ["grey8.png", "grey16.png", "rgb.png",
                                  "rgba.png", "photo.jpg", "float.tif",
                                  "paint.bmp", "sub/deeper/nested.png"])
def test_batch_output_equals_api(batch, name):
    root = batch[0]
    image = load(root / "in" / name)
    got = load(root / "out" / name)
    assert_same_as_api(got, api_result(image, CHAIN),
                       lossy=name.endswith(".jpg"))


def test_batch_rgba_alpha_copied(batch):
    root = batch[0]
    src = load(root / "in" / "rgba.png")
    got = load(root / "out" / "rgba.png")
    np.testing.assert_array_equal(got[..., 3], src[..., 3])


def test_batch_inputs_unchanged(batch):
    root, _, before, _ = batch
    assert tree_hash(root / "in") == before


def test_foreign_output_left_alone_then_overwritten(tmp_path):
    image = (np.random.default_rng(3).random((30, 30)) * 255).astype(np.uint8)
    save(tmp_path / "in" / "a.png", image)
    save(tmp_path / "in" / "b.png", image[::-1])
    assert run("apply", "in", "-o", "out", "-f", "box:size=3",
               cwd=tmp_path).returncode == 0
    marker = np.zeros((5, 5), np.uint8)
    save(tmp_path / "out" / "a.png", marker)       # not made by cfilter

    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 1
    assert "done 0, skipped 1, failed 0; left alone 1" in proc.stdout
    assert "out/a.png: not made by cfilter" in proc.stderr
    np.testing.assert_array_equal(load(tmp_path / "out" / "a.png"), marker)

    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", "--overwrite",
               cwd=tmp_path)
    assert proc.returncode == 0
    assert "done 2, skipped 0, failed 0" in proc.stdout
    assert_same_as_api(load(tmp_path / "out" / "a.png"),
                       api_result(image, ["box:size=3"]))


@pytest.mark.parametrize("spec, named", [
    ("gaussian:sigma=2,size=3", ["'size'", "sigma, truncate, radius"]),
    ("gausian:sigma=2", ["'gausian'", "box, emboss, gaussian"]),
    ("box:size=-1", ["size=-1", ">= 1"]),
    ("file:missing_kernel.csv", ["missing_kernel.csv", "cannot read"]),
])
def test_bad_spec_exit_2_before_any_file(tmp_path, spec, named):
    save(tmp_path / "in" / "a.png", np.zeros((8, 8), np.uint8))
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", "-f", spec,
               cwd=tmp_path)
    assert proc.returncode == 2
    for text in named:
        assert text in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("options, named", [
    (["--mode", "reflec"], ["reflec", "reflect, mirror, nearest"]),
    (["--stride", "0"], ["stride=0"]),
    (["--format", "png", "--dtype", "float32"], ["png cannot store float32"]),
    (["--format", "jpg", "--dtype", "uint16"], ["jpg cannot store uint16"]),
])
def test_bad_option_exit_2_before_any_file(tmp_path, options, named):
    save(tmp_path / "in" / "a.png", np.zeros((8, 8), np.uint8))
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", *options,
               cwd=tmp_path)
    assert proc.returncode == 2
    for text in named:
        assert text in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_refuses_to_write_over_an_input(tmp_path):
    save(tmp_path / "in" / "a.png", np.zeros((8, 8), np.uint8))
    before = tree_hash(tmp_path / "in")
    proc = run("apply", "in", "-o", "in", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 2
    assert "would overwrite the input" in proc.stderr
    assert tree_hash(tmp_path / "in") == before


def test_dry_run_writes_nothing(tmp_path):
    save(tmp_path / "in" / "a.png", np.zeros((8, 8), np.uint8))
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", "--dry-run",
               cwd=tmp_path)
    assert proc.returncode == 0
    assert "in/a.png -> out/a.png" in proc.stdout.replace(os.sep, "/")
    assert not (tmp_path / "out").exists()


def test_glob_stride_dtype_format(tmp_path):
    rgba = (np.random.default_rng(5).random((31, 40, 4)) * 255).astype(
        np.uint8)
    save(tmp_path / "in" / "x" / "a.png", rgba)
    proc = run("apply", "in/**/*.png", "-r", "-o", "out", "-f",
               "gaussian:sigma=1", "--stride", "2", "--dtype", "float32",
               "--jobs", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = load(tmp_path / "out" / "x" / "a.tif")     # float32 -> TIFF
    assert got.dtype == np.float32 and got.shape == (16, 20, 4)
    assert_same_as_api(got, api_result(rgba, ["gaussian:sigma=1"],
                                       dtype=np.float32, stride=2))


def test_dtype_uint8_from_16bit_saturates_and_png_format(tmp_path):
    image = np.linspace(0, 60000, 20 * 24).reshape(20, 24).astype(np.uint16)
    save(tmp_path / "a.tif", image)
    proc = run("apply", "a.tif", "-o", "out", "-f", "identity",
               "--dtype", "uint8", "--format", "png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = load(tmp_path / "out" / "a.png")
    np.testing.assert_array_equal(got, np.clip(image, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("ext, text", [
    (".csv", "1, 0, -1\n2, 0, -2\n1, 0, -1\n"),
    (".txt", "# a Sobel kernel\n1 0 -1\n2 0 -2\n1 0 -1\n"),
    (".npy", None),
])
def test_kernel_from_file(tmp_path, ext, text):
    weights = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    path = tmp_path / f"k{ext}"
    if text is None:
        np.save(path, weights)
    else:
        path.write_text(text)
    image = (np.random.default_rng(2).random((20, 24)) * 1000).astype(
        np.float32)
    save(tmp_path / "a.tif", image)
    proc = run("apply", "a.tif", "-o", "out", "-f", f"file:{path.name}",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    expected = cfilter.correlate(image, weights, output=np.float32)
    assert_same_as_api(load(tmp_path / "out" / "a.tif"), expected)


def test_killed_batch_resumes_with_every_file_whole(tmp_path):
    base = smooth((160, 200, 3), 0)
    n = 30
    for i in range(n):
        noise = np.random.default_rng(i).random(base.shape) * 40
        save(tmp_path / "in" / f"img{i:02d}.png",
             np.clip(base + noise, 0, 255).astype(np.uint8))
    chain = ["gaussian:sigma=2"] * 3
    args = ["apply", "in", "-o", "out", "--jobs", "2"]
    for spec in chain:
        args += ["-f", spec]
    proc = subprocess.Popen([sys.executable, "-m", "cfilter", *args],
                            cwd=tmp_path, env=_ENV,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    out = tmp_path / "out"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.is_dir() and any(p.suffix == ".png" for p in out.iterdir()):
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = [p for p in out.iterdir() if p.suffix == ".png"]
    assert 0 < len(finished) < n, "the kill did not land mid-run"
    for path in finished:                      # no partial final file
        load(path)

    with sqlite3.connect(out / ".cfilter" / "record.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        recorded = db.execute("SELECT count(*) FROM outputs WHERE state = "
                              "'done'").fetchone()[0]
    assert recorded <= len(finished)

    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # outputs recorded as finished are skipped; those renamed into place
    # just before the kill, but not yet recorded, are redone
    done, skipped = map(int, re.match(r"done (\d+), skipped (\d+)",
                                      proc.stdout).groups())
    assert skipped == recorded and done + skipped == n
    assert sorted(p.name for p in out.iterdir()) == [".cfilter"] + \
        sorted(f"img{i:02d}.png" for i in range(n))        # no temp files
    for i in range(n):
        name = f"img{i:02d}.png"
        assert_same_as_api(load(out / name),
                           api_result(load(tmp_path / "in" / name), chain))


def test_stale_temp_files_of_dead_writers_removed(tmp_path):
    save(tmp_path / "in" / "a.png", np.zeros((8, 8), np.uint8))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = os.getpid()              # this test process: still running
    (tmp_path / "out").mkdir()
    stale = tmp_path / "out" / f".a.png.{dead.pid}.k3j_x9.cfilter-tmp"
    other = tmp_path / "out" / f".b.png.{live}.zz81qa.cfilter-tmp"
    stale.write_bytes(b"half a PNG")
    other.write_bytes(b"being written by a live process")
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists() and other.exists()
    assert (tmp_path / "out" / "a.png").exists()


# ---------------------------------------------------------------------------
# kernels, demo, bench, help
# ---------------------------------------------------------------------------

def test_kernels_lists_every_name(tmp_path):
    proc = run("kernels", cwd=tmp_path)
    assert proc.returncode == 0
    firsts = [line.split()[0] for line in proc.stdout.splitlines()
              if line.strip()]
    for name in kernels.names():
        assert name in firsts
    assert "sigma, truncate=4.0, radius=None" in proc.stdout


def test_demo_writes_images_and_contact_sheet(tmp_path):
    proc = run("demo", "-o", "demo_out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    files = sorted((tmp_path / "demo_out").iterdir())
    names = [p.name for p in files]
    assert "contact_sheet.png" in names
    for label in ("gaussian", "sobel", "sharpen", "emboss", "motion_blur",
                  "box"):
        assert f"camera_{label}.png" in names
        assert f"astronaut_{label}.png" in names
    for path in files:
        assert str(Path("demo_out") / path.name) in proc.stdout
        assert load(path).size > 0
    assert load(tmp_path / "demo_out" / "contact_sheet.png").shape[2] == 3


def test_bench_quick_runs(tmp_path):
    proc = run("bench", "--quick", "--size", "256", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "cfilter ms" in proc.stdout and "gaussian sigma 3" in proc.stdout


@pytest.mark.parametrize("command", ["apply", "kernels", "demo", "bench"])
def test_help_shows_examples(command, capsys):
    from cfilter.cli import main
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"cfilter {command}" in out


def test_python_m_cfilter_version(tmp_path):
    proc = run("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("cfilter ")
