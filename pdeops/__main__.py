"""``python -m pdeops``: the ``pdeops`` command."""

import sys

from pdeops.cli import main

if __name__ == "__main__":
    sys.exit(main())
