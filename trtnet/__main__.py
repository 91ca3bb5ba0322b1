"""``python -m trtnet``: the ``trtnet`` command."""

import sys

from trtnet.cli import main

sys.exit(main())
