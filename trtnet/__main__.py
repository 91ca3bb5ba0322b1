"""``python -m trtnet``: the ``trtnet`` command (Ctrl-C during start-up is handled by ``trtnet/__init__``)."""

import sys

from trtnet.cli import main

if __name__ == "__main__":
    sys.exit(main())
