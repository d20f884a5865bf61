"""The benchmarks' timing helpers live in the package (``cfilter bench``
uses them too); the scripts here import them from this one name."""
from cfilter._bench import interleaved, table  # noqa: F401
