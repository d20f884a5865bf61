"""End-to-end tests of ``cfilter apply`` on what goes wrong: re-runs after a
change, hostile inputs and bad options, signed responses into integer
outputs.  Every run is the ``cfilter`` command in a subprocess, on files the
test makes; references are scipy.ndimage, OpenCV's and Pillow's codecs.
"""
import os
import re
import resource
import stat
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from scipy import ndimage

import cfilter
from cfilter import kernels

_ENV = dict(os.environ)
_ENV["PYTHONPATH"] = os.pathsep.join(
    [str(Path(cfilter.__file__).resolve().parent.parent)]
    + [p for p in [os.environ.get("PYTHONPATH")] if p])
_ENV["CFILTER_NUM_THREADS"] = "1"


def run(*args, cwd, timeout=60):
    return subprocess.run([sys.executable, "-m", "cfilter", *map(str, args)],
                          cwd=cwd, env=_ENV, capture_output=True, text=True,
                          timeout=timeout)


def noise(shape, seed, high=255, dtype=np.uint8):
    return (np.random.default_rng(seed).random(shape) * high).astype(dtype)


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".tif":
        tifffile.imwrite(path, array)
    else:
        Image.fromarray(array).save(path)


def load(path):
    if path.suffix == ".tif":
        return tifffile.imread(path)
    with Image.open(path) as im:
        return np.asarray(im)


def regular_files(folder):
    """{relative path: bytes} of the regular files under ``folder`` (FIFOs
    and symlinks are listed with their kind, never opened)."""
    found = {}
    for path in sorted(Path(folder).rglob("*")):
        mode = path.lstat().st_mode
        rel = str(path.relative_to(folder))
        if stat.S_ISREG(mode):
            found[rel] = path.read_bytes()
        elif not stat.S_ISDIR(mode):
            found[rel] = stat.S_IFMT(mode)
    return found


def outputs(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*")
                  if p.is_file() and ".cfilter" not in
                  p.relative_to(folder).parts)


def counts(stdout):
    m = re.search(r"done (\d+), skipped (\d+), failed (\d+)", stdout)
    return tuple(map(int, m.groups()))


def box3(image):
    """The 3x3 mean into uint8, through scipy (rounded half to even)."""
    out = ndimage.uniform_filter(image.astype(np.float64), 3, mode="reflect")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# 1. Safe resume
# ---------------------------------------------------------------------------

def test_resume_redoes_outputs_of_another_chain(tmp_path):
    images = {f"{c}.png": noise((24, 30), i) for i, c in enumerate("ab")}
    for name, image in images.items():
        save(tmp_path / "in" / name, image)
    before = regular_files(tmp_path / "in")
    proc = run("apply", "in", "-o", "out", "-f", "gaussian:sigma=2",
               cwd=tmp_path)
    assert proc.returncode == 0 and counts(proc.stdout) == (2, 0, 0)

    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert counts(proc.stdout) == (2, 0, 0)
    assert "redone 2 stale output(s)" in proc.stdout
    for name, image in images.items():
        got = load(tmp_path / "out" / name)
        assert np.abs(got.astype(int) - box3(image)).max() <= 1
        np.testing.assert_array_equal(got, cfilter.box_blur(
            image, 3, output=np.uint8))

    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 0 and counts(proc.stdout) == (0, 2, 0)
    assert "files/s" not in proc.stdout          # nothing done, no rate
    assert regular_files(tmp_path / "in") == before


def test_resume_redoes_a_changed_input_and_skips_a_touched_one(tmp_path):
    a, b = noise((20, 22), 1), noise((20, 22), 2)
    save(tmp_path / "in" / "a.png", a)
    save(tmp_path / "in" / "b.png", b)
    assert run("apply", "in", "-o", "out", "-f", "box:size=3",
               cwd=tmp_path).returncode == 0
    changed = noise((20, 22), 3)
    save(tmp_path / "in" / "a.png", changed)          # new content
    st = os.stat(tmp_path / "in" / "b.png")           # same bytes, new time
    os.utime(tmp_path / "in" / "b.png",
             ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert counts(proc.stdout) == (1, 1, 0)
    assert "redone 1 stale" in proc.stdout
    assert np.abs(load(tmp_path / "out" / "a.png").astype(int)
                  - box3(changed)).max() <= 1
    assert np.abs(load(tmp_path / "out" / "b.png").astype(int)
                  - box3(b)).max() <= 1


def test_dry_run_reads_the_record(tmp_path):
    save(tmp_path / "in" / "a.png", noise((8, 8), 0))
    run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    proc = run("apply", "in", "-o", "out", "-f", "box:size=5", "--dry-run",
               cwd=tmp_path)
    assert proc.returncode == 0
    assert "write (stale) in/a.png -> out/a.png" in proc.stdout


# ---------------------------------------------------------------------------
# 2. Hostile inputs
# ---------------------------------------------------------------------------

def huge_tiff(path, side=60000):
    """A 64-pixel TIFF whose header says ``side`` x ``side``: a few hundred
    bytes that would decode to gigabytes."""
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8))
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        spots = [(tags[n].valueoffset, tags[n].dtype)
                 for n in ("ImageWidth", "ImageLength")]
    with open(path, "r+b") as fh:
        for offset, dtype in spots:
            fh.seek(offset)
            fh.write(struct.pack("<H" if int(dtype) == 3 else "<I", side))


def test_hostile_inputs_fail_one_by_one(tmp_path):
    good = {"good.png": noise((16, 18), 0),
            "sub/also.png": noise((16, 18, 3), 1)}
    for name, image in good.items():
        save(tmp_path / "in" / name, image)
    os.symlink("loop.png", tmp_path / "in" / "loop.png")       # a loop
    os.mkfifo(tmp_path / "in" / "fifo.png")                    # never fed
    huge_tiff(tmp_path / "in" / "huge.tif")
    before = regular_files(tmp_path / "in")

    proc = run("apply", "in", "-r", "-o", "out", "-f", "box:size=3",
               "--jobs", "2", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert "Traceback" not in err
    assert "in/loop.png: too many levels of symbolic links" in err
    assert "in/fifo.png: not a regular file: a FIFO" in err
    assert re.search(r"in/huge.tif: image of 60000 x 60000 = 3600000000 "
                     r"pixels is above the limit of 89478485", err)
    assert counts(proc.stdout) == (2, 0, 3)
    assert outputs(tmp_path / "out") == sorted(good)
    for name, image in good.items():
        np.testing.assert_array_equal(
            load(tmp_path / "out" / name),
            cfilter.box_blur(image, 3, channel_axis=-1 if image.ndim == 3
                             else None, output=np.uint8))
    assert regular_files(tmp_path / "in") == before


def test_pixel_limit_option(tmp_path):
    save(tmp_path / "in" / "a.png", noise((10, 20), 0))
    save(tmp_path / "in" / "b.jpg", noise((30, 20, 3), 1))
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3",
               "--max-pixels", "300", cwd=tmp_path)
    assert proc.returncode == 1
    assert "in/b.jpg: image of 20 x 30 = 600 pixels is above the limit " \
           "of 300" in proc.stderr
    assert outputs(tmp_path / "out") == ["a.png"]
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3",
               "--max-pixels", "0", cwd=tmp_path)
    assert proc.returncode == 0 and outputs(tmp_path / "out") == \
        ["a.png", "b.jpg"]


def test_glob_with_dotdot_writes_inside_outdir_only(tmp_path):
    save(tmp_path / "in" / "x" / "a.png", noise((8, 8), 0))
    save(tmp_path / "other" / "o.png", noise((8, 8), 1))
    before = regular_files(tmp_path)
    proc = run("apply", "in/*/../../other/*.png", "-o", "out", "-f",
               "box:size=3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    after = regular_files(tmp_path)
    new = sorted(k for k in after if k not in before)
    assert all(k.startswith("out" + os.sep) for k in new), new
    assert outputs(tmp_path / "out") == ["o.png"]
    assert {k: v for k, v in after.items() if k in before} == before


def test_unlistable_subfolder_is_reported(tmp_path):
    save(tmp_path / "in" / "a.png", noise((8, 8), 0))
    save(tmp_path / "in" / "locked" / "b.png", noise((8, 8), 1))
    locked = tmp_path / "in" / "locked"
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: chmod 000 does not block reads "
                        "(test_unlistable_folder_simulated covers it)")
        proc = run("apply", "in", "-r", "-o", "out", "-f", "box:size=3",
                   cwd=tmp_path)
    finally:
        locked.chmod(0o755)
    assert proc.returncode == 1
    assert "locked: cannot list this folder: permission denied" in proc.stderr
    assert outputs(tmp_path / "out") == ["a.png"]


def test_unlistable_folder_simulated(tmp_path, monkeypatch, capsys):
    """As root chmod 000 blocks nothing, so the refusal is simulated where
    the discovery lists folders (os.scandir, which os.walk uses), and the
    command is run in this process."""
    from cfilter.cli import main
    save(tmp_path / "in" / "a.png", noise((8, 8), 0))
    save(tmp_path / "in" / "locked" / "b.png", noise((8, 8), 1))
    real = os.scandir

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "scandir", scandir)
    status = main(["apply", "in", "-r", "-o", "out", "-f", "box:size=3"])
    captured = capsys.readouterr()
    assert status == 1
    assert "cfilter: FAILED in/locked: cannot list this folder: permission " \
           "denied" in captured.err
    assert counts(captured.out) == (1, 0, 1)
    monkeypatch.setattr(os, "scandir", real)
    assert outputs(tmp_path / "out") == ["a.png"]


_USAGE = [
    (["-f", "box:size=99999999999"], "-f 'box:size=99999999999': the kernel "
                                     "would be 99999999999 x 99999999999"),
    (["--stride", str(2 ** 62)], "--stride: stride=4611686018427387904"),
    (["--stride", str(2 ** 40)], "--stride: stride=1099511627776 must be"),
    (["-o", "in/a.png/sub"], "-o in/a.png/sub: cannot write there"),
]
_USAGE_IN_PROCESS = [
    (["-f", "motion_blur:length=5000"], "at most 4194304 weights"),
    (["--stride", "0"], "--stride: stride=0 must be >= 1"),
    (["--jobs", "0"], "--jobs: jobs=0 must be >= 1"),
    (["--max-pixels", "-1"], "--max-pixels: max_pixels=-1 must be >= 0"),
    (["--mode", "reflec"], "--mode: mode='reflec' is not a boundary mode"),
    (["-o", "in/a.png"], "-o in/a.png: exists and is not a folder"),
]


@pytest.mark.parametrize("options, named", _USAGE)
def test_usage_errors_are_one_line(tmp_path, options, named):
    save(tmp_path / "in" / "a.png", noise((8, 8), 0))
    before = regular_files(tmp_path)
    args = ["apply", "in/a.png", "-o", "out", "-f", "box:size=3", *options]
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], proc.stderr
    assert regular_files(tmp_path) == before       # nothing written


@pytest.mark.parametrize("options, named", _USAGE_IN_PROCESS)
def test_more_usage_errors_in_process(tmp_path, monkeypatch, capsys, options,
                                      named):
    """The same checks through cfilter.cli.main, without a process each."""
    from cfilter.cli import main
    save(tmp_path / "in" / "a.png", noise((8, 8), 0))
    before = regular_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["apply", "in/a.png", "-o", "out", "-f", "box:size=3",
              *options])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], lines
    assert regular_files(tmp_path) == before


def test_missing_input_folder_is_a_usage_error(tmp_path):
    proc = run("apply", "no_such_folder", "-o", "out", "-f", "box:size=3",
               cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "cfilter apply: error: no input exists: no_such_folder"]
    assert not (tmp_path / "out").exists()


def test_240_byte_file_name(tmp_path):
    name = "n" * 236 + ".png"
    image = noise((12, 14), 0)
    save(tmp_path / "in" / name, image)
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert outputs(tmp_path / "out") == [name]
    np.testing.assert_array_equal(load(tmp_path / "out" / name),
                                  cfilter.box_blur(image, 3, output=np.uint8))


def _file_size_limit(limit):
    """For ``preexec_fn``: writes beyond ``limit`` bytes fail (EFBIG), as
    writes fail on a full disk."""
    def set_limit():
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # fail, not kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return set_limit


def test_a_failing_write_fails_that_file_only(tmp_path):
    """An output the disk refuses (here: above a file-size limit, as on a
    full disk) fails that file, in the background writer; the others are
    written and recorded, no temporary file is left, and a re-run redoes
    only the failed one."""
    small = {name: noise((30, 40), i) for i, name in
             enumerate(["a.tif", "c.tif", "d.tif"])}
    big = noise((400, 500, 3), 9)          # 600 kB as an uncompressed TIFF
    for name, image in small.items():
        save(tmp_path / "in" / name, image)
    save(tmp_path / "in" / "b.tif", big)
    before = regular_files(tmp_path / "in")
    args = [sys.executable, "-m", "cfilter", "apply", "in", "-o", "out",
            "-f", "box:size=3", "--jobs", "2"]
    proc = subprocess.run(args, cwd=tmp_path, env=_ENV, capture_output=True,
                          text=True, timeout=60,
                          preexec_fn=_file_size_limit(300_000))
    assert proc.returncode == 1, proc.stderr
    assert counts(proc.stdout) == (3, 0, 1)
    assert re.search(r"FAILED in/b\.tif: file too large", proc.stderr), \
        proc.stderr
    assert outputs(tmp_path / "out") == sorted(small)      # no temp file
    for name, image in small.items():
        np.testing.assert_array_equal(load(tmp_path / "out" / name),
                                      box3(image))
    assert regular_files(tmp_path / "in") == before

    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert counts(proc.stdout) == (1, 3, 0)
    expected = np.stack([box3(big[..., c]) for c in range(3)], axis=-1)
    np.testing.assert_array_equal(load(tmp_path / "out" / "b.tif"), expected)


def test_wide_gaussian_runs_as_1d_passes(tmp_path):
    """sigma=2000 on 64x80: as a 2-D kernel it would be 16001**2 float64
    (2 GB); as 1-D passes the whole run stays small."""
    image = noise((64, 80), 0)
    save(tmp_path / "a.png", image)
    proc = run("apply", "a.png", "-o", "out", "-f", "gaussian:sigma=2000",
               "--dtype", "float32", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib < 1_000_000, peak_kib
    expected = ndimage.gaussian_filter(image.astype(np.float64), 2000)
    np.testing.assert_allclose(load(tmp_path / "out" / "a.tif"), expected,
                               rtol=0, atol=1e-5 * 255 * 16)


# ---------------------------------------------------------------------------
# 3. Meaning and mapping
# ---------------------------------------------------------------------------

def test_sobel_is_the_gradient_magnitude(tmp_path):
    image = noise((20, 24), 0, high=1000, dtype=np.float32)
    save(tmp_path / "a.tif", image)
    proc = run("apply", "a.tif", "-o", "out", "-f", "sobel", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    x = image.astype(np.float64)
    expected = np.hypot(ndimage.sobel(x, 0), ndimage.sobel(x, 1))
    np.testing.assert_allclose(load(tmp_path / "out" / "a.tif"), expected,
                               rtol=1e-5, atol=1e-3)


def test_signed_response_into_uint8_abs_rescale_and_clipping(tmp_path):
    image = noise((20, 24), 1)
    save(tmp_path / "a.png", image)
    signed = ndimage.sobel(image.astype(np.float64), 1)

    proc = run("apply", "a.png", "-o", "plain", "-f", "sobel:axis=1",
               cwd=tmp_path)
    assert proc.returncode == 0
    assert "values clipped to the output range in 1 file(s)" in proc.stdout
    np.testing.assert_array_equal(load(tmp_path / "plain" / "a.png"),
                                  np.clip(np.rint(signed), 0, 255))

    proc = run("apply", "a.png", "-o", "abs", "-f", "sobel:axis=1", "--abs",
               cwd=tmp_path)
    assert proc.returncode == 0
    np.testing.assert_array_equal(load(tmp_path / "abs" / "a.png"),
                                  np.clip(np.rint(np.abs(signed)), 0, 255))

    proc = run("apply", "a.png", "-o", "scaled", "-f", "sobel:axis=1",
               "--rescale", cwd=tmp_path)
    assert proc.returncode == 0 and "clipped" not in proc.stdout
    low, high = signed.min(), signed.max()
    expected = np.rint((signed - low) * (255 / (high - low)))
    got = load(tmp_path / "scaled" / "a.png")
    assert got.min() == 0 and got.max() == 255
    assert np.abs(got.astype(float) - expected).max() <= 1


@pytest.mark.parametrize("name", ["laplace", "laplacian"])
def test_laplace_and_laplacian_are_one_filter(tmp_path, name):
    image = noise((16, 18), 2, high=100, dtype=np.float32)
    save(tmp_path / "a.tif", image)
    proc = run("apply", "a.tif", "-o", "out", "-f", name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(load(tmp_path / "out" / "a.tif"),
                               ndimage.laplace(image.astype(np.float64)),
                               rtol=1e-5, atol=1e-4)


def test_plain_conversion_and_16bit_colour_png(tmp_path):
    cv2 = pytest.importorskip("cv2")
    rgb16 = noise((18, 20, 3), 3, high=65535, dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), rgb16[..., ::-1])
    before = regular_files(tmp_path)
    proc = run("apply", "deep.png", "-o", "out", cwd=tmp_path)   # no -f
    assert proc.returncode == 0, proc.stderr
    back = cv2.imread(str(tmp_path / "out" / "deep.png"),
                      cv2.IMREAD_UNCHANGED)[..., ::-1]
    np.testing.assert_array_equal(back, rgb16)
    proc = run("apply", "deep.png", "-o", "tif", "--format", "tif",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "tif" /
                                                  "deep.tif"), rgb16)
    assert {k: v for k, v in regular_files(tmp_path).items()
            if k in before} == before


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp"])
def test_codecs_agree_with_opencv(tmp_path, ext):
    """Lossless formats round-trip bit for bit; a JPEG decodes as OpenCV
    decodes it (both libjpeg-turbo), seen through a lossless PNG output."""
    cv2 = pytest.importorskip("cv2")
    image = noise((21, 23, 3), 4)
    cv2.imwrite(str(tmp_path / f"a{ext}"), image[..., ::-1])
    proc = run("apply", f"a{ext}", "-o", "out", "-f", "identity",
               "--format", "png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = cv2.imread(str(tmp_path / "out" / "a.png"))[..., ::-1]
    if ext == ".jpg":
        image = cv2.imread(str(tmp_path / f"a{ext}"))[..., ::-1]
        assert np.abs(got.astype(int) - image).max() <= 1
    else:
        np.testing.assert_array_equal(got, image)


def test_kernels_lists_the_aliases(tmp_path):
    proc = run("kernels", cwd=tmp_path)
    assert proc.returncode == 0
    assert "laplace = laplacian" in proc.stdout
    assert "gradient magnitude" in proc.stdout
    assert set(kernels.names()) <= {line.split()[0] for line in
                                    proc.stdout.splitlines() if line.strip()}


# ---------------------------------------------------------------------------
# Batches on a Dask distributed cluster
# ---------------------------------------------------------------------------

def _dask_batch(root):
    images = {"a.png": noise((20, 24), 0), "sub/b.png": noise((20, 24, 3), 1),
              "c.tif": noise((16, 18), 2, high=9, dtype=np.float32)}
    for name, image in images.items():
        save(root / "in" / name, image)
    (root / "in" / "bad.png").write_bytes(b"not a png at all")
    return images


def _check_dask_outputs(root, images, proc):
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "FAILED in/bad.png: not a readable image" in proc.stderr
    assert counts(proc.stdout) == (3, 0, 1)
    assert outputs(root / "out") == sorted(images)
    for name, image in images.items():
        x = image.astype(np.float64)
        sigma = (1, 1, 0) if image.ndim == 3 else 1
        expected = ndimage.gaussian_filter(x, sigma, mode="reflect")
        got = load(root / "out" / name)
        if image.dtype == np.uint8:
            assert np.abs(got.astype(float) - expected).max() <= 0.5 + 1e-3
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_batch_on_a_running_cluster_resumes_like_a_local_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    images = _dask_batch(tmp_path)
    before = regular_files(tmp_path / "in")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2,
                                  processes=False, protocol="tcp",
                                  host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        args = ["apply", "in", "-r", "-o", "out", "-f", "gaussian:sigma=1",
                "--scheduler", cluster.scheduler_address]
        proc = run(*args, cwd=tmp_path, timeout=120)
        _check_dask_outputs(tmp_path, images, proc)
        # the driver kept the record: a second run skips all three
        proc = run(*args, cwd=tmp_path, timeout=120)
        assert counts(proc.stdout) == (0, 3, 1)
    assert regular_files(tmp_path / "in") == before


def test_batch_on_a_local_cluster(tmp_path):
    pytest.importorskip("distributed")
    images = _dask_batch(tmp_path)
    proc = run("apply", "in", "-r", "-o", "out", "-f", "gaussian:sigma=1",
               "--cluster", "local:2", cwd=tmp_path, timeout=180)
    _check_dask_outputs(tmp_path, images, proc)
    assert "summed over 2 Dask worker thread(s)" in proc.stdout


def test_unreachable_scheduler_is_a_usage_error(tmp_path):
    pytest.importorskip("distributed")
    save(tmp_path / "in" / "a.png", noise((8, 8), 0))
    env = dict(_ENV, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")
    proc = subprocess.run([sys.executable, "-m", "cfilter", "apply", "in",
                           "-o", "out", "-f", "box:size=3", "--scheduler",
                           "tcp://127.0.0.1:9"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--scheduler tcp://127.0.0.1:9: cannot " \
        "start or reach the cluster" in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_memory_gate_holds_jobs_together_under_the_budget():
    """--jobs N: a job waits while the images in flight hold too much; one
    larger than the whole budget runs alone."""
    import threading
    from cfilter.cli.runner import MemoryGate
    gate = MemoryGate(100)
    gate.acquire(60)
    entered = threading.Event()

    def second():
        gate.acquire(60)          # 60 + 60 > 100: waits for the release
        entered.set()
        gate.release(60)

    worker = threading.Thread(target=second)
    worker.start()
    assert not entered.wait(0.2)
    gate.release(60)
    assert entered.wait(5)
    worker.join()
    gate.acquire(500)             # alone: runs although above the budget
    assert gate.used == 500
    gate.release(500)
