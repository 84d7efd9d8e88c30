"""Kernel start-up for notebooks executed with no one watching: the book build and the notebook tests.

The Makefile sets ``PYTHONSTARTUP`` to this file for ``make book`` and ``make notebooks-run``; an IPython
kernel runs it before the first cell. In Jupyter or on Colab it is not used, and nothing changes there.

Progress bars. The chapters use ``tqdm.auto``: in Jupyter and on Colab (ipywidgets installed) that is a
live widget. A widget needs a live Jupyter front end to draw it; a page built from the executed
notebook has none, and would show the bar as it was when it was created (0 %). A redrawn text bar does
not work either: the build joins the pieces of a cell's output with line breaks, so every redraw would
become a line of its own. So here ``tqdm.auto`` gives a bar that draws nothing while the loop runs and
writes one line, its final state (count, time, speed, postfix), when it closes.
"""


def _use_static_progress_bars() -> None:
    # Everything happens in this function: the file runs in the notebook's namespace, and must leave no
    # name there (a chapter that forgot `import sys` has to fail here as it would on Colab).
    import sys

    import tqdm.auto
    import tqdm.autonotebook
    import tqdm.std

    class StaticTqdm(tqdm.std.tqdm):
        """``tqdm`` for a static page: one line on stdout, the final state, when the bar closes."""

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("file", sys.stdout)
            super().__init__(*args, **kwargs)

        def display(self, msg=None, pos=None):
            # tqdm's close() sets `disable`, then calls display(pos=0) and writes the newline when the
            # bar stays on screen (leave=True); every other call is a redraw while the loop runs, or
            # the erasing of a bar that does not stay (leave=False, msg="").
            if self.disable and pos == 0 and msg is None:
                self.fp.write(self.__str__())
            return msg != ""  # False: close() then writes no "\r" after an erased bar

        def clear(self, nolock=False):
            pass  # nothing drawn, nothing to erase (tqdm.write() calls this around its message)

    def static_trange(*args, **kwargs):
        return StaticTqdm(range(*args), **kwargs)

    for module in (tqdm.auto, tqdm.autonotebook):
        module.tqdm = StaticTqdm
        module.trange = static_trange


_use_static_progress_bars()
del _use_static_progress_bars
