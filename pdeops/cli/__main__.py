"""``python -m pdeops.cli``: the ``pdeops`` command."""

import sys

from pdeops.cli import main

sys.exit(main())
