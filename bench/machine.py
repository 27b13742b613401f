"""What a benchmark ran on: CPU model and extensions, library versions, threads.

A speed figure means something only as a ratio from one run on a named
machine, so every bench prints `describe()` first.
"""

import os
import platform

# The CPU flags (as /proc/cpuinfo spells them) that decide which kernels
# oneDNN can use: vector width and the half-precision matrix units.
EXTENSIONS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)
BF16_UNITS = ("avx512_bf16", "amx_bf16")


def _cpuinfo():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def cpu_model():
    """The CPU's model name ("Intel(R) Xeon(R) ..."), or the platform's guess."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_extensions():
    """The members of EXTENSIONS this CPU has, in EXTENSIONS order."""
    for line in _cpuinfo().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return [name for name in EXTENSIONS if name in flags]
    return []


def has_bf16_units():
    """True when the CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX)."""
    return any(name in cpu_extensions() for name in BF16_UNITS)


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def describe():
    """Lines naming the CPU, its extensions, TensorFlow, Keras and threads."""
    import keras
    import tensorflow as tf

    threading = tf.config.threading
    intra = threading.get_intra_op_parallelism_threads() or os.cpu_count()
    inter = threading.get_inter_op_parallelism_threads() or os.cpu_count()
    return [
        f"CPU: {cpu_model()}, {os.cpu_count()} cores; "
        f"extensions: {' '.join(cpu_extensions()) or 'none of ' + str(EXTENSIONS)}",
        f"TensorFlow {tf.__version__} (oneDNN "
        f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default on')}), "
        f"Keras {keras.__version__}, threads intra-op {intra} / inter-op {inter}, "
        f"GPUs {len(tf.config.list_physical_devices('GPU'))}, "
        f"1-min load average at start {load_average():.2f}",
    ]
