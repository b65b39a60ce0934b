"""lossbook: PyTorch's loss functions, readable and proven equal to torch.

- :mod:`lossbook.functional`: every loss, torch's names and parameters.
- :mod:`lossbook.pipeline`: the cross-entropy pipeline, every intermediate by name.
- :mod:`lossbook.plots` and :mod:`lossbook.widgets`: the course's figures and sliders.
- :mod:`lossbook.grading`: checks for the course's exercises that name the mistake.
- :func:`lossbook.diagnose`: inspects a loss call and names each likely mistake, with the fix.
"""

from lossbook.diagnose import diagnose

__version__ = "0.1.0"
__all__ = ["diagnose"]
