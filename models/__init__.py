"""The paper models: BetaVAE (disentanglement) and SDNVAE (density)."""

from models.beta_vae import BetaAnnealing, BetaVAE

__all__ = ["BetaAnnealing", "BetaVAE"]
