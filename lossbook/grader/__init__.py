"""Layer 4, the instructor's side: grading a class and reporting what it got wrong.

- :mod:`~lossbook.grader.preprocessors`: the nbgrader preprocessors, one per module (sanitize,
  sandboxed execution, seals and sealed findings, output caps, feedback that teaches);
- :mod:`~lossbook.grader.sandbox`: the bubblewrap sandbox grading kernels run in;
- :mod:`~lossbook.grader.batch`: ``python -m lossbook grade``, a whole class in parallel;
- :mod:`~lossbook.grader.records`, :mod:`~lossbook.grader.report`,
  :mod:`~lossbook.grader.report_page`: ``python -m lossbook report``, the class report;
- :mod:`~lossbook.grader.sections`: where the course teaches each misconception;
- :mod:`~lossbook.grader.cli`: the command line; :mod:`~lossbook.grader.exchange`: nbgrader's
  exchange with owner-checked collect.

Runs outside the learner's kernel; imports from every layer below, never the other way round.
"""
