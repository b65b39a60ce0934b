"""Synthetic nbgrader courses and hostile submissions for the batch-grading tests and benchmark."""
