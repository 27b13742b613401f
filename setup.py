"""Installs sdn_tf: the reusable layers, distributions, data and metrics, the
paper models as `sdn_tf.models` and the training commands as `sdn_tf.train`.

The repository keeps the models and commands at its top level (models/,
train/); the wheel puts them inside sdn_tf so that it installs no generic
top-level name (a user's own `models.py` or another distribution's `models`
package is left alone). sdn_tf/__init__.py maps the same names in a checkout.
"""

import os
import re

import setuptools

INSTALL_REQUIRES = [
    "tensorflow>=2.19,<2.22",
    "tensorflow-probability[tf]>=0.25,<0.26",
    "tensorflow-datasets>=4.9.8,<4.10",
    # TFDS 4.9 resolves builder code paths with importlib_resources, which
    # recent etils no longer pulls in.
    "importlib_resources>=6",
    "keras>=3.10,<3.16",
    "numpy>=1.26,<2.5",
    "absl-py>=2.1,<3",
    # tf.summary writes TensorBoard logs only when TensorBoard is installed,
    # which TensorFlow 2.21 no longer pulls in.
    "tensorboard>=2.19,<3",
    # Ground-truth metrics (scikit-learn), offline photo patches (its sample
    # images) and PNG figures (Pillow).
    "scikit-learn>=1.4,<2",
    "scipy>=1.11,<2",
    "pillow>=10,<14",
]

# The repository's top-level packages installed inside sdn_tf.
TOP_LEVEL = ["models", "models.*", "train", "train.*"]


def _version():
    """sdn_tf.__version__, read without importing TensorFlow."""
    with open(os.path.join("sdn_tf", "__init__.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.MULTILINE)[1]


setuptools.setup(
    name="sdn_tf",
    version=_version(),
    description=(
        "Spatial Dependency Networks in TensorFlow/Keras: SDN layers, "
        "Spatial Broadcast decoder, SDN-VAE and beta-VAE."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=setuptools.find_packages(include=["sdn_tf", "sdn_tf.*"])
    + [f"sdn_tf.{name}" for name in setuptools.find_packages(include=TOP_LEVEL)],
    package_dir={f"sdn_tf.{name}": name for name in ("models", "train")},
    # The native sweep kernel's C++ source, compiled on the user's machine at
    # first use (sdn_tf/native/library.py).
    package_data={"sdn_tf.native": ["*.cc"]},
    python_requires=">=3.10,<3.13",
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "test": [
            "pytest>=8,<10",
            "pytest-xdist>=3.5,<4",
            "ruff==0.17.6",
            # tests/setup_test.py builds the wheel and sdist.
            "build>=1.2,<2",
            # The documentation site (mkdocs.yml), built by tests/docs_test.py.
            "mkdocs>=1.6,<2",
            "mkdocs-material>=9.5,<10",
            "mkdocstrings[python]>=1.0,<2",
            "mkdocstrings-python>=2.0,<3",
            # The layers' tests under Keras' JAX backend (CPU): jax.jit,
            # lax.scan and custom_vjp as Keras 3.10+ uses them.
            "jax[cpu]>=0.4.34,<0.11",
            # The layers' tests under Keras' PyTorch backend (about a minute
            # of the suite). Pinned: pip takes this version's CPU build from
            # the project machines' wheel directory, where a range would
            # fetch a CUDA build of several GB. Never a default requirement.
            "torch==2.13.0",
            # The claims and bench scripts' plots (bench/density_curve.py).
            "matplotlib>=3.8,<4",
        ]
    },
    classifiers=[
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "License :: OSI Approved :: Apache Software License",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
    license="Apache-2.0",
)
