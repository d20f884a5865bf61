"""The last step: arrange the image as planes, give the engine planes to
fill, and deliver the result as asked (a new array, a dtype, or into an
``output=`` array, cast with exact rounding and saturation).

This is the one place that knows about ``output=``.  Every entry point
(the 2-D and 1-D filters, the named filters, :func:`cfilter.conv_transpose`)
delivers through :func:`deliver` or :func:`deliver_array`.

The seam for engines that write other dtypes themselves: :func:`deliver`
takes ``writes``, the dtypes the ``compute`` callback can fill natively (the
caller asks the engine layer, ``_engine.native_output_dtypes``).  An
``output`` array of one of those dtypes and of the planes' layout is filled
in place; anything else is computed in the work dtype and cast here.
"""
import numpy as np

__all__ = ["as_planes", "core_array", "deliver", "deliver_array",
           "cast_into"]


def core_array(array, dtype=None):
    """``array`` as the compiled loops read it: C-contiguous, aligned and of
    ``dtype`` (native byte order), copied only when it is not already.
    (``np.ascontiguousarray`` keeps an unaligned array, such as one from
    ``np.frombuffer`` at an odd offset, as it is.)"""
    return np.require(array, dtype, ("C", "A"))


def as_planes(image, axes, dtype):
    """The image as C-contiguous, aligned planes ``(N, H, W)`` of ``dtype``
    (no copy when it already is one)."""
    last = tuple(axes) == (image.ndim - 2, image.ndim - 1)
    moved = image if last else np.moveaxis(image, axes, (-2, -1))
    # The plane count is spelled out: reshape cannot infer -1 for an empty
    # image.
    return core_array(
        moved.reshape((_count(moved.shape[:-2]),) + moved.shape[-2:]), dtype)


def _count(lengths):
    n = 1
    for v in lengths:
        n *= int(v)
    return n


def _result_shape(image_shape, axes, out_lens):
    shape = list(image_shape)
    for a, n in zip(axes, out_lens):
        shape[a] = n
    return tuple(shape)


def check_output(output, shape):
    """``output`` if it is an array of the result's ``shape`` (else None);
    a ValueError for a wrong shape or a read-only array."""
    if not isinstance(output, np.ndarray):
        return None
    if output.shape != tuple(shape):
        raise ValueError(f"output has shape {output.shape}, but the result has "
                         f"shape {tuple(shape)}")
    if not output.flags.writeable:
        raise ValueError("output array is read-only")
    return output


def output_dtype(output):
    """The dtype asked for by ``output`` (an array or a dtype), or None."""
    if output is None:
        return None
    if isinstance(output, np.ndarray):
        dt = output.dtype
    else:
        try:
            dt = np.dtype(output)
        except TypeError:
            raise TypeError(f"output must be None, a dtype or an ndarray, "
                            f"got {output!r}") from None
    if dt.kind not in "iuf":
        raise TypeError(f"output dtype must be a real float or integer type, "
                        f"got {dt}")
    return dt


def deliver(compute, *, image, axes, out_lens, work_dtype, output,
            shape=None, writes=None, interleaved=False):
    """Run ``compute`` on planes to fill and return the result as asked.

    Parameters
    ----------
    compute : callable
        ``compute(out)`` fills ``out``, C-contiguous planes ``(N, oh, ow)``
        (``N`` the product of the image's non-spatial lengths) of a dtype in
        ``writes``.
    image : ndarray
        The image as the caller arranged it (its shape and memory matter).
    axes : pair of int
        The image's spatial axes.
    out_lens : pair of int
        The result's spatial lengths.
    work_dtype : dtype
        The dtype of a result made here (when ``output`` asks for none).
    output : None, dtype or ndarray
        As the user gave it.
    shape : tuple, optional
        The shape to return: a reshape of the image's shape with the
        spatial lengths changed (the 1-D path views its input as planes).
    writes : tuple of dtype, optional
        The dtypes ``compute`` can fill; default ``(work_dtype,)``.
    interleaved : bool, optional
        ``image`` is (H, W, C) with ``axes == (0, 1)`` and ``compute``
        fills one plane ``(1, oh, ow * C)`` of interleaved samples (the
        result's own layout) instead of C planes.

    An ``output`` array of a ``writes`` dtype, C-contiguous, aligned, with
    the spatial axes last and not sharing memory with ``image`` is filled
    in place.
    Otherwise the planes are computed into a new array, moved back and cast.
    """
    oh, ow = out_lens
    if interleaved:
        return _deliver_interleaved(compute, image, (oh, ow), work_dtype,
                                    output, writes)
    lead = tuple(n for a, n in enumerate(image.shape) if a not in axes)
    if output is None:              # the common case, kept short
        planes = np.empty(lead + (oh, ow), dtype=work_dtype)
        compute(planes.reshape((_count(lead), oh, ow)))
        if tuple(axes) == (image.ndim - 2, image.ndim - 1) and shape is None:
            return planes           # already in place (2-D images)
        result = np.moveaxis(planes, (-2, -1), axes)
        if shape is not None:
            return result.reshape(tuple(shape))
        return np.ascontiguousarray(result)
    work_dtype = np.dtype(work_dtype)
    writes = (work_dtype,) if writes is None else tuple(map(np.dtype, writes))
    final = (_result_shape(image.shape, axes, out_lens) if shape is None
             else tuple(shape))
    dest = check_output(output, final)
    last_axes = tuple(axes) == (image.ndim - 2, image.ndim - 1)
    if (dest is not None and dest.dtype in writes and last_axes
            and dest.flags.c_contiguous and dest.flags.aligned
            and not np.may_share_memory(dest, image)):
        compute(dest.reshape((dest.size // max(1, oh * ow), oh, ow)))
        return dest
    wanted = output_dtype(output)
    fill = wanted if wanted is not None and wanted in writes else work_dtype
    planes = np.empty(lead + (oh, ow), dtype=fill)
    compute(planes.reshape((_count(lead), oh, ow)))
    result = np.moveaxis(planes, (-2, -1), axes)
    if shape is not None:
        result = result.reshape(final)
    if dest is not None:
        return cast_into(result, dest)
    if wanted is None or wanted == result.dtype:
        return np.ascontiguousarray(result)
    return cast_into(result, np.empty(final, dtype=wanted))


def _deliver_interleaved(compute, image, out_lens, work_dtype, output,
                         writes):
    """deliver() for an (H, W, C) image whose engine fills the result in
    its own (oh, ow, C) layout."""
    final = tuple(out_lens) + (image.shape[2],)
    # (the row length spelled out: reshape cannot infer it for no rows)
    interleaved_planes = (1, final[0], final[1] * final[2])
    work_dtype = np.dtype(work_dtype)
    writes = (work_dtype,) if writes is None else tuple(map(np.dtype, writes))
    dest = check_output(output, final)
    if (dest is not None and dest.dtype in writes and dest.flags.c_contiguous
            and dest.flags.aligned and not np.may_share_memory(dest, image)):
        compute(dest.reshape(interleaved_planes))
        return dest
    wanted = output_dtype(output)
    fill = wanted if wanted is not None and wanted in writes else work_dtype
    result = np.empty(final, dtype=fill)
    compute(result.reshape(interleaved_planes))
    if dest is not None:
        return cast_into(result, dest)
    if wanted is None or wanted == result.dtype:
        return result
    return cast_into(result, np.empty(final, dtype=wanted))


def deliver_array(result, output):
    """Deliver an already computed ``result`` as ``output`` asks (None, a
    dtype or an array of ``result``'s shape)."""
    if output is None:
        return result
    dest = check_output(output, result.shape)
    if dest is None:
        wanted = output_dtype(output)
        if wanted == result.dtype:
            return result
        dest = np.empty(result.shape, dtype=wanted)
    return cast_into(result, dest)


def _int_limits(src, dst):
    """For a float ``src`` into an integer ``dst``: the clip bounds as
    ``src`` values, and whether ``dst``'s maximum is not exactly a ``src``
    value (then ``hi`` is the largest float below it and values at or above
    ``top`` must be set to the maximum afterwards)."""
    info = np.iinfo(dst)
    lo = src.type(info.min)               # 0 or -2**(bits-1): exact
    top = src.type(info.max)              # rounds up to 2**bits when inexact
    if int(top) == info.max:
        return lo, top, top, False
    return lo, np.nextafter(top, src.type(0)), top, True


def cast_into(result, dest):
    """Write ``result`` into the array ``dest``.

    Into an integer ``dest`` a float result is rounded to nearest (half to
    even, as ``np.rint``) and saturated exactly to the dtype's range
    (float32 ``3e9`` gives int32 2147483647, ``1e20`` gives uint64's
    maximum); NaN gives 0, as OpenCV's ``saturate_cast`` gives for 8-bit.

    Examples
    --------
    >>> import numpy as np
    >>> from cfilter._output import cast_into
    >>> src = np.array([-1e20, -0.5, 1.5, 3e9, np.nan], dtype=np.float32)
    >>> cast_into(src, np.empty(5, np.int32))
    array([-2147483648,           0,           2,  2147483647,           0],
          dtype=int32)
    """
    src_dt, dst_dt = np.dtype(result.dtype), dest.dtype
    if dst_dt.kind not in "iu" or src_dt.kind not in "f":
        if dst_dt.kind in "iu" and src_dt.kind in "iu" \
                and not np.can_cast(src_dt, dst_dt):
            info = np.iinfo(dst_dt)
            src_info = np.iinfo(src_dt)
            result = np.clip(result, max(info.min, src_info.min),
                             min(info.max, src_info.max))
        np.copyto(dest, result, casting="unsafe")
        return dest
    lo, hi, top, inexact = _int_limits(src_dt, dst_dt)
    rounded = np.rint(result)
    if rounded.size == 0:
        return dest
    # Two read-only reductions decide whether anything needs saturating;
    # NaN propagates through min, so this also finds NaN.  Results inside
    # the range (the common case) then cost no more than a plain cast.
    low, high = rounded.min(), rounded.max()
    if low >= lo and high <= hi:
        np.copyto(dest, rounded, casting="unsafe")
        return dest
    has_nan = np.isnan(low)         # then low and high tell nothing more
    over = rounded >= top if inexact and (has_nan or high >= top) else None
    nan = np.isnan(rounded) if has_nan else None
    np.clip(rounded, lo, hi, out=rounded)
    if nan is not None:
        rounded[nan] = 0
    np.copyto(dest, rounded, casting="unsafe")
    if over is not None:
        np.copyto(dest, np.iinfo(dst_dt).max, where=over)
    return dest
