"""The XLA flags of a run: runtime.set_cpu_flags, models.xla_cpu_flags."""

import os

from configs import default
from jaxgan import models, runtime

FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"
SEQUENTIAL = {FLAG[2:]: "false"}


def test_flags_are_added_after_the_users(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
  runtime.set_cpu_flags(SEQUENTIAL)
  assert os.environ["XLA_FLAGS"] == (
      f"--xla_force_host_platform_device_count=2 {FLAG}=false")
  runtime.set_cpu_flags(SEQUENTIAL)  # Twice: added once.
  assert os.environ["XLA_FLAGS"].count(FLAG) == 1


def test_flags_without_xla_flags(monkeypatch):
  monkeypatch.delenv("XLA_FLAGS", raising=False)
  runtime.set_cpu_flags(SEQUENTIAL)
  assert os.environ["XLA_FLAGS"] == f"{FLAG}=false"
  monkeypatch.delenv("XLA_FLAGS")
  runtime.set_cpu_flags({})
  assert "XLA_FLAGS" not in os.environ


def test_a_flag_the_user_names_is_kept(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", f"{FLAG}=true --xla_cpu_fast_math_honor_nans")
  runtime.set_cpu_flags(SEQUENTIAL)
  assert os.environ["XLA_FLAGS"] == (
      f"{FLAG}=true --xla_cpu_fast_math_honor_nans")


def test_dcgan_runs_convolutions_one_at_a_time_and_the_mlp_does_not():
  config = default.get_config()
  assert models.xla_cpu_flags(config) == SEQUENTIAL  # model.name 'dcgan'.
  config.model.name = "mlp"
  assert models.xla_cpu_flags(config) == {}
