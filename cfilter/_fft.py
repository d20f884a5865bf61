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
    spectrum = np.conj(scipy.fft.rfft2(dilated, s=(nh, nw)))
    ntw = -(-ws // tw)
    # Width of a strip from which all tiles of a row can be cut.
    strip_w = (ntw - 1) * tw + nw
    ext_h, ext_w = hs + KH - 1, ws + KW - 1

    def strip(plane, dest, a):
        """The outputs of stride-1 rows a .. a + th, through one batch of tiles."""
        first = -(-a // sy) * sy           # the first row the stride keeps
        last = min(a + th, hs)
        if first >= last:
            return
        # The strip's rows of the extended image, extended here (in
        # parallel, and never the whole image at once); zeros past its end.
        buf = np.empty((nh, strip_w), dtype=dtype)
        rows = min(nh, ext_h - a)
        extend(plane, a - top, rows, -left, ext_w, mode, cval,
               out=buf[:rows, :ext_w])
        buf[rows:] = 0
        buf[:rows, ext_w:] = 0
        tiles = np.lib.stride_tricks.sliding_window_view(buf, (nh, nw))[0, ::tw]
        spec = scipy.fft.rfft2(tiles)
        spec *= spectrum
        res = scipy.fft.irfft2(spec, s=(nh, nw))
        # res[t, :th, :tw] holds the outputs of rows a.., columns t*tw..
        out_rows = dest[first // sy:(last - 1) // sy + 1]
        for t in range(ntw):
            c0 = -(-t * tw // sx) * sx      # the first column kept in tile t
            c1 = min((t + 1) * tw, ws)
            if c0 < c1:
                out_rows[:, c0 // sx:(c1 - 1) // sx + 1] = \
                    res[t, first - a:last - a:sy, c0 - t * tw:c1 - t * tw:sx]

    # Strips are independent and scipy.fft releases the GIL: one strip per
    # thread at a time parallelises better than threads inside small FFTs.
    with ThreadPoolExecutor(max_workers=nthreads) as pool:
        for plane, dest in zip(planes, out):
            list(pool.map(lambda a: strip(plane, dest, a), range(0, hs, th)))
    return out
