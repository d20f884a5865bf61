"""``python -m cfilter``: the same as the ``cfilter`` command."""
import sys

from cfilter.cli import main

if __name__ == "__main__":
    sys.exit(main())
