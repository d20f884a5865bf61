"""Types of the public signatures, named once.

The strings every ``mode``, ``method``, ``padding`` and ``nan_policy``
parameter accepts, as ``Literal`` types, so that editors complete them and
type checkers report a misspelt one.  The public modules import this module
only for type checking (``if TYPE_CHECKING:``), so it costs ``import
cfilter`` nothing; tests/test_typing.py checks that these names are exactly
the ones the normalisers accept.  It imports nothing from cfilter.
"""
from typing import Any, Literal, Sequence, Union

from numpy.typing import ArrayLike, DTypeLike, NDArray

__all__ = ["ArrayLike", "DTypeLike", "NDArray", "Array", "Mode", "Engine",
           "Method", "PaddingName", "Padding", "Padding1D", "NanPolicy",
           "IntPair", "RealPair", "Axes", "Output", "FrequencyKind",
           "FrequencyShape", "TorchPaddingMode", "TemplateMethod",
           "SeparableMethod", "ConfigMode"]

# A result: an array whose dtype depends on the input and ``output``.
Array = NDArray[Any]

# Boundary modes: the canonical names, then every alias (the normaliser in
# _validate also ignores case and surrounding blanks).
Mode = Literal[
    "reflect", "mirror", "nearest", "wrap", "constant",
    "symmetric", "grid-mirror", "reflect101", "reflect_101", "edge",
    "replicate", "circular", "periodic", "grid-wrap", "zeros",
    "grid-constant",
]

# The engines (FilterPlan.method), and the methods of correlate, convolve,
# plan and the named filters: an engine or 'auto'.
Engine = Literal["direct", "separable", "lowrank", "box", "fft"]
Method = Literal["auto", "direct", "separable", "lowrank", "box", "fft"]
SeparableMethod = Literal["separable", "direct"]        # sep_filter
TemplateMethod = Literal["auto", "direct", "fft"]       # match_template

PaddingName = Literal["same", "valid", "full"]
# An int (every side), a pair (ph, pw) or per-side pairs
# ((top, bottom), (left, right)), or a mix of the two.
Padding = Union[PaddingName, int, Sequence[Union[int, Sequence[int]]]]
# Along one axis: an int (both ends) or (before, after).
Padding1D = Union[PaddingName, int, Sequence[int]]

NanPolicy = Literal["propagate", "ignore"]

# "int or pair of int" (stride, dilation, sizes, radii) and its real twin.
IntPair = Union[int, Sequence[int]]
RealPair = Union[float, Sequence[float]]
# The two spatial axes.
Axes = Sequence[int]
# ``output=``: a dtype for a new result, or an array to write it into.
Output = Union[DTypeLike, NDArray[Any]]

FrequencyKind = Literal["lowpass", "highpass", "bandpass", "bandstop"]
FrequencyShape = Literal["butterworth", "gaussian", "ideal"]

# cfilter.nn: torch's names for the padding fill.
TorchPaddingMode = Literal["zeros", "reflect", "replicate", "circular"]

# show_config(mode=...)
ConfigMode = Literal["stdout", "dicts"]
