"""`python -m dunning`: the command line."""

from __future__ import annotations

import sys

from dunning import cli

sys.exit(cli.main())
