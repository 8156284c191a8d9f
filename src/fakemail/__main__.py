"""``python -m fakemail serve ...``: the same as the ``fakemail`` command."""

import sys

from fakemail._cli import main

sys.exit(main())
