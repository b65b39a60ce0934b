"""Layer 1, the losses: one module per family, built from tensor primitives.

Every loss ends in :func:`lossbook.losses._reduction.apply_reduction`; inputs are checked by
:mod:`lossbook.losses._validation`. :mod:`lossbook.functional` gathers them under torch's names.
Nothing here imports plotting, widgets or grading.
"""
