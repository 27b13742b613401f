"""The paper models: BetaVAE (disentanglement) and SDNVAE (density)."""

from sdn_tf.models.beta_vae import BetaAnnealing, BetaVAE
from sdn_tf.models.sdn_vae import SDNVAE

__all__ = ["BetaAnnealing", "BetaVAE", "SDNVAE"]
