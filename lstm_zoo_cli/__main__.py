"""`python -m lstm_zoo_cli`: the `lstm-zoo` command line."""

import sys

from lstm_zoo_cli import run

sys.exit(run())
