"""`python -m handlers.cli`: the `interviews` program."""
import sys

from handlers.cli import main

sys.exit(main())
