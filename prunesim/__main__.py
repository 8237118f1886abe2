"""Entry point for ``python -m prunesim``."""

import sys

from prunesim.cli import main

sys.exit(main())
