"""cfilter: exact, fast 2-D image convolution and correlation.

The public functions are :func:`correlate`, :func:`convolve`,
:func:`correlate1d`, :func:`convolve1d` and :func:`sep_filter`; the default
thread count is read and set with :func:`get_num_threads` and
:func:`set_num_threads`.
"""
from . import kernels
from ._api import (FilterPlan, convolve, convolve1d, correlate, correlate1d,
                   plan, sep_filter)
from .filters import (box_blur, gaussian_blur, laplace, prewitt, scharr,
                      sharpen, sobel, unsharp_mask)
from ._threads import get_num_threads, set_num_threads
from ._validate import mode_names

__version__ = "0.1.0.dev0"

__all__ = [
    "correlate", "convolve", "correlate1d", "convolve1d", "sep_filter",
    "plan", "FilterPlan",
    "get_num_threads", "set_num_threads", "mode_names", "kernels",
    "gaussian_blur", "box_blur", "sobel", "prewitt", "scharr", "laplace",
    "sharpen", "unsharp_mask",
]
