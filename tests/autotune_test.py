"""Forms chosen by timing (jaxgan/cpu/autotune.py): the fastest is kept, once
per machine, in a file that later processes read; every process of a run
gets the same choice."""

import json
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.cpu import autotune, cpuinfo
from jaxgan.cpu import conv4x4
from tests.conftest import ROOT, cpu_env


def _slow(x):
  # 40 dependent 256x256 matmuls: far slower than `_fast`'s one addition.
  def body(_, y):
    return jnp.tanh(y @ y) * 0.5

  return jax.lax.fori_loop(0, 40, body, x) * 0 + x + 1


def _fast(x):
  return x + 1


FORMS = {"slow": _slow, "fast": _fast}
ARGS = (jax.ShapeDtypeStruct((256, 256), jnp.float32),)


@pytest.fixture
def cache(tmp_path, monkeypatch):
  """A fresh cache file and a process that has chosen nothing yet."""
  monkeypatch.setenv(autotune.ENV, str(tmp_path))
  monkeypatch.setattr(autotune, "_memory", {})
  monkeypatch.setattr(
      autotune, "_stats", {"timed": 0, "cached": 0, "seconds": 0}
  )
  return tmp_path / "forms.json"


def _entries(path: pathlib.Path) -> dict:
  [machine] = json.loads(path.read_text()).values()
  return machine


def test_the_fastest_form_is_chosen_and_written_with_its_timings(cache):
  assert autotune.choose("add_one", FORMS, ARGS) == "fast"
  [(key, entry)] = _entries(cache).items()
  assert key == "add_one(float32[256x256])"
  assert entry["form"] == "fast"
  assert entry["ms"]["slow"] > 3 * entry["ms"]["fast"] > 0
  assert autotune.stats()["timed"] == 1


def test_a_later_process_reads_the_choice_and_times_nothing(cache, monkeypatch):
  # The file times 'slow' faster (as if it had been here): it is believed.
  autotune.choose("add_one", FORMS, ARGS)
  data = json.loads(cache.read_text())
  [machine] = data
  data[machine]["add_one(float32[256x256])"]["ms"] = {"slow": 1.0, "fast": 2.0}
  cache.write_text(json.dumps(data))
  monkeypatch.setattr(autotune, "_memory", {})  # A new process.

  def no_timing(*_):
    raise AssertionError("timed again")

  monkeypatch.setattr(autotune, "time_forms", no_timing)
  assert autotune.choose("add_one", FORMS, ARGS) == "slow"
  assert autotune.stats()["cached"] == 1


def test_a_preferred_form_keeps_its_place_within_the_margin():
  ms = {"rule": 10.5, "other": 10.0, "third": 12.0}
  assert autotune.decide(ms, None, 0.0) == "other"
  assert autotune.decide(ms, "rule", 0.0) == "other"
  assert autotune.decide(ms, "rule", 0.04) == "other"  # 5% slower.
  assert autotune.decide(ms, "rule", 0.06) == "rule"
  assert autotune.decide(ms, "third", 0.1) == "other"  # 20% slower.
  assert autotune.decide(ms, "missing", 1.0) == "other"


def test_the_margin_applies_to_cached_timings(cache):
  autotune.choose("add_one", FORMS, ARGS)  # slow >= 3x fast.
  assert autotune.choose("add_one", FORMS, ARGS, prefer="slow") == "fast"
  assert (
      autotune.choose("add_one", FORMS, ARGS, prefer="slow", margin=1000.0)
      == "slow"
  )
  assert autotune.stats()["timed"] == 1


def test_another_cpu_or_other_xla_flags_time_again(cache, monkeypatch):
  autotune.choose("add_one", FORMS, ARGS)
  other = dict(cpuinfo.identity(), isa=["sse4_2", "avx", "avx2", "fma"])
  monkeypatch.setattr(autotune.cpuinfo, "identity", lambda: other)
  autotune.choose("add_one", FORMS, ARGS)
  monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_use_onednn=true")
  autotune.choose("add_one", FORMS, ARGS)
  assert len(json.loads(cache.read_text())) == 3
  assert autotune.stats()["timed"] == 3
  # The fake device count is not part of the key (where work runs, not how
  # fast one device computes).
  monkeypatch.setenv(
      "XLA_FLAGS",
      "--xla_cpu_use_onednn=true --xla_force_host_platform_device_count=8",
  )
  monkeypatch.setattr(autotune, "_memory", {})
  autotune.choose("add_one", FORMS, ARGS)
  assert autotune.stats()["timed"] == 3


def test_an_unwritable_cache_still_chooses(tmp_path, monkeypatch):
  blocker = tmp_path / "file"
  blocker.write_text("")
  monkeypatch.setenv(autotune.ENV, str(blocker / "sub"))  # Under a file.
  monkeypatch.setattr(autotune, "_memory", {})
  assert autotune.choose("add_one", FORMS, ARGS) == "fast"


def test_a_damaged_cache_file_is_replaced(cache):
  cache.write_text("{not json")
  assert autotune.choose("add_one", FORMS, ARGS) == "fast"
  assert _entries(cache)["add_one(float32[256x256])"]["form"] == "fast"


def test_tuned_convolutions_choose_while_traced_and_match_xla(cache):
  # choose() runs inside jit and custom-VJP tracing (the forms are timed in
  # a thread of their own) and records each computation of both layers.
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 6))
  w = jax.random.normal(jax.random.PRNGKey(1), (4, 4, 6, 5))

  def loss(x, w, tuned):
    return jnp.sum(jnp.sin(conv4x4.conv4x4s2(x, w, tuned)))

  ours = jax.jit(jax.value_and_grad(loss, (0, 1)), static_argnums=2)
  value, grads = ours(x, w, True)
  ref_value, ref_grads = ours(x, w, False)
  np.testing.assert_allclose(value, ref_value, rtol=1e-5)
  for a, b in zip(grads, ref_grads):
    np.testing.assert_allclose(a, b, atol=1e-4 * float(jnp.abs(b).max()))
  assert set(_entries(cache)) == {
      "conv4x4s2.conv(float32[2x8x8x6],float32[4x4x6x5])",
      "conv4x4s2.conv_t(float32[2x4x4x5],float32[4x4x6x5])",
      "conv4x4s2.kernel_grad(float32[2x8x8x6],float32[2x4x4x5])",
  }
  for key, entry in _entries(cache).items():
    computation = key.split(".")[1].split("(")[0]
    assert set(entry["ms"]) == set(conv4x4.FORMS[computation])
    assert entry["form"] == min(entry["ms"], key=entry["ms"].get)


def test_tuned_convolutions_keep_the_rules_form_within_the_margin(
    cache, monkeypatch
):
  # The margin between two XLA forms, on any CPU: oneDNN's form out of the
  # rule and of the choices.
  monkeypatch.setattr(conv4x4, "ONEDNN_BY_CPU", ())
  xla_forms = {k: f for k, f in conv4x4.FORMS["conv"].items() if k != "onednn"}
  monkeypatch.setitem(conv4x4.FORMS, "conv", xla_forms)
  x = jax.ShapeDtypeStruct((2, 8, 8, 6), jnp.float32)
  w = jax.ShapeDtypeStruct((4, 4, 6, 5), jnp.float32)
  assert conv4x4.rule_form("conv", x, w) == "im2col"  # A 4x4 output.
  key = "conv4x4s2.conv(float32[2x8x8x6],float32[4x4x6x5])"
  within = 1 + conv4x4.TUNED_MARGIN / 2
  beyond = 1 + conv4x4.TUNED_MARGIN * 2
  for im2col_ms, expected in ((within, "im2col"), (beyond, "xla")):
    ms = {"xla": 1.0, "im2col": im2col_ms}
    entry = {"form": "xla", "ms": ms}
    cache.write_text(json.dumps({autotune.machine_key(): {key: entry}}))
    autotune._memory.clear()  # pylint: disable=protected-access
    assert conv4x4.tuned_form("conv", x, w) == expected
  assert autotune.stats()["timed"] == 0


CHILD = """
import json, sys
import jax, jax.numpy as jnp
from jaxgan.cpu import autotune
from tests.autotune_test import FORMS, ARGS
form = autotune.choose("add_one", FORMS, ARGS)
print(json.dumps([form, autotune.stats()["timed"]]))
"""


def test_processes_starting_together_time_once_and_agree(tmp_path):
  env = dict(cpu_env(), **{autotune.ENV: str(tmp_path)})
  procs = [
      subprocess.Popen(
          [sys.executable, "-c", CHILD],
          cwd=ROOT,
          env=env,
          stdout=subprocess.PIPE,
          text=True,
      )
      for _ in range(2)
  ]
  results = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
  assert [p.returncode for p in procs] == [0, 0]
  assert [form for form, _ in results] == ["fast", "fast"]
  assert sorted(timed for _, timed in results) == [0, 1]
  assert len(_entries(tmp_path / "forms.json")) == 1
