"""
The convolution theorem: direct and FFT
=======================================

The Fourier transform turns a convolution into a product:
:math:`\\mathcal{F}(f * g) = \\mathcal{F}(f)\\,\\mathcal{F}(g)`. Instead of
sliding a kernel over every pixel, one can transform the image and the
kernel, multiply, and transform back; for a large kernel that is far less
work. cfilter does both: ``method="direct"`` slides the kernel,
``method="fft"`` goes through the frequencies, and ``method="auto"`` picks
the cheaper (:doc:`/guide/methods`). This example checks the theorem with
NumPy's FFT and shows the spectra.
"""

# sphinx_gallery_thumbnail_number = 2

import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import cfilter

image = skimage.data.camera().astype(np.float32)            # 512x512
kernel = cfilter.kernels.gaussian(sigma=4).array.astype(np.float32)   # 33x33

# %%
# The same result two ways
# ------------------------
#
# A 33x33 Gaussian, slid over the image and multiplied in the frequency
# domain. The two agree to float32 rounding:

direct = cfilter.convolve(image, kernel, method="direct")
fft = cfilter.convolve(image, kernel, method="fft")
difference = np.abs(direct - fft).max()
print(f"largest difference: {difference:.2e} (grey levels 0..255)")
assert difference < 1e-2
print("auto would use:", cfilter.plan(image, kernel, convolve=True).method)

fig, axes = plt.subplots(1, 3, figsize=(12, 4.6))
axes[0].imshow(direct, cmap="gray")
axes[0].set_title('method="direct"')
axes[1].imshow(fft, cmap="gray")
axes[1].set_title('method="fft"')
shown = axes[2].imshow(fft - direct, cmap="RdBu_r",
                       vmin=-difference, vmax=difference)
axes[2].set_title("fft - direct")
fig.colorbar(shown, ax=axes[2], shrink=0.8)
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()

# %%
# The theorem, checked with NumPy
# -------------------------------
#
# The discrete theorem is exact for *circular* convolution, where the image
# repeats beyond its edges: that is ``mode="wrap"``. Put the kernel into an
# image-sized array with its centre at the origin (rolled to the corner),
# multiply the two spectra and transform back:

padded = np.zeros(image.shape, np.float64)
kh, kw = kernel.shape
padded[:kh, :kw] = kernel
padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))

spectrum_image = np.fft.fft2(image)
spectrum_kernel = np.fft.fft2(padded)
by_theorem = np.fft.ifft2(spectrum_image * spectrum_kernel).real

circular = cfilter.convolve(image, kernel, mode="wrap")
print(f"mode='wrap' vs inverse FFT of the product: "
      f"{np.abs(circular - by_theorem).max():.2e}")
assert np.allclose(circular, by_theorem, atol=1e-2)

# %%
# The spectra
# -----------
#
# The magnitude of each spectrum, on a log scale, with the zero frequency
# moved to the centre (``fftshift``). The Gaussian's spectrum is itself a
# Gaussian, wide where the kernel is narrow: it keeps the low frequencies
# near the centre and damps the rest. The product keeps the image's
# low-frequency content only, which is what a blur is. The image's bright
# cross comes from the jump between its opposite edges, which the
# transform treats as neighbours.


def log_magnitude(spectrum):
    return np.log1p(np.abs(np.fft.fftshift(spectrum)))


fig, axes = plt.subplots(1, 3, figsize=(12, 4.6))
for ax, (title, spectrum) in zip(axes, [
        ("image", spectrum_image),
        ("kernel (33x33 Gaussian)", spectrum_kernel),
        ("product = spectrum of the result", spectrum_image * spectrum_kernel)]):
    ax.imshow(log_magnitude(spectrum), cmap="magma")
    ax.set_title(title)
    ax.set_axis_off()
fig.tight_layout()
assert np.allclose(np.fft.fft2(circular), spectrum_image * spectrum_kernel,
                   rtol=1e-3, atol=np.abs(spectrum_image).max() * 1e-6)

# %%
# The kernel's spectrum, as a cut through its centre row, next to the
# Gaussian the theory predicts, :math:`\exp(-2\pi^2\sigma^2 u^2)` for a
# frequency of ``u`` cycles per pixel:

u = np.fft.fftshift(np.fft.fftfreq(image.shape[1]))
row = np.abs(np.fft.fftshift(spectrum_kernel)[image.shape[0] // 2])
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.plot(u, row, label="|FFT of the kernel|, centre row")
ax.plot(u, np.exp(-2 * np.pi ** 2 * 4 ** 2 * u ** 2), "--",
        label=r"$\exp(-2\pi^2\sigma^2u^2)$, $\sigma = 4$")
ax.set_xlabel("frequency (cycles per pixel)")
ax.legend()
fig.tight_layout()
assert np.allclose(row, np.exp(-2 * np.pi ** 2 * 16 * u ** 2), atol=1e-3)
