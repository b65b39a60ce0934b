"""Layer 4, the instructor's side: nbgrader preprocessors, the sandbox and batch grading.

Runs outside the learner's kernel; imports from every layer below, never the other way round.
"""
