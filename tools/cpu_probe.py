"""A correctness probe of an installed cfilter, for tools/check_cpus.sh.

Prints the CPU level the import chose, then checks every engine against
scipy.ndimage on small images; exits 1 on a wrong result.  Small on
purpose: it runs under an emulated CPU (qemu), thousands of times slower
than the real one.
"""
import sys

import numpy as np
import scipy.ndimage as ndi

import cfilter
from cfilter import _core

print(f"cfilter {cfilter.__version__}: level {_core.LEVEL} of "
      f"{', '.join(_core.BUILT) or 'one'}, features "
      f"{' '.join(sorted(_core.CPU_FEATURES))}")
rng = np.random.default_rng(0)
x = rng.random((48, 53), dtype=np.float32)
u8 = rng.integers(0, 256, (40, 45), dtype=np.uint8)
cases = {
    "direct": (cfilter.correlate(x, np.ones((5, 5), np.float32) / 25,
                                 method="direct"),
               ndi.correlate(x, np.ones((5, 5)) / 25, mode="reflect")),
    "separable": (cfilter.gaussian_blur(x, 1.5),
                  ndi.gaussian_filter(x.astype(np.float64), 1.5,
                                      mode="reflect")),
    "box": (cfilter.box_blur(x, 5), ndi.uniform_filter(x, 5, mode="reflect")),
    "fft": (cfilter.correlate(x, np.ones((21, 21), np.float32) / 441,
                              method="fft"),
            ndi.correlate(x, np.ones((21, 21)) / 441, mode="reflect")),
    "uint8": (cfilter.box_blur(u8, 3, output=np.uint8).astype(float),
              np.rint(ndi.uniform_filter(u8.astype(float), 3,
                                         mode="reflect"))),
}
bad = 0
for name, (got, want) in cases.items():
    err = float(np.abs(got - want).max())
    ok = err <= (1.0 if name == "uint8" else 1e-4)
    bad += not ok
    print(f"  {name:9s} max error {err:.2e} {'ok' if ok else 'WRONG'}")
sys.exit(1 if bad else 0)
