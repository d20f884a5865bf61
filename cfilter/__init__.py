"""cfilter: exact, fast 2-D image convolution and correlation.

Filtering: :func:`correlate`, :func:`convolve`, :func:`correlate1d`,
:func:`convolve1d`, :func:`sep_filter` (and :func:`plan`, which tells how a
call would run); named filters such as :func:`gaussian_blur` on top of the
kernel catalog :mod:`cfilter.kernels`; transposed convolution
(:func:`conv_transpose`), the shape arithmetic (:func:`conv_output_shape`,
:func:`transposed_output_shape`) and the convolution matrix
(:func:`convolution_matrix`); NCHW layers in :mod:`cfilter.nn`.  The default
thread count is read and set with :func:`get_num_threads` and
:func:`set_num_threads`; :func:`show_config` tells how the package was built.
"""
# First: the compiled core chooses its CPU level (and refuses, with one
# line, a CPU below the lowest level built) before anything else loads.
from . import _core  # noqa: F401
from typing import TYPE_CHECKING

from . import kernels
from ._config import show_config
from ._api import (FilterPlan, convolve, convolve1d, correlate, correlate1d,
                   plan, sep_filter)
from .filters import (box_blur, gaussian_blur, laplace, prewitt, scharr,
                      sharpen, sobel, unsharp_mask)
from ._shapes import conv_output_shape, transposed_output_shape
from ._threads import get_num_threads, set_num_threads
from ._validate import mode_names
from ._boundary_map import boundary_indices

# Imported on first use, so that ``import cfilter`` (and the ``cfilter``
# command's start-up) pays only for what a plain filtering call needs:
# name -> (module, attribute; None for the module itself).
_LAZY = {
    "nn": (".nn", None),
    "dask": (".dask", None),
    "conv_transpose": ("._transpose", "conv_transpose"),
    "convolution_matrix": ("._matrix", "convolution_matrix"),
    "frequency_filter": ("._frequency", "frequency_filter"),
    "match_template": ("._template", "match_template"),
}

if TYPE_CHECKING:
    # What type checkers and editors see of the names above (a module
    # __getattr__ would make every misspelt name valid for them).
    from . import dask, nn
    from ._frequency import frequency_filter
    from ._matrix import convolution_matrix
    from ._template import match_template
    from ._transpose import conv_transpose
else:
    def __getattr__(name):
        try:
            module, attribute = _LAZY[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute "
                                 f"{name!r}") from None
        import importlib
        try:
            value = importlib.import_module(module, __name__)
        except ImportError as exc:
            # An optional dependency missing (dask for cfilter.dask): not an
            # attribute then, so hasattr() and dir()-walking tools go on; the
            # message still says what to install.
            raise AttributeError(f"module {__name__!r} has no attribute "
                                 f"{name!r} ({exc})") from exc
        if attribute is not None:
            value = getattr(value, attribute)
        globals()[name] = value
        return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0.dev0"

__all__ = [
    "correlate", "convolve", "correlate1d", "convolve1d", "sep_filter",
    "plan", "FilterPlan",
    "get_num_threads", "set_num_threads", "mode_names", "boundary_indices",
    "kernels",
    "gaussian_blur", "box_blur", "sobel", "prewitt", "scharr", "laplace",
    "sharpen", "unsharp_mask", "conv_output_shape", "transposed_output_shape",
    "conv_transpose", "convolution_matrix", "nn", "show_config",
    "match_template", "frequency_filter",
]
