"""Autograde: the notebook runs in the sandbox and survives loops, crashes and floods of output."""

from __future__ import annotations

import copy
import secrets
from time import monotonic

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from lossbook.checks import seal
from lossbook.grader.cells import cell_label, error_output, grader_meta
from lossbook.grader.notes import add_note
from lossbook.grader.output_cap import OutputBudget, output_bytes
from lossbook.grader.sandbox import SandboxedKernelManager

SEAL_KEY = "seal_key"
"""Where, in ``resources["lossbook"]``, the run's seal key (hex) waits for the verifying steps."""


class GradingEnvironmentError(RuntimeError):
    """The grader itself cannot run the notebook (no kernel could start): not the learner's fault."""


class _KernelStartFailed(Exception):
    """A kernel to resume grading after a crash could not start."""


class _KernelLost(Exception):
    """The kernel died or stopped answering in the cell at ``index``."""

    def __init__(self, index: int, ename: str, message: str) -> None:
        super().__init__(message)
        self.index, self.ename, self.message = index, ename, message


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, in the sandbox, surviving loops, crashes and floods of output.

    - Each cell gets ``Execute.timeout`` seconds (the grader's first cell gets ``setup_timeout``,
      since it imports torch); the whole notebook gets ``notebook_timeout``.
    - A cell past its time is interrupted and gets a ``CellTimeoutError``; execution goes on.
    - A cell that ignores the interrupt (``interrupt_grace`` seconds), or during which the kernel
      dies (``os._exit``, out of CPU time), gets an error output; a fresh kernel re-runs the
      cells before it (output discarded) and grading resumes after it. At most ``max_restarts``
      times; cells never reached get an error saying why, so test cells among them score 0.
    - Processes a cell leaves behind are killed when it ends (a fork bomb's children).
    - At most ``max_output_bytes`` of text and ``max_image_bytes`` of images are kept per cell,
      as the output arrives, so a flood cannot fill the grader's memory; widget messages are
      ignored.
    """

    notebook_timeout = Integer(
        900, help="Wall-clock seconds for the whole notebook, restarts included."
    ).tag(config=True)
    setup_timeout = Integer(
        180, help="Seconds for the grader's first cell (imports torch and the checks)."
    ).tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts allowed per notebook.").tag(config=True)
    interrupt_grace = Integer(
        5, help="Seconds a cell has to stop after an interrupt before its kernel is killed."
    ).tag(config=True)
    max_output_bytes = Integer(
        100_000, help="Bytes of text output kept per cell (the rest is cut, with a note)."
    ).tag(config=True)
    max_image_bytes = Integer(2_000_000, help="Bytes of images (figures) kept per cell.").tag(
        config=True
    )
    shutdown_kernel = Unicode("immediate").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(**kwargs)

    # Execute.preprocess is NotebookClient's loop; this one restarts the kernel when it is lost.
    def preprocess(self, nb, resources, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._resources_for_notes = resources
        self._seal_key = secrets.token_bytes(32)
        resources.setdefault("lossbook", {})[SEAL_KEY] = self._seal_key.hex()
        self._budgets: dict[int, OutputBudget] = {}
        self.iopub_timeout = self.interrupt_grace
        deadline = monotonic() + self.notebook_timeout
        code = [index for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]
        ran: list[int] = []
        position, restarts, stop = 0, 0, None
        while position < len(code) and stop is None:
            try:
                self._start_kernel(first=not ran)
                self._replay(ran, deadline)
                while position < len(code):
                    index = code[position]
                    if monotonic() >= deadline:
                        stop = (
                            f"the notebook ran out of its {self.notebook_timeout} s "
                            "time limit before this cell"
                        )
                        break
                    self._run(index, deadline)
                    ran.append(index)
                    position += 1
            except _KernelStartFailed as failure:
                stop = f"no new kernel could be started ({failure})"
            except _KernelLost as lost:
                cell = nb.cells[lost.index]
                cell.outputs.append(error_output(lost.ename, lost.message))
                restarts += 1
                if lost.index == code[position]:
                    position += 1
                else:
                    stop = (
                        "the kernel could not be rebuilt: re-running an earlier cell failed "
                        f"({lost.message})"
                    )
                add_note(
                    self.nb,
                    resources,
                    cell_label(nb.cells, lost.index),
                    lost.message,
                    human=stop is not None,
                    log=self.log,
                )
                if stop is None and restarts > self.max_restarts:
                    stop = f"the kernel was lost {restarts} times, more than {self.max_restarts}"
            finally:
                if self.km is not None:
                    self._cleanup_kernel()
        if position < len(code):
            stop = stop or "execution stopped"
            add_note(
                self.nb,
                resources,
                cell_label(nb.cells, code[position]),
                f"not run, nor any cell after it: {stop}",
                human=True,
                log=self.log,
            )
            for index in code[position:]:
                nb.cells[index].outputs = [error_output("NotRun", f"this cell was not run: {stop}")]
        return nb, resources

    def _start_kernel(self, first: bool) -> None:
        """Start a kernel and its client (as ``NotebookClient.setup_kernel`` does).

        A kernel that cannot start is the grader's problem, never the submission's: the first
        time, :class:`GradingEnvironmentError` stops this notebook's grading (nbgrader keeps the
        recorded grades); after a crash, the cells not yet run get an error saying why.
        """
        try:
            self.km = self.create_kernel_manager()
            self.start_new_kernel()
            self.start_new_kernel_client()
            self.wait_for_reply(self.kc.kernel_info())
        except Exception as error:  # jupyter_client raises RuntimeError, TimeoutError, OSError...
            log = self.km.kernel_log() if hasattr(self.km, "kernel_log") else ""
            detail = f"{type(error).__name__}: {error}" + (f"; kernel log: {log}" if log else "")
            if first:
                raise GradingEnvironmentError(
                    f"the grading kernel could not start: {detail}"
                ) from error
            raise _KernelStartFailed(detail) from error

    def _timeout_for(self, cell: NotebookNode, deadline: float) -> int:
        limit = self.setup_timeout if grader_meta(cell).get("grader_setup") else self.timeout
        return max(1, min(int(limit), int(deadline - monotonic()) + 1))

    def _run(self, index: int, deadline: float) -> None:
        cell = self.nb.cells[index]
        not_run = grader_meta(cell).get("not_run")
        if not_run:
            cell.outputs = [error_output(grader_meta(cell).get("ename", "NotRun"), not_run)]
            return
        setup = bool(grader_meta(cell).get("grader_setup"))
        timeout = self._timeout_for(cell, deadline)
        self.timeout_func = lambda _cell: timeout
        self.error_on_timeout = {
            "ename": "CellTimeoutError",
            "evalue": f"the cell ran longer than {timeout} s and was interrupted",
            "traceback": [
                f"CellTimeoutError: the cell ran longer than {timeout} s and was interrupted"
            ],
        }
        try:
            self.execute_cell(cell, index, store_history=not setup)
        except DeadKernelError:
            raise _KernelLost(index, "KernelDied", self._death_message(timeout)) from None
        except CellTimeoutError:
            raise _KernelLost(
                index,
                "CellTimeoutError",
                f"the cell ran longer than {timeout} s and ignored the interrupt: its kernel "
                "was stopped, and grading went on in a new one",
            ) from None
        finally:
            self._kill_strays()
        if any(
            o.output_type == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs
        ):
            add_note(
                self.nb,
                self._resources_for_notes,
                cell_label(self.nb.cells, index),
                f"ran longer than {timeout} s: interrupted",
                log=self.log,
            )

    def _death_message(self, timeout: int) -> str:
        status = None
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None:
            status = process.poll()
        detail = f" (exit status {status})" if status is not None else ""
        return (
            f"the kernel died while running this cell{detail}: grading went on in a new "
            "kernel after re-running the cells before it"
        )

    def _replay(self, ran: list[int], deadline: float) -> None:
        """Re-run, in a fresh kernel, the cells that ran before it was lost; keep their outputs.

        Cells that were interrupted for running too long are not re-run: they would only run
        out of time again.
        """
        for index in ran:
            original = self.nb.cells[index]
            if any(output.get("ename") == "CellTimeoutError" for output in original.outputs):
                continue
            try:
                self._run_copy(original, index, deadline)
            finally:
                self.nb.cells[index] = original

    def _run_copy(self, original: NotebookNode, index: int, deadline: float) -> None:
        replica = copy.deepcopy(original)
        setup = bool(grader_meta(original).get("grader_setup"))
        timeout = self._timeout_for(original, deadline)
        self.timeout_func = lambda _cell: timeout
        try:
            self.execute_cell(replica, index, store_history=not setup)
        except (DeadKernelError, CellTimeoutError):
            raise _KernelLost(
                index, "KernelDied", "the kernel was lost again while re-running this cell"
            ) from None
        finally:
            self._kill_strays()

    def _kill_strays(self) -> None:
        kill = getattr(self.km, "kill_strays", None)
        if kill is not None:
            killed = kill()
            if killed:
                self.log.info("killed %d processes left behind by a cell", killed)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if hasattr(km, "seal_key"):
            km.seal_key = self._seal_key
        return km

    # Output: capped per cell as it arrives; no widget state.
    def _budget(self, cell_index: int) -> OutputBudget:
        if cell_index not in self._budgets:
            self._budgets[cell_index] = OutputBudget(self.max_output_bytes, self.max_image_bytes)
        return self._budgets[cell_index]

    def output(self, outs, msg, display_id, cell_index):
        if self.clear_before_next_output:
            self._budgets.pop(cell_index, None)
        out = super().output(outs, msg, display_id, cell_index)
        if (
            out is None
            or seal.MIME in out.get("data", {})
            or seal.FINDING_MIME in out.get("data", {})
        ):
            return out
        outs.remove(out)
        kept = self._budget(cell_index).admit(out)
        if kept is None and display_id:
            # Keep the slot, so that a later update of this display finds it.
            kept = nbformat.v4.new_output("display_data", data={"text/plain": ""})
        if kept is not None:
            outs.append(kept)
        return kept

    def clear_output(self, outs, msg, cell_index):
        super().clear_output(outs, msg, cell_index)
        if not outs:
            self._budgets.pop(cell_index, None)

    def _update_display_id(self, display_id, msg):
        data = msg.get("content", {}).get("data", {})
        probe = nbformat.v4.new_output("display_data", data=data)
        if (
            output_bytes(probe) <= self.max_output_bytes
            and output_bytes(probe, images=True) <= self.max_image_bytes
        ):
            super()._update_display_id(display_id, msg)

    def handle_comm_msg(self, outs, msg, cell_index):
        return None

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        index = kwargs["cell_index"]
        budget = self._budgets.pop(index, None)
        note = budget.note() if budget is not None else None
        if note is not None:
            kwargs["cell"].outputs.append(note)
            cut = []
            if budget.text_total > budget.text_kept:
                cut.append(f"printed {budget.text_total} bytes: cut to {budget.text_kept}")
            if budget.images_dropped:
                cut.append(f"{budget.images_dropped} bytes of images left out")
            add_note(
                self.nb,
                self._resources_for_notes,
                cell_label(self.nb.cells, index),
                "; ".join(cut),
                log=self.log,
            )
