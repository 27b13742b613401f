"""The authors' SDN layer algorithm in PyTorch, for timing beside ours.

Follows djordjemila/sdn `lib/nn.py` (`SDNLayer`, `_CorrectionLayer`,
`SDNCell`) in what costs time: a Conv2d project-in and tanh, channels-last
features, then per direction a Python loop over rows in which a
`torch.nn.GRUCell(3F, F)` corrects each row from the concatenated three
neighbours of the previous row (zero padded), written back in place; the
first row of each sweep is left as it is (their loop starts at 1); a 1x1
Conv2d project-out. Written here from that description, not copied.

Imported only when PyTorch is installed; nothing else in sdn_tf needs it.
"""

import torch


def _correct_along(cell, features, axis, reverse):
    """One sweep over `features` [B, F, H, W] along `axis` (2: rows, 3: cols)."""
    batch, num_features = features.shape[:2]
    size = features.shape[axis]
    zeros = features.new_zeros(batch, num_features, 1)
    steps = range(size - 2, -1, -1) if reverse else range(1, size)
    for index in steps:
        previous = features.select(axis, index + 1 if reverse else index - 1)
        padded = torch.cat([zeros, previous, zeros], dim=2).transpose(1, 2)
        neighbours = torch.cat(
            [padded[:, :-2], padded[:, 1:-1], padded[:, 2:]], dim=2
        ).reshape(-1, 3 * num_features)  # [B * L, 3F]
        current = features.select(axis, index)  # [B, F, L]
        state = current.transpose(1, 2).reshape(-1, num_features).clone()
        corrected = cell(neighbours, state).reshape(batch, -1, num_features)
        current.copy_(corrected.transpose(1, 2))
    return features


# Direction name -> (axis of the [B, F, H, W] tensor the sweep walks, reverse).
_DIRECTIONS = {
    "down": (2, False),
    "up": (2, True),
    "right": (3, False),
    "left": (3, True),
}


class AuthorsSDNLayer(torch.nn.Module):
    """Project-in (kernel 1), one GRU-cell sweep per direction, project-out."""

    def __init__(self, channels, num_features, directions):
        super().__init__()
        self.project_in = torch.nn.Conv2d(channels, num_features, 1)
        self.cells = torch.nn.ModuleList(
            [torch.nn.GRUCell(3 * num_features, num_features) for _ in directions]
        )
        self.directions = [_DIRECTIONS[d] for d in directions]
        self.project_out = torch.nn.Conv2d(num_features, channels, 1)

    def forward(self, x):
        features = torch.tanh(self.project_in(x))
        features = features.contiguous(memory_format=torch.channels_last)
        for cell, (axis, reverse) in zip(self.cells, self.directions):
            features = _correct_along(cell, features, axis, reverse)
        return self.project_out(features.contiguous())
