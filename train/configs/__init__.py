"""The training commands' configs, one module per command (see train.config).

COMMANDS maps a command's name to its module: Config, PRESETS, DEFAULT,
RENAMED (old flag names), RETIRED (old flags no setting replaces, and what
does), LEGACY_DEFAULTS (settings added after runs were recorded as flat
dicts, before typed configs, with the values those runs had) and the preset
functions.
"""

from sdn_tf.train.configs import density, disentangle

COMMANDS = {module.COMMAND: module for module in (density, disentangle)}
