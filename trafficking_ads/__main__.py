"""`python -m trafficking_ads` runs the CLI."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still starting: no traceback
    sys.stderr.write("interrupted\n")
    sys.exit(130)

main()
