# ---- Added by deploy/classroom.py for the classroom on JupyterHub --------------------------
# The classroom's Python reads the course venv's packages through a .pth line, so the grading
# sandbox must show that folder (read-only) to each student's kernel as well.
import sys  # noqa: E402

c.SandboxedKernelManager.extra_readable = [p for p in sys.path if p.endswith("site-packages")]  # noqa: F821
