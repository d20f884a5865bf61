"""``cfilter apply`` runs that meet each other or a changed world: two runs
on one output folder, a killed run's lock, a kernel file rewritten between
two runs in one process or on a long-lived Dask cluster, resume records of
other formats, and every field of the recipe flipped in turn.

Inputs are written, and outputs read, with Pillow and numpy; the record is
read with :mod:`sqlite3`; pixels are checked against scipy.ndimage.
"""
import json
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
from PIL import Image
from scipy import ndimage

import cfilter

_ENV = dict(os.environ)
_ENV["PYTHONPATH"] = os.pathsep.join(
    [str(Path(cfilter.__file__).resolve().parent.parent)]
    + [p for p in [os.environ.get("PYTHONPATH")] if p])
_ENV["CFILTER_NUM_THREADS"] = "1"


def command(*args):
    return [sys.executable, "-m", "cfilter", *map(str, args)]


def run(*args, cwd, timeout=120):
    return subprocess.run(command(*args), cwd=cwd, env=_ENV,
                          capture_output=True, text=True, timeout=timeout)


def noise(shape, seed, high=255, dtype=np.uint8):
    return (np.random.default_rng(seed).random(shape) * high).astype(dtype)


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def load(path):
    with Image.open(path) as im:
        return np.asarray(im)


def counts(stdout):
    m = re.search(r"done (\d+), skipped (\d+), failed (\d+)", stdout)
    assert m, stdout
    return tuple(map(int, m.groups()))


def gaussian_u8(image, sigma):
    """scipy's Gaussian (truncate 4, reflect) rounded into uint8."""
    out = ndimage.gaussian_filter(image.astype(np.float64), sigma,
                                  mode="reflect", truncate=4.0)
    return np.clip(np.rint(out), 0, 255)


def assert_gaussian(got, image, sigma):
    """Within one grey level of scipy (float32 sums against float64)."""
    diff = np.abs(got.astype(np.float64) - gaussian_u8(image, sigma))
    assert diff.max() <= 1, diff.max()


def record_rows(outdir):
    with sqlite3.connect(Path(outdir) / ".cfilter" / "record.sqlite3") as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        rows = db.execute("SELECT dst, state, recipe FROM outputs").fetchall()
    return version, rows


def in_process(monkeypatch, capsys, cwd, *args):
    """``cfilter.cli.main(args)`` in ``cwd``: (status, stdout, stderr); a
    usage error's SystemExit gives its code."""
    from cfilter.cli import main
    monkeypatch.chdir(cwd)
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---------------------------------------------------------------------------
# One run per output folder
# ---------------------------------------------------------------------------

def _folder_of_pngs(root, n, shape=(48, 64)):
    images = {f"img{i:02d}.png": noise(shape, i) for i in range(n)}
    for name, image in images.items():
        save(root / "in" / name, image)
    return images


def _start(root, *args):
    return subprocess.Popen(command(*args), cwd=root, env=_ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_until_running(proc, outdir, timeout=60):
    """Wait until ``proc`` holds the output folder: its pid in the lock
    file (or, were there no lock, its first output); False if it ended
    first."""
    lock = outdir / ".cfilter" / "lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if lock.read_text().strip() == str(proc.pid):
                return True
        except OSError:
            pass
        if outdir.is_dir() and any(p.suffix == ".png"
                                   for p in outdir.iterdir()):
            return True
        time.sleep(0.002)
    return False


def test_second_run_on_a_busy_folder_exits_2_naming_the_first(tmp_path):
    """The first run is stopped (SIGSTOP) while it holds the folder; a
    second run with another chain must not write there: exit 2, one line
    naming the first run's pid.  The first then finishes alone, and a run
    with the second chain afterwards redoes every output."""
    images = _folder_of_pngs(tmp_path, 6)
    out = tmp_path / "out"
    first = _start(tmp_path, "apply", "in", "-o", "out", "-f",
                   "gaussian:sigma=2")
    try:
        assert _wait_until_running(first, out)
        first.send_signal(signal.SIGSTOP)
        before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()
                  if p.suffix == ".png"}
        second = run("apply", "in", "-o", "out", "-f", "gaussian:sigma=4",
                     cwd=tmp_path, timeout=60)
        after = {p.name: p.stat().st_mtime_ns for p in out.iterdir()
                 if p.suffix == ".png"}
    finally:
        first.send_signal(signal.SIGCONT)
    stdout, stderr = first.communicate(timeout=120)
    assert second.returncode == 2, second.stdout + second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert f"another cfilter apply run (pid {first.pid}) is writing there" \
        in lines[0] and "--wait" in lines[0]
    assert after == before                # the second run wrote nothing
    assert first.returncode == 0, stderr
    assert counts(stdout) == (6, 0, 0)
    for name, image in images.items():
        assert_gaussian(load(out / name), image, 2)

    proc = run("apply", "in", "-o", "out", "-f", "gaussian:sigma=4",
               cwd=tmp_path)
    assert proc.returncode == 0 and counts(proc.stdout) == (6, 0, 0)
    assert "redone 6 stale" in proc.stdout
    for name, image in images.items():
        assert_gaussian(load(out / name), image, 4)


def test_wait_option_runs_after_the_first(tmp_path):
    images = _folder_of_pngs(tmp_path, 4)
    out = tmp_path / "out"
    first = _start(tmp_path, "apply", "in", "-o", "out", "-f",
                   "gaussian:sigma=2")
    second = None
    try:
        assert _wait_until_running(first, out)
        first.send_signal(signal.SIGSTOP)
        second = _start(tmp_path, "apply", "in", "-o", "out", "-f",
                        "gaussian:sigma=4", "--wait")
        time.sleep(1.5)
        assert second.poll() is None          # waiting, not writing
    finally:
        first.send_signal(signal.SIGCONT)
    first_out, first_err = first.communicate(timeout=120)
    second_out, second_err = second.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert f"waiting for the cfilter apply run (pid {first.pid})" in \
        second_err
    assert counts(first_out) == (4, 0, 0)
    assert counts(second_out) == (4, 0, 0)    # all redone after the first
    assert "redone 4 stale" in second_out
    for name, image in images.items():
        assert_gaussian(load(out / name), image, 4)


def test_lock_of_a_killed_run_does_not_block_the_next(tmp_path):
    images = _folder_of_pngs(tmp_path, 6)
    out = tmp_path / "out"
    first = _start(tmp_path, "apply", "in", "-o", "out", "-f",
                   "gaussian:sigma=2")
    assert _wait_until_running(first, out)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    lock = out / ".cfilter" / "lock"
    if lock.exists():                 # the file stays behind, with its pid
        assert lock.read_text().strip() in ("", str(first.pid))
    proc = run("apply", "in", "-o", "out", "-f", "gaussian:sigma=2",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    done, skipped, failed = counts(proc.stdout)
    assert done + skipped == 6 and failed == 0
    for name, image in images.items():
        assert_gaussian(load(out / name), image, 2)


def test_two_runs_at_once_leave_no_output_of_the_wrong_filter(tmp_path):
    """Two runs started together on the same folder (sigma 2 and 4), then a
    run with sigma 4: every output must hold sigma-4 pixels, whatever the
    first two did (one refused, or one after the other).  A stress check,
    beside the deterministic ones above: without the lock it fails about
    every other time (outputs of sigma 2 skipped as sigma 4's)."""
    images = _folder_of_pngs(tmp_path, 40, shape=(120, 160))
    runs = [_start(tmp_path, "apply", "in", "-o", "out", "-f",
                   f"gaussian:sigma={s}", "--jobs", "2") for s in (2, 4)]
    codes = []
    for proc in runs:
        proc.communicate(timeout=120)
        codes.append(proc.returncode)
    assert sorted(codes) in ([0, 0], [0, 2]), codes
    proc = run("apply", "in", "-o", "out", "-f", "gaussian:sigma=4",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name, image in images.items():
        assert_gaussian(load(tmp_path / "out" / name), image, 4)


def test_record_keeps_the_file_this_run_wrote(tmp_path, monkeypatch, capsys):
    """Another writer replaces an output just after this run renamed it
    into place: the record must describe the file this run wrote, so the
    next run sees a file it did not make (left alone and reported), never
    one to skip as if it were this run's."""
    from cfilter.cli import imageio
    image = noise((20, 24), 1)
    save(tmp_path / "in" / "a.png", image)
    intruder = noise((30, 30), 2)
    real = imageio.write_bytes

    def write_then_replaced(path, data):
        stat = real(path, data)
        time.sleep(0.01)                      # a later modification time
        save(Path(path), intruder)            # another writer's file
        return stat

    monkeypatch.setattr(imageio, "write_bytes", write_then_replaced)
    status, out, err = in_process(monkeypatch, capsys, tmp_path, "apply",
                                  "in", "-o", "out", "-f", "box:size=3")
    assert status == 0, err
    monkeypatch.setattr(imageio, "write_bytes", real)
    status, out, err = in_process(monkeypatch, capsys, tmp_path, "apply",
                                  "in", "-o", "out", "-f", "box:size=3")
    assert counts(out) == (0, 0, 0), out        # not skipped
    assert "left alone 1" in out and status == 1
    np.testing.assert_array_equal(load(tmp_path / "out" / "a.png"), intruder)


# ---------------------------------------------------------------------------
# file: kernels, read once by the driver
# ---------------------------------------------------------------------------

K1 = np.array([[0.0, 1, 0], [1, 2, 1], [0, 1, 0]]) / 6
K2 = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]) / 4 + 1 / 9


def _write_csv(path, weights):
    path.write_text("\n".join(", ".join(repr(float(v)) for v in row)
                              for row in np.atleast_2d(weights)) + "\n")


def _correlated(image, weights):
    """scipy.ndimage.correlate (reflect) of a float32 image, in float64."""
    return ndimage.correlate(image.astype(np.float64),
                             np.atleast_2d(weights), mode="reflect")


def _save_tif(path, array):
    import tifffile
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, array)


def _load_tif(path):
    import tifffile
    return tifffile.imread(path)


def test_kernel_file_changed_between_two_runs_in_one_process(
        tmp_path, monkeypatch, capsys):
    image = noise((22, 26), 3, high=100, dtype=np.float32)
    _save_tif(tmp_path / "in" / "a.tif", image)
    kernel = tmp_path / "k.csv"
    for weights, expect in ((K1, (1, 0, 0)), (K2, (1, 0, 0)),
                            (K2, (0, 1, 0))):
        _write_csv(kernel, weights)
        status, out, err = in_process(monkeypatch, capsys, tmp_path,
                                      "apply", "in", "-o", "out", "-f",
                                      "file:k.csv", "--jobs", "2")
        assert status == 0, err
        assert counts(out) == expect, out
        np.testing.assert_allclose(_load_tif(tmp_path / "out" / "a.tif"),
                                   _correlated(image, weights), rtol=1e-5,
                                   atol=1e-4)


def test_kernel_file_on_a_long_lived_cluster(tmp_path):
    """A relative ``file:`` path, on Dask workers whose working folder is
    not the command's, and a kernel rewritten between two runs on the same
    cluster: the workers get the weights the command read."""
    distributed = pytest.importorskip("distributed")
    image = noise((22, 26), 4, high=100, dtype=np.float32)
    _save_tif(tmp_path / "in" / "a.tif", image)
    kernel = tmp_path / "k.csv"
    assert Path.cwd() != tmp_path
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1,
                                  processes=False, protocol="tcp",
                                  host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        for weights in (K1, K2):
            _write_csv(kernel, weights)
            proc = run("apply", "in", "-o", "out", "-f", "file:k.csv",
                       "--scheduler", cluster.scheduler_address,
                       cwd=tmp_path, timeout=120)
            assert proc.returncode == 0, proc.stderr
            assert counts(proc.stdout) == (1, 0, 0)
            np.testing.assert_allclose(
                _load_tif(tmp_path / "out" / "a.tif"),
                _correlated(image, weights), rtol=1e-5, atol=1e-4)


# ---------------------------------------------------------------------------
# The record's format
# ---------------------------------------------------------------------------

def _one_run(tmp_path, *extra):
    save(tmp_path / "in" / "a.png", noise((12, 14), 0))
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", *extra,
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "out" / ".cfilter" / "record.sqlite3"


def _assert_refused(proc, *words):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_record_of_an_unknown_older_layout_is_refused(tmp_path):
    out = tmp_path / "out"
    (out / ".cfilter").mkdir(parents=True)
    with sqlite3.connect(out / ".cfilter" / "record.sqlite3") as db:
        db.execute("CREATE TABLE outputs (dst TEXT PRIMARY KEY, src TEXT, "
                   "recipe TEXT, state TEXT)")
        db.execute("INSERT INTO outputs VALUES ('a.png', '/x/a.png', '{}', "
                   "'done')")
    marker = noise((5, 5), 9)
    save(out / "a.png", marker)
    save(tmp_path / "in" / "a.png", noise((12, 14), 0))
    for extra in ([], ["--dry-run"]):
        proc = run("apply", "in", "-o", "out", "-f", "box:size=3", *extra,
                   cwd=tmp_path)
        _assert_refused(proc, "resume record", "not one this cfilter knows")
    np.testing.assert_array_equal(load(out / "a.png"), marker)


def test_record_of_a_newer_format_is_refused(tmp_path):
    path = _one_run(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    for extra in ([], ["--dry-run"]):
        proc = run("apply", "in", "-o", "out", "-f", "box:size=3", *extra,
                   cwd=tmp_path)
        _assert_refused(proc, "format 99", "newer cfilter")


def test_record_of_the_unnumbered_first_format_is_upgraded(tmp_path):
    """The first format (user_version 0, the mode written as str() of an
    enum) is upgraded in place: its outputs stay cfilter's (redone, not
    left alone), and the record says the current format after."""
    path = _one_run(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 0")
        (text,) = db.execute("SELECT recipe FROM outputs").fetchone()
        recipe = json.loads(text)
        recipe["mode"] = "BoundaryMode.REFLECT"
        db.execute("UPDATE outputs SET recipe = ?", (json.dumps(recipe),))
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert counts(proc.stdout) == (1, 0, 0)
    assert "redone 1 stale" in proc.stdout
    version, rows = record_rows(tmp_path / "out")
    assert version == 2 and rows[0][1] == "done"
    proc = run("apply", "in", "-o", "out", "-f", "box:size=3", cwd=tmp_path)
    assert counts(proc.stdout) == (0, 1, 0)


@pytest.mark.parametrize("given, name", [("mirror", "mirror"),
                                         ("reflect101", "mirror"),
                                         ("symmetric", "reflect"),
                                         ("wrap", "wrap")])
def test_record_stores_the_mode_by_name(tmp_path, given, name):
    _one_run(tmp_path, "--mode", given)
    version, rows = record_rows(tmp_path / "out")
    assert version == 2
    assert json.loads(rows[0][2])["mode"] == name


# ---------------------------------------------------------------------------
# Every field of the recipe
# ---------------------------------------------------------------------------

SIGNED = [[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]
BASE = ["-f", "gaussian:sigma=1", "-f", "file:k.csv"]


def _as_9x1(path):
    path.write_text("\n".join(repr(v) for row in SIGNED for v in row) + "\n")


def _other_weights(path):
    _write_csv(path, np.array(SIGNED) * 2)


#: (recipe field, what the row flips, options of the second run, change
#: made to the world before it, redone?)
RECIPE_TABLE = [
    ("chain", "a parameter's value",
     ["-f", "gaussian:sigma=2", "-f", "file:k.csv"], None, True),
    ("chain", "an added parameter",
     ["-f", "gaussian:sigma=1,truncate=2", "-f", "file:k.csv"], None, True),
    ("chain", "the order of the steps",
     ["-f", "file:k.csv", "-f", "gaussian:sigma=1"], None, True),
    ("chain", "an added step", BASE + ["-f", "box:size=3"], None, True),
    ("chain", "a removed step", ["-f", "file:k.csv"], None, True),
    ("chain", "a file: kernel's weights", BASE, _other_weights, True),
    ("chain", "a file: kernel's shape, same numbers", BASE, _as_9x1, True),
    ("mode", "the boundary mode", BASE + ["--mode", "wrap"], None, True),
    ("stride", "the stride", BASE + ["--stride", "2"], None, True),
    ("dtype", "the output dtype", BASE + ["--dtype", "uint16"], None, True),
    ("abs", "--abs", BASE + ["--abs"], None, True),
    ("rescale", "--rescale", BASE + ["--rescale"], None, True),
    ("format", "--format", BASE + ["--format", "png"], None, True),
    ("version", "the cfilter version", BASE, "version", True),
    (None, "nothing", BASE, None, False),
    (None, "a mode alias of the same mode", BASE + ["--mode", "symmetric"],
     None, False),
    (None, "options that change no pixel",
     BASE + ["--jobs", "2", "--quiet", "--max-pixels", "0"], None, False),
]


def test_recipe_table_flips_every_field():
    """A field added to the recipe needs a row here."""
    from cfilter.cli.main import _parsers, _recipe
    from cfilter.cli.specs import resolve
    args = _parsers()[1].parse_intermixed_args(["in", "-o", "out", "-f",
                                                "box:size=3"])
    fields = set(_recipe(args, "reflect", [resolve("box:size=3")]))
    assert fields == {row[0] for row in RECIPE_TABLE if row[0]}


@pytest.mark.parametrize("field, what, options, change, redone",
                         RECIPE_TABLE, ids=[row[1] for row in RECIPE_TABLE])
def test_resume_redoes_what_the_recipe_changes(tmp_path, monkeypatch, capsys,
                                               field, what, options, change,
                                               redone):
    """Run, flip one thing, run again: the output is redone exactly when a
    field of the recipe changed, and then equals what a run into an empty
    folder writes."""
    image = noise((24, 30), 5)
    save(tmp_path / "in" / "a.png", image)
    _write_csv(tmp_path / "k.csv", SIGNED)
    status, out, err = in_process(monkeypatch, capsys, tmp_path, "apply",
                                  "in", "-o", "out", *BASE)
    assert status == 0 and counts(out) == (1, 0, 0), err
    if change == "version":
        monkeypatch.setattr(cfilter, "__version__",
                            cfilter.__version__ + ".post1")
    elif change is not None:
        change(tmp_path / "k.csv")
    status, out, err = in_process(monkeypatch, capsys, tmp_path, "apply",
                                  "in", "-o", "out", *options)
    assert status == 0, err
    if not redone:
        assert counts(out) == (0, 1, 0), out
        return
    assert counts(out) == (1, 0, 0), out
    assert "redone 1 stale" in out
    status, out, err = in_process(monkeypatch, capsys, tmp_path, "apply",
                                  "in", "-o", "fresh", *options)
    assert status == 0, err
    assert (tmp_path / "out" / "a.png").read_bytes() == \
        (tmp_path / "fresh" / "a.png").read_bytes()
