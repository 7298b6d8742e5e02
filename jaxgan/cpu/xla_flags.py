"""XLA:CPU flags a model's training runs faster with (CPU backend only)."""

# model.name -> its flags. XLA:CPU's concurrency-optimised scheduler lets
# independent operations run side by side; for DCGAN these are convolutions (D's
# passes over the real and the fake batch) that then compete for the same cores
# and caches: with it off, DCGAN's iteration was faster on 2 cores, while the
# MLP GAN and BEGAN were slower without it (benchmarks/BENCHMARKS.md has the
# figures).
_BY_MODEL = {
    "dcgan": {"xla_cpu_enable_concurrency_optimized_scheduler": "false"},
}


def for_model(model: str) -> dict[str, str]:
  """The XLA:CPU flags (name -> value) `model.name=model` trains with."""
  return dict(_BY_MODEL.get(model, {}))
