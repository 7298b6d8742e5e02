"""What is done with a trained generator: generating images, the sample
views, scoring a run, the memorisation check."""
