"""Configs of train.disentangle: a beta-VAE and its disentanglement metrics.

    python -m train.disentangle --config=sdn_paper --config.model.decoder=deconv

Presets are functions; each starts from `quick` and states what differs.
"""

import dataclasses

from sdn_tf import arguments
from sdn_tf.metrics import METRICS
from sdn_tf.models import BetaVAE
from sdn_tf.models.beta_vae import ANNEALING_SCHEDULES
from sdn_tf.train import config
from sdn_tf.train.config import Data, Run, setting

COMMAND = "disentangle"

# image_shape None: the dataset's (the command fills it in and records it).
# beta is the value BetaAnnealing raises the KL weight to.
Model = config.model_section(BetaVAE, image_shape=None)


@dataclasses.dataclass(frozen=True)
class Optimizer(config.Optimizer):
    """The optimizer, and the schedule of the KL weight beta."""

    anneal_steps: int = setting(
        0, "Steps over which beta rises linearly from 0 to model.beta (0: at once)."
    )
    anneal_schedule: str = setting(
        "linear",
        "Warm-up form: 'linear' (beta 0 at the first step) or 'authors' "
        "(model.beta / anneal_steps at the first step, as the authors' "
        "--beta_rate).",
    )

    def validate(self):
        super().validate()
        arguments.non_negative_integer(self.anneal_steps, "anneal_steps")
        arguments.one_of(
            self.anneal_schedule, "anneal_schedule", tuple(ANNEALING_SCHEDULES)
        )


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The disentanglement metrics (may change on resume)."""

    metrics: tuple = setting(tuple(METRICS), f"Metrics from {tuple(METRICS)}.", True)
    metric_interval: int = setting(
        0, "Steps between metric evaluations (0: only at the end).", True
    )
    metric_scale: float = setting(
        1.0, "Metric sample sizes as a fraction of the papers' (1.0).", True
    )

    def validate(self):
        arguments.check(
            isinstance(self.metrics, tuple) and set(self.metrics) <= set(METRICS),
            "metrics",
            f"a tuple of names from {tuple(METRICS)}",
            self.metrics,
        )
        arguments.non_negative_integer(self.metric_interval, "metric_interval")
        arguments.positive_number(self.metric_scale, "metric_scale")


@dataclasses.dataclass(frozen=True)
class Config:
    """The settings of `python -m train.disentangle`: the BetaVAE's arguments
    (`model`), the data, the optimizer, how to run and what to measure."""

    model: Model = dataclasses.field(default_factory=Model)
    data: Data = dataclasses.field(default_factory=Data)
    optimizer: Optimizer = dataclasses.field(default_factory=Optimizer)
    run: Run = dataclasses.field(default_factory=Run)
    evaluation: Evaluation = dataclasses.field(default_factory=Evaluation)

    def validate(self):
        arguments.non_negative_number(self.model.beta, "beta")
        self.optimizer.validate()
        self.run.validate()
        self.evaluation.validate()


# Old flag names (before typed configs) -> settings, and those retired ->
# what replaces them.
RENAMED = {"preset": "config"}
RETIRED = {}
LEGACY_DEFAULTS = {}


def quick():
    """Minutes on a laptop CPU: circles, broadcast decoder, Bernoulli."""
    return Config(
        model=Model(
            decoder="broadcast",
            observation="bernoulli",
            latent_dim=10,
            beta=1.0,
            encoder_channels=(32, 32, 64, 64),
            fc_channels=64,
        ),
        data=Data(dataset="sdn_circles/xy"),
        optimizer=Optimizer("adam", 1e-3),
        run=Run(
            batch_size=32,
            steps=2000,
            checkpoint_every=500,
            image_every=500,
            log_every=50,
            epoch_steps=500,
        ),
        evaluation=Evaluation(metric_scale=0.05),
    )


def sdn_paper():
    """SDN paper, appendix A.5 (Tables 7 and 9): 3D-Shapes, batch 128,
    Adamax 1e-3, 10 latents, Gaussian prior and posterior, discretized
    logistic, beta annealed linearly from 0 over 100k of 200k steps
    (Figure 12's caption) in the form of the authors' code; one
    non-residual 1-direction SDN layer with 200 features in place of the
    third up-convolution (output scale 32)."""
    return config.updated(
        quick(),
        model=dict(
            decoder="sdn",
            observation="logistic",
            fc_channels=256,
            sdn_features=200,
            sdn_scale=32,
            sdn_directions=("down",),
        ),
        data=dict(dataset="sdn_shapes"),
        optimizer=dict(
            name="adamax",
            learning_rate=1e-3,
            anneal_steps=100_000,
            anneal_schedule="authors",
        ),
        run=dict(batch_size=128, steps=200_000),
        evaluation=dict(metric_scale=1.0),
    )


def cnn_paper():
    """SDN paper, appendix A.5 (Tables 7 and 8): the CNN baseline, as
    `sdn_paper` with four transposed convolutions in the decoder."""
    return config.updated(sdn_paper(), model=dict(decoder="deconv"))


def sdn_mini():
    """`sdn_paper` in miniature for a 2-core CPU (~3 min of training; the
    Figure 7 miniature of bench/claims.py): batch 32 for 1,000 steps with
    beta annealed over the first 500 (the paper's proportion), 64 SDN
    features instead of 200 (200 cost 2 s a step at batch 32, 64 cost
    0.17 s), metrics on 1% of the papers' samples."""
    return config.updated(
        sdn_paper(),
        model=dict(sdn_features=64),
        optimizer=dict(anneal_steps=500),
        run=dict(
            batch_size=32,
            steps=1000,
            checkpoint_every=500,
            image_every=500,
            log_every=50,
            epoch_steps=500,
        ),
        evaluation=dict(metric_scale=0.01),
    )


def cnn_mini():
    """`cnn_paper` in miniature: `sdn_mini` with the CNN decoder."""
    return config.updated(sdn_mini(), model=dict(decoder="deconv"))


def sdn_authors():
    """The SDN beta-VAE as the authors' code trains it (train_3dshapes.sh and
    lib/DisentanglementVAE.py at 4dd9130): no hidden layer in the encoder,
    a 4x4x64 first decoder map, the SDN sweep left to right ("right", their
    direction 0), log-variance posteriors, beta = 1 from the first step
    (the script sets neither --beta_final nor --beta_rate, so no
    annealing), Adamax 1e-3 with PyTorch's epsilon. The run length is the
    paper's 200K steps: their train.py ignores --iters, so Lightning's
    default of 1000 epochs (3.75M steps) would apply."""
    return config.updated(
        sdn_paper(),
        model=dict(
            encoder_hidden=False,
            fc_channels=64,
            sdn_directions=("right",),
            latent_parameterization="log_variance",
        ),
        optimizer=dict(anneal_steps=0, epsilon=1e-8),
    )


def broadcast_paper():
    """Spatial Broadcast paper, appendix A (Table 1): coloured sprites, Adam
    3e-4, batch 16, Bernoulli, 64-channel encoder and broadcast decoder."""
    return config.updated(
        quick(),
        model=dict(
            encoder_channels=(64, 64, 64, 64),
            broadcast_layers=2,
            broadcast_channels=64,
        ),
        data=dict(dataset="sdn_sprites/colored"),
        optimizer=dict(learning_rate=3e-4),
        run=dict(batch_size=16, steps=1_500_000),
        evaluation=dict(metric_scale=1.0),
    )


PRESETS = {
    "quick": quick,
    "sdn_paper": sdn_paper,
    "cnn_paper": cnn_paper,
    "sdn_mini": sdn_mini,
    "cnn_mini": cnn_mini,
    "sdn_authors": sdn_authors,
    "broadcast_paper": broadcast_paper,
}
DEFAULT = "quick"
