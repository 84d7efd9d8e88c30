"""tfmcourse: the companion package of the book "tfmcourse: the Transformer, built and tested".

Each module holds one idea of the book, in the order the chapters build it:

- ``attention``: scaled dot-product and additive attention, causal and padding masks (chapter 2).

Conventions kept everywhere (see ``docs/conventions.md``): batch first, ``(batch, seq, d_model)``;
boolean masks where ``True`` means "may attend"; bad input raises ``ValueError`` naming the argument
and the shapes.
"""

__version__ = "0.1.0"
