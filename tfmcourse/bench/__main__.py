"""``python -m tfmcourse.bench``: the benchmark's command line (see :mod:`tfmcourse.bench`)."""

from tfmcourse.bench import main

main()
