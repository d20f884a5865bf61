"""The ``cfilter`` command line: filter batches of image files, safely.

Subcommands:

``cfilter apply``
    Run a chain of filters over files, folders and globs into an output
    folder (atomic writes, a resume record, one bad file does not stop the
    rest).
``cfilter kernels``
    The kernel catalog, one line each.
``cfilter demo``
    Catalog filters on scikit-image's sample images, plus a contact sheet.
``cfilter bench``
    The benchmark table against whichever peer libraries are installed.

The command line is a client of the public functions
(:func:`cfilter.correlate`, :func:`cfilter.sobel`, :mod:`cfilter.kernels`);
image files are read and written by :mod:`~cfilter.cli.imageio`.  The
package's modules, in the order a run uses them: :mod:`~cfilter.cli.specs`
(``-f`` specs to filter steps), :mod:`~cfilter.cli.discovery` (inputs to
jobs, paths kept inside ``-o``), :mod:`~cfilter.cli.lock` (one run per
output folder), :mod:`~cfilter.cli.record` (the resume record),
:mod:`~cfilter.cli.runner` (one file end to end, the pool, the progress),
:mod:`~cfilter.cli.imageio` (codecs, atomic writes),
:mod:`~cfilter.cli.demo` (``kernels``, ``demo``, ``bench``) and
:mod:`~cfilter.cli.main` (the parser).

Exit codes: 0 success, 1 some files failed, 2 a bad command line (a bad
filter spec or option is reported before any file is touched) or an output
folder that another run is writing into, 130 interrupted.
"""
from .main import build_parser, main
from .specs import UsageError, filter_image, load_kernel, load_step

__all__ = ["main", "build_parser", "load_kernel", "load_step",
           "filter_image", "UsageError"]
