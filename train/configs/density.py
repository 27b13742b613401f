"""Configs of train.density: the SDN-VAE (or IAF-VAE+) for density estimation.

    python -m train.density --config=cifar10 --config.model.h_size=256 ...

Presets are functions; each starts from another and states what differs.
`cifar10`, `imagenet32` and `celebahq256` are the models the authors
trained: the settings of their 8-GPU scripts (github.com/djordjemila/sdn,
train_cifar.sh and train_celeb.sh at e70fddd, train_imagenet.sh) as their
code reads them (lib/DensityVAE.py, lib/nn.py, lib/probability.py,
lib/utils.py, train.py). Where the paper says otherwise the `*_table3`
presets follow Table 3 of Miladinovic et al. (2021), appendix A.1; the
README lists every difference. `scales` lists (resolution, ladder layers,
SDN features) bottom-up. batch_size is the global batch: 32 (or 4) per GPU
on 8 GPUs. The paper trained in mixed precision.
"""

import dataclasses
import math

from sdn_tf import arguments
from sdn_tf.models import SDNVAE
from sdn_tf.models.sdn_vae import decremented_widths
from sdn_tf.train import config
from sdn_tf.train.config import Data, Optimizer, Run, setting

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
    """The settings of `python -m train.density`: the SDNVAE's arguments
    (`model`), the data, the optimizer, how to run and how to evaluate."""

    model: Model = dataclasses.field(default_factory=Model)
    data: Data = dataclasses.field(default_factory=Data)
    optimizer: Optimizer = dataclasses.field(default_factory=Optimizer)
    run: Run = dataclasses.field(default_factory=Run)
    evaluation: Evaluation = dataclasses.field(default_factory=Evaluation)

    def validate(self):
        self.optimizer.validate()
        self.run.validate()
        self.evaluation.validate()


# Old flag names (before typed configs) -> settings, and those retired ->
# what replaces them (the command refuses them with that text).
RENAMED = {}
# What the default preset changed since runs were recorded before typed
# configs (runs.upgrade): those runs had Keras' kernels, a transposed last
# layer and no KL warm-up.
LEGACY_DEFAULTS = {
    "model.kernel_initializer": "glorot_uniform",
    "model.output_upsampling": "transpose",
    "model.kl_warmup_steps": 0,
}
RETIRED = {
    "image_size": "the image shape comes from the dataset (--dataset), as "
    "model.image_shape left unset; leave the flag out.",
}


def authors(num_dimensions, steps_per_epoch, lr_decay=0.999):
    """What the authors' three scripts share (on top of `paper`).

    Their runs: log-variance latents (lib/probability.py, IsoGaussian),
    orthogonal convolution kernels (lib/utils.py, weights_init), Adamax
    with PyTorch's epsilon 1e-8 on a loss in nats per image (ours is in
    bits per dimension, so the same epsilon is 1e-8 / (D ln 2)), the rate
    times `lr_decay` once per epoch (ExponentialLR stepped by PyTorch
    Lightning; 1.0: constant), and 1000 epochs (Lightning's default:
    train.py parses --iters but never uses it).
    """
    decays = lr_decay < 1.0
    return config.updated(
        paper(),
        model=dict(latent_parameterization="log_variance"),
        optimizer=dict(
            lr_decay_steps=steps_per_epoch if decays else 0,
            lr_decay_rate=lr_decay,
            lr_staircase=True,
            epsilon=1e-8 / (num_dimensions * math.log(2.0)),
        ),
        run=dict(steps=1000 * steps_per_epoch),
    )


def paper():
    """What the paper's three configs share (Table 3), with the authors'
    orthogonal convolution kernels (lib/utils.py, weights_init; Table 3 names
    no initialization): on the main job's config, Keras' glorot_uniform left
    the SDN-VAE 0.3-0.7 bits/dim behind IAF-VAE+ after 200 steps, orthogonal
    kernels level with it (bench/density_diagnostics.py; README)."""
    return Config(
        model=Model(
            h_size=200,
            z_size=4,
            iaf_context=100,
            free_bits=0.01,
            kernel_initializer="orthogonal",
        ),
        optimizer=Optimizer("adamax", 0.002, lr_decay_steps=200_000, ema=0.999),
        run=Run(
            precision="mixed_float16",
            checkpoint_every=2000,
            image_every=2000,
            log_every=100,
            epoch_steps=1000,
        ),
    )


def cifar10_table3():
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


def imagenet32_table3():
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


def celebahq256_table3():
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


def cifar10():
    """CIFAR-10 as the authors trained it (train_cifar.sh at e70fddd): SDN
    widths from 360 down by 128 after each downsampling layer (360 x 6,
    232 x 5, 104 x 4; the last layer's 4-direction ResSDN 360), the rate
    x0.999 per epoch of 196 steps (50,000 images / (8 x 32)), 196K steps.
    120.8M parameters (Table 4: 121M); --use_sdn=false builds IAF-VAE+
    with 41.6M (Table 4's CNN: 42M)."""
    return config.updated(
        authors(32 * 32 * 3, steps_per_epoch=196),
        model=dict(
            scales=decremented_widths((5, 5, 5), 32, start=360, decrement=128),
            sdn_directions=2,
            num_components=5,
        ),
        data=dict(dataset="cifar10", flip=True),
        run=dict(batch_size=32 * 8),
    )


def imagenet32():
    """ImageNet32 as the authors trained it (train_imagenet.sh): downsampling
    at layers 3, 7 and 11 (3/4/4/5 layers per scale), 424 SDN features
    everywhere, no learning-rate decay, 1000 epochs of 5005 steps."""
    return config.updated(
        authors(32 * 32 * 3, steps_per_epoch=5005, lr_decay=1.0),
        model=dict(
            scales=decremented_widths((3, 4, 4, 5), 32, start=424, decrement=0),
            sdn_directions=3,
            num_components=10,
        ),
        data=dict(dataset="downsampled_imagenet/32x32", flip=False),
        optimizer=dict(ema=0.9995),
        run=dict(batch_size=32 * 8),
    )


def celebahq256():
    """CelebAHQ256 as the authors trained it (train_celeb.sh at e70fddd, the
    8-GPU set): SDN only on inputs up to 64x64, widths from 400 down by 80,
    z 8 with an IAF context of 96 (lib/probability.py: 100 // z * z), the
    rate x0.999 per epoch of 844 steps (27,000 images / (8 x 4))."""
    return config.updated(
        authors(256 * 256 * 3, steps_per_epoch=844),
        model=dict(
            z_size=8,
            iaf_context=96,
            scales=decremented_widths(
                (4, 3, 2, 2, 2, 2, 2), 256, start=400, decrement=80, max_resolution=64
            ),
            sdn_directions=2,
            num_components=30,
            num_bits=5,
        ),
        data=dict(dataset="celeb_a_hq/256", flip=True),
        optimizer=dict(learning_rate=0.001),
        run=dict(batch_size=4 * 8),
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
            output_upsampling="resize",
            # Half the run with the KL weighted up from 0: without it the
            # latents carry little beyond the patches' colours after 400
            # steps and the samples show smooth fields (README, "the main
            # job's recipe"); the paper's presets keep 0.
            kl_warmup_steps=200,
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
            kl_warmup_steps=10,
        ),
        optimizer=dict(ema=0.9),
        run=dict(batch_size=8, steps=20),
    )


PRESETS = {
    "cifar10": cifar10,
    "imagenet32": imagenet32,
    "celebahq256": celebahq256,
    "cifar10_table3": cifar10_table3,
    "imagenet32_table3": imagenet32_table3,
    "celebahq256_table3": celebahq256_table3,
    "photo_patches": photo_patches,
    "tiny": tiny,
}
DEFAULT = "photo_patches"
