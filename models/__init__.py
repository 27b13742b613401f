"""The paper models: BetaVAE (disentanglement) and SDNVAE (density)."""

from models.beta_vae import BetaAnnealing, BetaVAE
from models.sdn_vae import SDNVAE

__all__ = ["BetaAnnealing", "BetaVAE", "SDNVAE"]
