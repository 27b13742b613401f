"""The images a command's config names, as the commands feed them."""

import sdn_tf


def load_split(config, split, batch_size, repeat=False, seed=0):
    """A split of config.data's dataset on the model's grid (model.num_bits):
    the train split shuffled (and flipped where config.data.flip says so)."""
    training = split == "train"
    return sdn_tf.data.load(
        config.data.dataset,
        split,
        batch_size=batch_size,
        num_bits=config.model.num_bits,
        flip=config.data.flip and training,
        seed=seed,
        repeat=repeat,
        shuffle=training,
        data_dir=config.data.data_dir,
    )
