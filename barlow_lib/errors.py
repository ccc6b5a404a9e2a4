"""One exception type for mistakes a user can fix: it says what is wrong and what to do.

Messages name the library's own parameters in backticks (`batch_size`, `source`); the command line
prints its flags in their place (``--batch-size``, ``--data``), so each caller reads its own language.
"""


class BarlowError(Exception):
    """An expected mistake (bad input, bad option, a damaged file). The CLI prints it without a traceback."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem, self.fix = problem, fix
        super().__init__(problem if not fix else f"{problem} Fix: {fix}.")
