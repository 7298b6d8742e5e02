"""experiment.build resolves each piece of the config once."""

import collections

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

from jaxgan import models
from jaxgan.core import runtime
from jaxgan.data import sources
from jaxgan.experiment import builder
from jaxgan.gan import losses
from jaxgan.metrics import extractors
from jaxgan.models import conditioning
from tests.conftest import tiny_config

RESOLVERS = (
    (conditioning, "from_config"),
    (models, "get_spec"),
    (losses, "get_loss"),
    (extractors, "extractor_path"),
    (sources, "data_shape"),
)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"model.conditioning": "acgan", "augment.name": "diffaugment"}],
    ids=["tiny", "acgan_diffaugment"],
)
def test_one_build_resolves_each_piece_once(monkeypatch, overrides):
  calls = collections.Counter()
  for module, name in RESOLVERS:
    real = getattr(module, name)

    def counted(*args, _real=real, _name=name, **kwargs):
      calls[_name] += 1
      return _real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
  mesh = Mesh(np.array(jax.devices()[:1]), (runtime.AXIS,))
  exp = builder.build(tiny_config(**overrides), mesh)
  assert dict(calls) == {name: 1 for _, name in RESOLVERS}
  # The pieces are on the Experiment for everything after build.
  assert exp.data_shape == (32, 32, 1)
  assert exp.mixture is None
  assert exp.augmentation.enabled == bool(overrides)
  assert exp.cond.labelled == bool(overrides)
