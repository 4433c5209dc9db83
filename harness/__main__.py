"""``python -m harness`` runs the xstress command line."""

import sys

from harness.cli import main

sys.exit(main())
