# The one fused type of the compiled core: every kernel is written once and
# specialised for float32 and float64 planes.
ctypedef fused real:
    float
    double
