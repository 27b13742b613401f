"""Training commands and their shared runtime.

python -m train.disentangle   beta-VAE with CNN / SDN / broadcast decoders
python -m train.density       SDN-VAE and IAF-VAE+ density estimation
python -m train.evaluate      test bounds and figures from a checkpoint
python -m train.export        SavedModel export of a trained model
"""
