"""The FFT engine: correlation by the convolution theorem, tile by tile.

Each plane is first extended by the boundary mode (so every mode, padding
form and stride means exactly what it means for the direct engine), then
correlated by overlap-save: tiles of the extended image are transformed with
real FFTs (``scipy.fft``, single precision for float32), multiplied by the
conjugate spectrum of the (dilated) kernel, and transformed back; each tile
keeps the outputs its wrap-around did not touch.  The kernel spectrum is
computed once per call and serves every plane and tile.  Tiles are processed
one row of tiles at a time, which bounds the scratch memory.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft

from ._indexing import extend


def correlate_fft(planes, kernel, plan, mode, cval, nthreads, out):
    dtype = planes.dtype
    (top, _), (left, _) = plan.pads
    sy, sx = plan.stride
    dy, dx = plan.dilation
    kh, kw = kernel.shape
    KH, KW = dy * (kh - 1) + 1, dx * (kw - 1) + 1
    dilated = np.zeros((KH, KW), dtype=dtype)
    dilated[::dy, ::dx] = kernel
    oh, ow = plan.out_shape
    # Stride-1 outputs spanned, and the extended input they read.
    hs, ws = (oh - 1) * sy + 1, (ow - 1) * sx + 1
    (nh, th), (nw, tw) = plan.tiles
    H, W = planes.shape[1:]
    spectrum = np.conj(scipy.fft.rfft2(dilated, s=(nh, nw)))
    ntw = -(-ws // tw)
    # Width of a strip from which all tiles of a row can be cut.
    strip_w = (ntw - 1) * tw + nw

    def strip(ext, dest, a):
        """The outputs of stride-1 rows a .. a + th, through one batch of tiles."""
        first = -(-a // sy) * sy           # the first row the stride keeps
        last = min(a + th, hs)
        if first >= last:
            return
        buf = np.zeros((nh, strip_w), dtype=dtype)
        part = ext[a:a + nh]
        buf[:part.shape[0], :part.shape[1]] = part
        tiles = np.lib.stride_tricks.sliding_window_view(buf, (nh, nw))[0, ::tw]
        spec = scipy.fft.rfft2(tiles)
        spec *= spectrum
        res = scipy.fft.irfft2(spec, s=(nh, nw))
        # res[t, :th, :tw] holds the outputs of rows a.., columns t*tw..
        rows = res[:, first - a:last - a:sy, :tw]
        block = rows.transpose(1, 0, 2).reshape(rows.shape[1], ntw * tw)
        dest[first // sy:first // sy + block.shape[0]] = block[:, :ws:sx]

    # Strips are independent and scipy.fft releases the GIL: one strip per
    # thread at a time parallelises better than threads inside small FFTs.
    with ThreadPoolExecutor(max_workers=nthreads) as pool:
        for plane, dest in zip(planes, out):
            ext = extend(plane, -top, hs + KH - 1, -left, ws + KW - 1, mode, cval)
            list(pool.map(lambda a: strip(ext, dest, a), range(0, hs, th)))
    return out
