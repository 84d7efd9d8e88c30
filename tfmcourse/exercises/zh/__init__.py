"""Chinese versions of the checkers' messages, one table per module (see ``tfmcourse.exercises.i18n``).

``common`` translates the messages of ``tfmcourse.exercises`` itself (not implemented, wrong shape, the
success line); ``chNN`` those of the checker module ``tfmcourse.exercises.chNN``. A checker module with a
file here is translated: a test (``tests/test_exercises_zh.py``) fails when one of its hints has no
Chinese version.
"""
