"""The GAN's mathematics: the train state, the step, losses, penalties,
regularisers, latents, the progressive schedule, non-finite checks."""
