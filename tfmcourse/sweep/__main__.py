"""``python -m tfmcourse.sweep``: see :mod:`tfmcourse.sweep.runner`."""

import sys

from tfmcourse.sweep.runner import main

sys.exit(main())
