"""Layer 2, the course's tools: what the chapters import besides the losses.

Training loop, ``diagnose``, plots, widgets and the data sets the course makes. Imports only
from :mod:`lossbook.losses` (and :mod:`lossbook.functional`).
"""
