"""The FFT engine: correlation by the convolution theorem, tile by tile.

Each plane is first extended by the boundary mode (so every mode, padding
form and stride means exactly what it means for the direct engine), then
correlated by overlap-save: tiles of the extended image are transformed with
real FFTs (``scipy.fft``, single precision for float32), multiplied by the
conjugate spectrum of the (dilated) kernel, and transformed back; each tile
keeps the outputs its wrap-around did not touch.  The kernel spectrum is
computed once per call and serves every plane and tile.  Tiles are processed
a batch of rows of tiles at a time, which bounds the scratch memory.

The tiling and the batches depend only on the shapes, never on the thread
count, and each tile's transform is computed the same way whatever the
batch, so the result is bit-identical for any ``workers``.  The threads
share out whole batches (``_threads.share_out``: the calling thread takes
batches too, so none waits on a helper the machine holds back): each batch
is a handful of large numpy and ``scipy.fft`` calls, all of which release
the GIL, so the GIL changes hands a few times per batch rather than per
strip or tile, and a busy Python thread elsewhere (which keeps the GIL for
up to the switch interval each time it is handed over) no longer stalls the
transforms.  Each thread extends its batches' rows into its kept scratch,
not into new memory.
"""
import numpy as np
import scipy.fft

from ._indexing import extend
from ._threads import scratch, share_out

# Scratch bytes a batch of tiles may take (the extended rows, the tiles'
# spectra and their inverse), whatever the thread count.
BATCH_BYTES = 16 << 20


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
    nstrips = -(-hs // th)
    # Width of a strip from which all tiles of a row can be cut.
    strip_w = (ntw - 1) * tw + nw
    ext_h, ext_w = hs + KH - 1, ws + KW - 1
    # Strips per batch: real and complex copies of every tile, ~4x its size.
    per_strip = 4 * ntw * nh * nw * np.dtype(dtype).itemsize
    batch = max(1, min(nstrips, BATCH_BYTES // per_strip))

    def run_batch(plane, dest, s0):
        nb = min(batch, nstrips - s0)
        a0 = s0 * th
        # The batch's rows of the extended image, extended once; zeros past
        # its end.
        nrows = (nb - 1) * th + nh
        # (The thread's kept scratch: a new array of this size each batch
        # would be fresh memory, whose page faults cost as much as a
        # transform.)
        buf = scratch("fft_strip", (nrows, strip_w), dtype)
        rows = min(nrows, ext_h - a0)
        buf[rows:] = 0
        buf[:rows, ext_w:] = 0
        extend(plane, a0 - top, rows, -left, ext_w, mode, cval,
               out=buf[:rows, :ext_w])
        tiles = np.lib.stride_tricks.sliding_window_view(
            buf, (nh, nw))[::th, ::tw]
        spec = scipy.fft.rfft2(tiles)
        del tiles, buf
        spec *= spectrum
        res = scipy.fft.irfft2(spec, s=(nh, nw))
        del spec
        # res[b, t, :th, :tw] holds the stride-1 outputs of rows a0 + b*th..,
        # columns t*tw..: laid side by side, a block.
        block = res[:, :, :th, :tw].transpose(0, 2, 1, 3).reshape(
            nb * th, ntw * tw)
        first = -(-a0 // sy) * sy            # the first row the stride keeps
        last = min(a0 + nb * th, hs)
        if first < last:
            dest[first // sy:(last - 1) // sy + 1] = \
                block[first - a0:last - a0:sy, :ws:sx]

    jobs = [(plane, dest, s0) for plane, dest in zip(planes, out)
            for s0 in range(0, nstrips, batch)]

    share_out(lambda job: run_batch(*job), jobs, nthreads)
    return out
