"""The training loop and what it writes: train, outputs, reports,
writers, plots, best checkpoints, health, signals, AOT topologies."""
