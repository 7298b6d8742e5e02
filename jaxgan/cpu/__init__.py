"""Code only the CPU backend runs: DCGAN's convolution forms, oneDNN's
kernels, their autotuner, the CPU's identity and XLA:CPU's flags.
Nothing here is imported on a GPU or TPU."""
