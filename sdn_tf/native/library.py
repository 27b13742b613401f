"""Compiles the native sweep kernel for this machine at first use, cached.

Like PyTorch's C++ extensions: the source ships inside the package
(correction_sweep.cc) and is compiled on the user's machine, with the C++
compiler on PATH (or SDN_TF_CXX) and TensorFlow's own compile and link
flags (tf.sysconfig), for this CPU (-march=native). The library is cached
under $XDG_CACHE_HOME/sdn_tf/native (default ~/.cache/sdn_tf/native), in a
file named after everything it depends on: TensorFlow's version, the
source, the compiler, the flags and the CPU. Builders hold a file lock, so
that parallel processes (pytest-xdist workers) build it once, and the
library appears under its name by an atomic rename, complete or not at all.
"""

import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import tensorflow as tf

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "correction_sweep.cc")
COMPILER_VARIABLE = "SDN_TF_CXX"
"""The environment variable naming the C++ compiler to build the kernel with
(a command on PATH or a path); by default the first of c++ and g++."""
DEFAULT_COMPILERS = ("c++", "g++")
OPTIMIZATION_FLAGS = ["-O3", "-march=native", "-std=c++17", "-shared", "-fPIC"]
# TensorFlow's Eigen does not compile with AVX512-FP16 enabled (a template
# specialisation of predux_half_dowto4 that g++ 12 rejects); the kernel
# does no float16 math, so it is turned off on x86 CPUs that have it.
X86_FLAGS = ["-mno-avx512fp16"]
# The build's diagnostics: TensorFlow's headers use their own deprecated
# names.
QUIET_FLAGS = ["-Wno-deprecated-declarations", "-Wno-interference-size"]


class BuildError(RuntimeError):
    """The kernel could not be compiled; the message says why and what to do."""


def compiler():
    """The C++ compiler command: SDN_TF_CXX, else c++ or g++ on PATH."""
    chosen = os.environ.get(COMPILER_VARIABLE)
    if chosen:
        return chosen
    for name in DEFAULT_COMPILERS:
        if shutil.which(name):
            return name
    return DEFAULT_COMPILERS[0]


def compile_flags():
    """Every flag of the compile-and-link command but the files."""
    flags = list(OPTIMIZATION_FLAGS)
    if platform.machine().lower() in ("x86_64", "amd64"):
        flags += X86_FLAGS
    return flags + QUIET_FLAGS + tf.sysconfig.get_compile_flags()


def cache_dir():
    """$XDG_CACHE_HOME/sdn_tf/native, or ~/.cache/sdn_tf/native."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return os.path.join(base, "sdn_tf", "native")


def _cpu_signature():
    """What -march=native compiles for: the CPU's model and feature flags."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            lines = [
                line
                for line in cpuinfo
                if line.startswith(("model name", "flags", "Features", "CPU part"))
            ]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor() or platform.machine()


def library_path():
    """Where the library for this TensorFlow, source, compiler, flags and CPU
    is cached (built or not)."""
    with open(SOURCE, "rb") as source:
        key = hashlib.sha256(source.read())
    for part in [
        tf.__version__,
        compiler(),
        *compile_flags(),
        *tf.sysconfig.get_link_flags(),
        _cpu_signature(),
    ]:
        key.update(part.encode() + b"\0")
    name = f"correction_sweep-tf{tf.__version__}-{key.hexdigest()[:16]}.so"
    return os.path.join(cache_dir(), name)


def _compile(output):
    """Compiles SOURCE into the shared library `output`."""
    command = [
        compiler(),
        *compile_flags(),
        SOURCE,
        "-o",
        output,
        *tf.sysconfig.get_link_flags(),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:  # no such compiler, or not executable
        raise BuildError(
            f"The C++ compiler {command[0]!r} could not be run ({error}). "
            "Install g++ (or another C++17 compiler) or point "
            f"{COMPILER_VARIABLE} at one."
        ) from error
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-20:])
        raise BuildError(
            f"Compiling {SOURCE} failed (exit status {result.returncode}):\n"
            f"{' '.join(command)}\n{tail}"
        )


def build():
    """The path of the kernel's library, compiled first if not cached.

    Raises:
      BuildError: when the compiler is missing or the compilation fails.
    """
    path = library_path()
    if os.path.exists(path):
        return path
    if shutil.which(compiler()) is None:
        raise BuildError(
            f"The C++ compiler {compiler()!r} could not be run (not found). "
            "Install g++ (or another C++17 compiler) or point "
            f"{COMPILER_VARIABLE} at one."
        )
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        lock = open(path + ".lock", "w")
    except OSError as error:
        raise BuildError(
            f"The kernel cache {directory} is not writable ({error}); set "
            "XDG_CACHE_HOME to a writable directory."
        ) from error
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if os.path.exists(path):  # another process built it meanwhile
            return path
        print(
            "sdn_tf: compiling the native sweep kernel for this machine "
            f"(once, about a minute) into {directory}",
            file=sys.stderr,
            flush=True,
        )
        handle, temporary = tempfile.mkstemp(suffix=".so.tmp", dir=directory)
        os.close(handle)
        try:
            _compile(temporary)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o755 & ~umask)  # mkstemp's file is private
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    return path
