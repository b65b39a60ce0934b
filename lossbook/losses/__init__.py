"""Layer 1, the losses: one module per family, built from tensor primitives.

Every loss ends in :func:`lossbook.losses._reduction.apply_reduction`; inputs are checked by
:mod:`lossbook.losses._validation`. :mod:`lossbook.losses.registry` lists every loss (name,
``nn`` class, family, aliases, tensors, target kind): every table of loss names derives from it.
:mod:`lossbook.losses.linear_cross_entropy` is the cross-entropy of a linear layer computed in
blocks. :mod:`lossbook.functional` gathers them under torch's names. Nothing here imports
plotting, widgets or grading.
"""
