"""Named settings of the training commands, in one place.

DISENTANGLE_PRESETS: the beta-VAE settings of the two papers and a quick
default. Each is a plain dict of `train.disentangle` flag values; flags given
on the command line override them.
"""

DISENTANGLE_PRESETS = {
    # Minutes on a laptop CPU: circles, broadcast decoder, Bernoulli.
    "quick": dict(
        dataset="sdn_circles/xy",
        decoder="broadcast",
        observation="bernoulli",
        latent_dim=10,
        beta=1.0,
        anneal_steps=0,
        batch_size=32,
        learning_rate=1e-3,
        optimizer="adam",
        steps=2000,
        encoder_channels=(32, 32, 64, 64),
        fc_channels=64,
        metric_scale=0.05,
    ),
    # SDN paper, appendix A.5 (Tables 7-9): 3D-Shapes, batch 128, Adamax
    # 1e-3, 10 latents, discretized logistic, beta annealed over 100k of
    # 200k steps; one 1-direction SDN layer with 200 features at scale 32.
    "sdn_paper": dict(
        dataset="sdn_shapes",
        decoder="sdn",
        observation="logistic",
        latent_dim=10,
        beta=1.0,
        anneal_steps=100_000,
        batch_size=128,
        learning_rate=1e-3,
        optimizer="adamax",
        steps=200_000,
        encoder_channels=(32, 32, 64, 64),
        fc_channels=256,
        sdn_features=200,
        sdn_scale=32,
        sdn_directions=("down",),
        metric_scale=1.0,
    ),
    # Spatial Broadcast paper, appendix A (Table 1): coloured sprites, Adam
    # 3e-4, batch 16, Bernoulli, 64-channel encoder and broadcast decoder.
    "broadcast_paper": dict(
        dataset="sdn_sprites/colored",
        decoder="broadcast",
        observation="bernoulli",
        latent_dim=10,
        beta=1.0,
        anneal_steps=0,
        batch_size=16,
        learning_rate=3e-4,
        optimizer="adam",
        steps=1_500_000,
        encoder_channels=(64, 64, 64, 64),
        fc_channels=64,
        broadcast_layers=2,
        broadcast_channels=64,
        metric_scale=1.0,
    ),
}
