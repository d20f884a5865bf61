"""
Template search by normalised cross-correlation
===============================================

To find where a small picture (the *template*) occurs in a larger one,
slide it over the image and score every position: that is a
cross-correlation. Raw correlation scores bright regions high whatever
their shape, so template search normalises it: at each position the
template and the window under it are each reduced to zero mean and unit
variance, and the score is their Pearson correlation, between -1 and 1.
:func:`cfilter.match_template` computes it (by direct sums or through the
FFT, whichever ``auto`` finds cheaper), and gives the numbers
``skimage.feature.match_template`` gives.
"""

import matplotlib.pyplot as plt
import numpy as np
import skimage.data
import skimage.feature

import cfilter

# %%
# A template cut from the image
# -----------------------------
#
# The camera and the eye behind it, in the ``camera`` image. To make the
# search less trivial, the image it is searched in is darkened, given more
# contrast and noise, so no window is an exact copy of the template.

camera = skimage.data.camera().astype(np.float32)
top, left, h, w = 95, 240, 70, 70
template = camera[top:top + h, left:left + w].copy()
rng = np.random.default_rng(0)
scene = 0.6 * camera + 20 + rng.normal(0, 12, camera.shape).astype(np.float32)

score = cfilter.match_template(scene, template)        # padding="valid"
print("score map:", score.shape, "=", (512 - h + 1, 512 - w + 1))
best = np.unravel_index(np.argmax(score), score.shape)
print("best match at", tuple(int(v) for v in best), "score",
      round(float(score[best]), 3), "; the template was cut at", (top, left))
assert best == (top, left)

# %%
# Checked against scikit-image:

reference = skimage.feature.match_template(scene, template)
print("largest difference from skimage:",
      f"{np.abs(score - reference).max():.1e}")
assert np.allclose(score, reference, atol=1e-3)   # float32 sums

# %%
# Why normalise
# -------------
#
# The raw correlation, ``cfilter.correlate(scene, template)``, is largest
# where the image is brightest (the sky), not where the template is. The
# normalised score has one sharp peak at the right place.

raw = cfilter.correlate(scene, template, mode="constant", padding="valid")
raw_best = np.unravel_index(np.argmax(raw), raw.shape)
print("raw correlation's best:", tuple(int(v) for v in raw_best))

fig, axes = plt.subplots(1, 4, figsize=(14, 3.9),
                         gridspec_kw={"width_ratios": [0.45, 1, 1, 1]})
axes[0].imshow(template, cmap="gray")
axes[0].set_title("template")
axes[1].imshow(scene, cmap="gray")
for (r, c), colour, label in [(best, "tab:green", "normalised"),
                              (raw_best, "tab:red", "raw")]:
    axes[1].add_patch(plt.Rectangle((c, r), w, h, fill=False,
                                    edgecolor=colour, linewidth=2,
                                    label=label))
axes[1].legend(loc="lower right", fontsize=8)
axes[1].set_title("scene, best matches")
axes[2].imshow(raw, cmap="viridis")
axes[2].set_title("raw correlation")
shown = axes[3].imshow(score, cmap="RdBu_r", vmin=-1, vmax=1)
axes[3].set_title("match_template score")
fig.colorbar(shown, ax=axes[3], shrink=0.8)
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()
