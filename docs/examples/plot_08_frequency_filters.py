"""
Low, high and band pass in the frequency domain
===============================================

The convolution theorem says that filtering is multiplying the spectrum by
the kernel's spectrum, its *transfer function* ``H(f)``. One can also go
the other way and choose ``H`` directly: keep the low frequencies (a blur),
the high ones (edges and texture), or a band in between.
:func:`cfilter.frequency_filter` does that, with ``H`` a function of the
radial frequency ``f`` in cycles per pixel (0 to 0.5): Butterworth,
Gaussian or ideal (a sharp circle) shapes, low, high, band pass and band
stop.
"""

import matplotlib.pyplot as plt
import numpy as np
import skimage.data
import skimage.filters

import cfilter

camera = skimage.data.camera().astype(np.float32) / 255

# %%
# Three filters on the camera image
# ---------------------------------

filters = {
    "lowpass, cutoff 0.05": dict(cutoff=0.05, kind="lowpass"),
    "highpass, cutoff 0.05": dict(cutoff=0.05, kind="highpass"),
    "bandpass, 0.05 to 0.15": dict(cutoff=(0.05, 0.15), kind="bandpass"),
}
results = {name: cfilter.frequency_filter(camera, **kw)
           for name, kw in filters.items()}
for name, out in results.items():
    print(f"{name:24s} shape {out.shape}, mean {out.mean():+.3f}")

fig, axes = plt.subplots(2, 4, figsize=(14, 7.2))
spectrum = lambda a: np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(a))))
axes[0, 0].imshow(camera, cmap="gray")
axes[0, 0].set_title("camera")
axes[1, 0].imshow(spectrum(camera), cmap="magma")
axes[1, 0].set_title("its spectrum")
for col, (name, out) in enumerate(results.items(), start=1):
    axes[0, col].imshow(out, cmap="gray")
    axes[0, col].set_title(name)
    axes[1, col].imshow(spectrum(out), cmap="magma",
                        vmax=spectrum(camera).max())
    axes[1, col].set_title("spectrum after")
for ax in axes.flat:
    ax.set_axis_off()
fig.tight_layout()

# %%
# The transfer functions
# ----------------------
#
# The Butterworth low pass is ``1 / (1 + (f/c)^(2 order))``: 1 at ``f = 0``,
# one half at the cutoff ``c``, and steeper for a higher ``order``. High pass
# is one minus low pass; band pass is a low pass at the upper edge times a
# high pass at the lower one. The filter's effect on a pure wave of one
# frequency shows ``H``: filter a cosine of frequency ``f`` along the rows
# and measure how much of it is left. (The frequencies are whole numbers of
# periods over the 256 samples, so that the periodic transform sees one
# clean wave.)

f = np.arange(0, 129, 4) / 256
x = np.arange(256)
fig, ax = plt.subplots(figsize=(8, 3.8))
for name, kw in filters.items():
    gains = []
    for fi in f:
        wave = np.cos(2 * np.pi * fi * x)[None, :].repeat(8, axis=0)
        out = cfilter.frequency_filter(wave, **kw)
        gains.append(np.abs(out).max() / max(np.abs(wave).max(), 1e-12))
    ax.plot(f, gains, "o", markersize=3, label=name)
    if kw["kind"] == "lowpass":       # the measured gains are the formula's
        assert np.allclose(gains, 1 / (1 + (f / 0.05) ** 4), atol=1e-3)
fine = np.linspace(0, 0.5, 400)
ax.plot(fine, 1 / (1 + (fine / 0.05) ** 4), "k--", linewidth=1,
        label="1 / (1 + (f/0.05)^4)")
ax.set_xlabel("frequency f (cycles per pixel)")
ax.set_ylabel("H(f), measured")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Checked against scikit-image, whose ``butterworth`` filter is the same
# Butterworth low and high pass (with ``mode="nearest"`` padding):

for high in (False, True):
    ours = cfilter.frequency_filter(camera, 0.05, order=2.0, pad=32,
                                    kind="highpass" if high else "lowpass")
    ref = skimage.filters.butterworth(camera, 0.05, high_pass=high,
                                      order=2.0, npad=32)
    print("high pass" if high else "low pass ", "largest difference:",
          f"{np.abs(ours - ref).max():.1e}")
    assert np.allclose(ours, ref, atol=1e-4)
