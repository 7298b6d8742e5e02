"""Optimisers and schedules by their effect, against hand-written updates;
lazy regularisation's weight and timing; checkpoint rotation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.experiment import checkpoint, builder as experiment
from jaxgan.gan import state as state_lib
from jaxgan.run import train
from tests.conftest import tiny_config
from tests.step_test import _batches, _mesh

GRADS = [
    np.array([0.5, -1.0, 2.0]),
    np.array([-0.3, 0.2, 1.0]),
    np.array([1.5, 0.1, -0.7]),
]


def _lr(schedule: str, lr: float, t: int, n: int) -> float:
  """The learning rate of update t (0-based) of n."""
  if schedule == "constant":
    return lr
  if schedule == "linear":
    return lr * (1 - t / n)
  return lr * 0.5 * (1 + math.cos(math.pi * t / n))  # cosine


def _by_hand(name: str, schedule: str, lr: float, n: int, o) -> np.ndarray:
  """Parameters after the GRADS updates from zeros, written out."""
  theta, m, v = np.zeros(3), np.zeros(3), np.zeros(3)
  for t, g in enumerate(GRADS):
    eta = _lr(schedule, lr, t, n)
    if name == "sgd":  # optax.sgd: a momentum trace, then -lr.
      m = o.momentum * m + g
      theta = theta - eta * m
    elif name == "rmsprop":  # PyTorch's RMSprop: no momentum, eps in sqrt.
      v = o.rmsprop_decay * v + (1 - o.rmsprop_decay) * g * g
      theta = theta - eta * g / np.sqrt(v + 1e-8)
    else:  # adam, bias-corrected.
      m = o.b1 * m + (1 - o.b1) * g
      v = o.b2 * v + (1 - o.b2) * g * g
      m_hat, v_hat = m / (1 - o.b1 ** (t + 1)), v / (1 - o.b2 ** (t + 1))
      theta = theta - eta * m_hat / (np.sqrt(v_hat) + 1e-8)
  return theta


@pytest.mark.parametrize(
    "name,schedule",
    [
        ("adam", "constant"),
        ("adam", "cosine"),
        ("sgd", "linear"),
        ("sgd", "cosine"),
        ("rmsprop", "constant"),
        ("rmsprop", "linear"),
    ],
)
def test_updates_equal_the_written_out_rule_with_ttur(name, schedule):
  config = tiny_config(
      **{
          "optim.name": name,
          "optim.schedule": schedule,
          "optim.g_lr": 0.01,
          "optim.d_lr": 0.03,
          "optim.momentum": 0.9,
          "train.num_steps": 4,
          "train.d_steps": 2,
      }
  )
  g_tx, d_tx = state_lib.make_optimizers(config)
  # TTUR: G's learning rate and schedule length (num_steps G updates), D's
  # (num_steps * d_steps D updates).
  for tx, lr, n in ((g_tx, 0.01, 4), (d_tx, 0.03, 8)):
    params = jnp.zeros(3)
    opt_state = tx.init(params)
    for g in GRADS:
      updates, opt_state = tx.update(
          jnp.asarray(g, jnp.float32), opt_state, params
      )
      params = params + updates
    expected = _by_hand(name, schedule, lr, n, config.optim)
    np.testing.assert_allclose(params, expected, rtol=2e-5, atol=1e-7)


def _one_step(config, state, batch, step):
  exp = experiment.build(config, _mesh(1))
  state = jax.tree.map(jnp.copy, state)  # The step donates it.
  out, metrics = exp.train_step(state, jax.device_put(batch), step)
  return jax.device_get(out), jax.device_get(metrics)


def test_lazy_penalty_is_n_times_the_weight_on_multiples_of_n_only():
  base = {"model.d_norm": "none", "penalty.name": "r1", "penalty.weight": 2.0}
  lazy = tiny_config(**{**base, "penalty.every": 3})
  every = tiny_config(**{**base, "penalty.weight": 6.0})  # 3 x 2, each step.
  none = tiny_config(**{**base, "penalty.name": "none"})
  exp = experiment.build(lazy, _mesh(1))
  state = exp.initial_state()
  batches = _batches(lazy, 4)
  for step, batch in enumerate(batches):
    after = {
        name: _one_step(c, state, batch, step)
        for name, c in (("lazy", lazy), ("every", every), ("none", none))
    }
    same = "every" if step % 3 == 0 else "none"
    other = "none" if same == "every" else "every"
    for a, b in zip(
        jax.tree.leaves(after["lazy"][0].d_params),
        jax.tree.leaves(after[same][0].d_params),
    ):
      np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    differs = [
        float(np.abs(a - b).max())
        for a, b in zip(
            jax.tree.leaves(after["lazy"][0].d_params),
            jax.tree.leaves(after[other][0].d_params),
        )
    ]
    assert max(differs) > 1e-7, (step, differs)
    assert ("d_penalty" in after["lazy"][1]) == (step % 3 == 0)
    state, _ = exp.train_step(state, jax.device_put(batch), step)


def test_only_the_newest_checkpoints_are_kept(tmp_path, idx_dir):
  config = tiny_config(
      **{
          "data.source": f"idx:{idx_dir}",
          "train.num_steps": 5,
          "checkpoint.every_steps": 1,
          "checkpoint.max_to_keep": 2,
      }
  )
  train.train_and_evaluate(config, str(tmp_path))
  ckpt = checkpoint.Checkpointer(
      str(tmp_path / "checkpoints"), every_steps=1, max_to_keep=None
  )
  assert ckpt.all_steps() == [4, 5]
  assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
      "4",
      "5",
  ]
  ckpt.close()
