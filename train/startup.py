"""A quiet start for the training commands: TensorFlow loads without the
lines it prints before it reads its log level.

sdn_tf/__init__.py loads Keras and TensorFlow inside `quiet_start` when the
process was started as one of the commands (`python -m train.density` in a
checkout, `python -m sdn_tf.train.density` where the wheel is installed),
which is before any of the command's own code runs. Standard library only:
this module is imported before TensorFlow.
"""

import contextlib
import os
import sys
import tempfile

COMMAND_PACKAGES = ("train.", "sdn_tf.train.")


def started_as_a_command(orig_argv=None):
    """Whether this process was started as `python -m` one of the commands;
    true from the interpreter's start (before `__main__` exists)."""
    arguments = iter(list(sys.orig_argv if orig_argv is None else orig_argv)[1:])
    for argument in arguments:
        if argument in ("-X", "-W"):  # the interpreter's options with a value
            next(arguments, None)
        elif argument == "-m":
            return next(arguments, "").startswith(COMMAND_PACKAGES)
        elif argument.startswith("-m"):
            return argument[2:].startswith(COMMAND_PACKAGES)
        elif argument in ("-c", "--") or not argument.startswith("-"):
            return False  # a script or -c program: the rest are its arguments
    return False


def verbosity_argument(argv):
    """The value of absl's --verbosity (-v) in `argv`, or None when it is not
    given (or not an integer, which absl refuses later)."""
    value, arguments = None, iter(argv[1:])
    for argument in arguments:
        if argument == "--":
            break
        name, has_value, text = argument.lstrip("-").partition("=")
        if argument.startswith("-") and name in ("verbosity", "v"):
            try:
                value = int(text if has_value else next(arguments, ""))
            except ValueError:
                value = None
    return value


def tensorflow_log_level(verbosity):
    """TF_CPP_MIN_LOG_LEVEL for absl's --verbosity: TensorFlow's C++ INFO
    lines from 0 (INFO) up, its warnings at -1, errors at -2; when the flag
    is not given, only fatal errors (3) (e.g. no "failed call to cuInit" on
    a machine without a GPU)."""
    if verbosity is None:
        return "3"
    return str(min(3, max(0, -verbosity)))


@contextlib.contextmanager
def _native_stderr_held_back():
    """Keeps what is written to file descriptor 2 in the block (native code's
    lines included); shows it only when the block raises."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2: nothing to hold back
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
            sys.stderr.flush()
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def quiet_start(argv, command=True):
    """The block around the imports that load TensorFlow, in a command.

    TensorFlow reads TF_CPP_MIN_LOG_LEVEL once, when it loads: this sets it
    from --verbosity (tensorflow_log_level) unless the user has set it.
    Some lines come before TensorFlow applies that level (absl's "All log
    messages before absl::InitializeLog()...", oneDNN's notice, "Could not
    find cuda drivers"): they are held back, and shown only when loading
    fails or the level is 0. Without --verbosity, TFDS's progress bars stay
    off too (TQDM_DISABLE, read when tqdm loads). A no-op unless `command`
    (a process other than a train command is left as it is).
    """
    if not command:
        yield
        return
    verbosity = verbosity_argument(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", tensorflow_log_level(verbosity))
    if verbosity is None or verbosity < 0:
        os.environ.setdefault("TQDM_DISABLE", "1")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("", "0"):
        yield
        return
    with _native_stderr_held_back():
        yield
