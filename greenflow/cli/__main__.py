"""``python -m greenflow.cli``."""

import sys

from greenflow.cli import main

sys.exit(main())
