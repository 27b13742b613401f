"""How a command ends on an error its user should read: one line on stderr.

Two kinds of error end a command that way, without a traceback:

  * a refusal (`Refusal`, exit code 2, as for a bad flag): a flag, setting
    or file that the command's own checks refuse before any work starts (a
    bad value, an output directory of another run, no checkpoint to
    restore). Those checks raise ValueError; the blocks they run in are
    marked with `refusing()`, which turns their ValueError into a Refusal.
    A ValueError raised anywhere else is a bug, and keeps its traceback.
  * a stop (a `Stop`, or FloatingPointError: an evaluation in which no
    batch was finite; exit code 1, or 130 or 143 after Ctrl-C or SIGTERM
    with the command that resumes): training or an evaluation ended early
    for a reason the message gives.

Every command's main is wrapped in `one_line_errors`, the one place that
turns these into their line and exit code.
"""

import contextlib
import functools
import shlex
import sys


class Refusal(ValueError):
    """A flag, setting or file refused before any work (exit code 2)."""

    exit_code = 2


@contextlib.contextmanager
def refusing():
    """The block of a command's checks before work: its ValueError is a
    Refusal (one line, exit code 2), not a traceback."""
    try:
        yield
    except Refusal:
        raise
    except ValueError as error:
        raise Refusal(str(error)) from error


class Stop(RuntimeError):
    """Work ended early, for the reason the message gives (exit code 1)."""

    exit_code = 1
    # Whether running the same command again resumes (said after the message).
    resumes = False


# What ends a command in one line besides a refusal.
STOPS = (Stop, FloatingPointError)


def command_line():
    """The command this process runs, as the user would type it again."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    program = ["python", "-m", spec.name] if spec else ["python", sys.argv[0]]
    return shlex.join(program + sys.argv[1:])


def exit_on(error):
    """Ends the process for a Refusal or one of STOPS: one line on stderr,
    its exit code (after Ctrl-C, with the command that resumes)."""
    message = f"Error: {error}"
    if getattr(error, "resumes", False):
        message = f"{error} To resume, run the same command again: {command_line()}"
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(getattr(error, "exit_code", 1))


def one_line_errors(main):
    """A command's `main(argv)` that ends in one line (see exit_on) on a
    Refusal or one of STOPS; any other error keeps its traceback."""

    @functools.wraps(main)
    def main_of_the_command(argv):
        try:
            return main(argv)
        except (Refusal, *STOPS) as error:
            exit_on(error)

    return main_of_the_command
