"""`python -m neural_tui`: the `neural-tui` command, for a venv whose scripts are not on PATH."""

import sys

from neural_tui.cli import main

sys.exit(main())
