"""``python -m evospikenet`` runs the command line."""

import sys

from evospikenet.cli import main

sys.exit(main())
