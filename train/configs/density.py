"""Configs of train.density: the SDN-VAE (or IAF-VAE+) for density estimation.

    python -m train.density --config=cifar10 --config.model.h_size=256 ...

Presets are functions; each starts from another and states what differs.
The paper's three are Table 3 of Miladinovic et al. (2021), appendix A.1;
`scales` lists (resolution, ladder layers, SDN features or None) bottom-up.
batch_size is the global batch: the paper's 32 (or 4) per GPU on 8 GPUs.
Table 3 says "exponential" learning-rate annealing without a rate; ours
halves it every `lr_decay_steps` steps. The paper trained in mixed precision.
"""

import dataclasses

from models import SDNVAE
from sdn_tf import arguments
from train import config
from train.config import Data, Optimizer, Run, setting

COMMAND = "density"

# image_shape None: the dataset's (the command fills it in and records it).
Model = config.model_section(SDNVAE, image_shape=None)


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """What the command reports after training (may change on resume)."""

    eval_batches: int = setting(
        0, "Test batches for the final bits/dim (0: all).", changeable=True
    )
    temperatures: tuple = setting(
        (1.0, 0.9, 0.8, 0.7), "Temperatures of the rows of samples.png.", True
    )

    def validate(self):
        arguments.non_negative_integer(self.eval_batches, "eval_batches")
        arguments.check(
            isinstance(self.temperatures, tuple) and len(self.temperatures) > 0,
            "temperatures",
            "a non-empty tuple of temperatures",
            self.temperatures,
        )
        for temperature in self.temperatures:
            arguments.temperature(temperature, "temperatures")


@dataclasses.dataclass(frozen=True)
class Config:
    model: Model = dataclasses.field(default_factory=Model)
    data: Data = dataclasses.field(default_factory=Data)
    optimizer: Optimizer = dataclasses.field(default_factory=Optimizer)
    run: Run = dataclasses.field(default_factory=Run)
    evaluation: Evaluation = dataclasses.field(default_factory=Evaluation)

    def validate(self):
        self.optimizer.validate()
        self.run.validate()
        self.evaluation.validate()


# Old flag names (before typed configs) -> settings; `image_size` is now
# the dataset's image shape.
RENAMED = {}
RETIRED = ("image_size",)


def paper():
    """What the paper's three configs share (Table 3)."""
    return Config(
        model=Model(h_size=200, z_size=4, iaf_context=100, free_bits=0.01),
        optimizer=Optimizer("adamax", 0.002, lr_decay_steps=200_000, ema=0.999),
        run=Run(
            precision="mixed_float16",
            checkpoint_every=2000,
            image_every=2000,
            log_every=100,
            epoch_steps=1000,
        ),
    )


def cifar10():
    """CIFAR-10 (Table 3)."""
    return config.updated(
        paper(),
        model=dict(
            scales=((32, 5, 260), (16, 5, 240), (8, 5, 120)),
            sdn_directions=2,
            num_components=5,
        ),
        data=dict(dataset="cifar10", flip=True),
        run=dict(batch_size=32 * 8, steps=1_000_000),
    )


def imagenet32():
    """ImageNet32 (Table 3)."""
    return config.updated(
        paper(),
        model=dict(
            scales=((32, 4, 424), (16, 4, 424), (8, 4, 424), (4, 4, 424)),
            sdn_directions=3,
            num_components=10,
        ),
        data=dict(dataset="downsampled_imagenet/32x32", flip=False),
        optimizer=dict(ema=0.9995),
        run=dict(batch_size=32 * 8, steps=2_000_000),
    )


def celebahq256():
    """CelebAHQ256 at 5 bits (Table 3)."""
    return config.updated(
        paper(),
        model=dict(
            z_size=8,
            scales=(
                (256, 4, None),
                (128, 3, None),
                (64, 2, 360),
                (32, 2, 360),
                (16, 2, 360),
                (8, 2, 360),
                (4, 2, 360),
            ),
            sdn_directions=2,
            num_components=30,
            num_bits=5,
        ),
        data=dict(dataset="celeb_a_hq/256", flip=True),
        optimizer=dict(learning_rate=0.001),
        run=dict(batch_size=4 * 8, steps=1_000_000),
    )


def photo_patches():
    """The README's main job: minutes on a laptop CPU, offline photo patches."""
    return config.updated(
        paper(),
        model=dict(
            h_size=32,
            scales=((16, 2, 32), (8, 2, 32)),
            sdn_directions=2,
            num_components=5,
            iaf_context=32,
            downsample_first=True,
        ),
        data=dict(dataset="sdn_photo_patches", flip=True),
        optimizer=dict(ema=0.99),
        run=dict(
            batch_size=32,
            steps=400,
            precision="float32",
            checkpoint_every=200,
            image_every=200,
            log_every=50,
            epoch_steps=200,
        ),
    )


def tiny():
    """Seconds: tests and smoke runs."""
    return config.updated(
        photo_patches(),
        model=dict(
            h_size=8,
            z_size=2,
            scales=((16, 1, 8), (8, 1, 8)),
            sdn_directions=1,
            num_components=2,
            iaf_context=4,
        ),
        optimizer=dict(ema=0.9),
        run=dict(batch_size=8, steps=20),
    )


PRESETS = {
    "cifar10": cifar10,
    "imagenet32": imagenet32,
    "celebahq256": celebahq256,
    "photo_patches": photo_patches,
    "tiny": tiny,
}
DEFAULT = "photo_patches"
