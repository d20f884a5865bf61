"""
A batch with the command line
=============================

The ``cfilter`` command filters folders of image files without writing any
Python (:doc:`/cli`). This example makes a small folder of test images,
runs the command on it, and prints what the command printed; the commands
and their output below are those of a real run, made while the
documentation was built. In a shell, type the commands after the ``$``
(``cfilter`` is installed with the package; ``python -m cfilter`` is the
same program).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import skimage.data
import skimage.io

workdir = tempfile.mkdtemp(prefix="cfilter-batch-")


def cfilter_cmd(*args, width=79):
    """Run ``cfilter ARGS`` in the work folder and print what it prints,
    its long lines folded to ``width`` columns to fit the page."""
    print("$ cfilter " + " ".join(shlex.quote(a) for a in args))
    run = subprocess.run([sys.executable, "-m", "cfilter", *args],
                         cwd=workdir, capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "79"})
    output = (run.stdout + run.stderr).rstrip()
    if output:
        print(output if width is None else fold(output, width))
    print(f"[exit status {run.returncode}]\n")
    return run


def fold(text, width):
    """Fold each line longer than ``width``: a table row (columns apart by
    two spaces or more) after its first two columns, indenting the rest
    under its third; any other line after a word, indented by four."""
    lines = []
    for line in text.splitlines():
        if len(line) <= width:
            lines.append(line)
            continue
        columns = re.match(r"(\S+ +)(.*?  +)(.*)", line)
        if not columns:
            lines += textwrap.wrap(line, width, subsequent_indent="    ",
                                   break_on_hyphens=False)
            continue
        head, rest = columns.group(1) + columns.group(2), columns.group(3)
        if len(head) > width - 30:          # a long parameter list: wrap it
            lines.append(head.rstrip())
            head = " " * len(columns.group(1))
        lines += textwrap.wrap(rest, width, initial_indent=head,
                               subsequent_indent=" " * len(head))
    return "\n".join(lines)


# %%
# Some images to filter
# ---------------------
#
# Three of scikit-image's test images, saved as PNG: a grey one, a colour
# one, and a grey one in a sub-folder.

os.makedirs(os.path.join(workdir, "photos", "more"))
skimage.io.imsave(os.path.join(workdir, "photos", "camera.png"),
                  skimage.data.camera()[::2, ::2])
skimage.io.imsave(os.path.join(workdir, "photos", "astronaut.png"),
                  skimage.data.astronaut()[::2, ::2])
skimage.io.imsave(os.path.join(workdir, "photos", "more", "coins.png"),
                  skimage.data.coins())
for root, _, files in sorted(os.walk(os.path.join(workdir, "photos"))):
    for name in sorted(files):
        path = os.path.join(root, name)
        print(os.path.relpath(path, workdir), skimage.io.imread(path).shape)

# %%
# The filters it knows
# --------------------
#
# One line per name: its parameters with their defaults, and what it does
# (here and below, long lines are folded to fit the page; a terminal shows
# each on one line).

run = cfilter_cmd("kernels")
assert run.returncode == 0

# %%
# A dry run, then the batch
# -------------------------
#
# ``--dry-run`` says what would be written and writes nothing. The real run
# chains a Gaussian blur and a sharpening, descends into sub-folders
# (``-r``), and keeps each file's type: 8-bit in, 8-bit out, colour
# channels filtered one by one.

cfilter_cmd("apply", "photos", "-r", "-o", "out", "-f", "gaussian:sigma=2",
            "-f", "sharpen:amount=1", "--dry-run")
run = cfilter_cmd("apply", "photos", "-r", "-o", "out", "-f",
                  "gaussian:sigma=2", "-f", "sharpen:amount=1", "--quiet")
assert run.returncode == 0

# %%
# Run again, and the outputs already made from the same, unchanged inputs
# with the same filters are skipped, so a stopped batch resumes where it
# stopped. The record of what was made lives in ``out/.cfilter/``:

run = cfilter_cmd("apply", "photos", "-r", "-o", "out", "-f",
                  "gaussian:sigma=2", "-f", "sharpen:amount=1", "--quiet")
assert run.returncode == 0
print(sorted(os.listdir(os.path.join(workdir, "out"))))

# %%
# Change the chain, and the outputs made by the old one are redone:

run = cfilter_cmd("apply", "photos", "-r", "-o", "out", "-f",
                  "gaussian:sigma=1", "-f", "sharpen:amount=1", "--quiet")
assert run.returncode == 0

# %%
# A mistake in the command line is refused before any file is touched,
# with exit status 2:

run = cfilter_cmd("apply", "photos", "-o", "out", "-f", "gausian:sigma=2")
assert run.returncode == 2

# %%
# The results
# -----------
#
# Inputs above, outputs below: same names, same sizes, same types.

pairs = [("camera.png",), ("astronaut.png",), ("more", "coins.png")]
fig, axes = plt.subplots(2, 3, figsize=(12, 7.4))
for col, parts in enumerate(pairs):
    before = skimage.io.imread(os.path.join(workdir, "photos", *parts))
    after = skimage.io.imread(os.path.join(workdir, "out", *parts))
    assert before.shape == after.shape and after.dtype == np.uint8
    for row, (img, where) in enumerate([(before, "photos"), (after, "out")]):
        axes[row, col].imshow(img, cmap="gray" if img.ndim == 2 else None)
        axes[row, col].set_title("/".join((where,) + parts), fontsize=10)
        axes[row, col].set_axis_off()
fig.tight_layout()

shutil.rmtree(workdir)                  # the example leaves nothing behind
