"""The last step: cast the float result to the requested dtype, into place."""
import numpy as np


def cast_into(result, dest):
    """Write ``result`` into the array ``dest``: integers rounded to nearest
    (half to even, as ``np.rint``) and saturated to the dtype's range."""
    if dest.dtype.kind in "iu":
        info = np.iinfo(dest.dtype)
        rounded = np.rint(result)
        np.clip(rounded, info.min, info.max, out=rounded)
        np.copyto(dest, rounded, casting="unsafe")
    else:
        np.copyto(dest, result, casting="unsafe")
    return dest


def allocate(shape, dtype):
    return np.empty(shape, dtype=dtype)
