"""Shared pytest settings: Hypothesis profiles sized for a 2-core CI machine."""

import os

import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Widgets draw one static figure and register no callbacks: notebook kernels
# started by nbval inherit this, as nbgrader's set NBGRADER_EXECUTION.
os.environ.setdefault("LOSSBOOK_STATIC", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# Two cores: one intra-op thread per test process keeps xdist workers from fighting.
torch.set_num_threads(1)
