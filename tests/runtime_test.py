"""Backend choices of a run: XLA:CPU flags, conv_impl, libtpu's quiet probe."""

import os

import jax
import numpy as np
from jax.sharding import Mesh

from configs import default
from jaxgan.core import runtime
from jaxgan.cpu import xla_flags
from jaxgan.experiment import builder as experiment

FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"
SEQUENTIAL = {FLAG[2:]: "false"}


def test_flags_are_added_after_the_users(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
  runtime.set_xla_flags(SEQUENTIAL)
  assert os.environ["XLA_FLAGS"] == (
      f"--xla_force_host_platform_device_count=2 {FLAG}=false"
  )
  runtime.set_xla_flags(SEQUENTIAL)  # Twice: added once.
  assert os.environ["XLA_FLAGS"].count(FLAG) == 1


def test_flags_without_xla_flags(monkeypatch):
  monkeypatch.delenv("XLA_FLAGS", raising=False)
  runtime.set_xla_flags(SEQUENTIAL)
  assert os.environ["XLA_FLAGS"] == f"{FLAG}=false"
  monkeypatch.delenv("XLA_FLAGS")
  runtime.set_xla_flags({})
  assert "XLA_FLAGS" not in os.environ


def test_a_flag_the_user_names_is_kept(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", f"{FLAG}=true --xla_cpu_fast_math_honor_nans")
  runtime.set_xla_flags(SEQUENTIAL)
  assert os.environ["XLA_FLAGS"] == (
      f"{FLAG}=true --xla_cpu_fast_math_honor_nans"
  )


def test_dcgan_runs_convolutions_one_at_a_time_and_the_mlp_does_not():
  assert xla_flags.for_model("dcgan") == SEQUENTIAL
  assert xla_flags.for_model("mlp") == {}
  assert xla_flags.for_model("began") == {}


def test_auto_conv_impl_takes_the_matmul_forms_on_cpu_only():
  assert runtime.conv_impl("auto", "cpu") == "matmul"
  assert runtime.conv_impl("tuned", "cpu") == "tuned"
  assert runtime.conv_impl("auto", "tpu") == "xla"
  assert runtime.conv_impl("auto", "gpu") == "xla"
  assert runtime.conv_impl("xla", "cpu") == "xla"
  assert runtime.conv_impl("matmul", "tpu") == "matmul"
  config = default.get_config()
  mesh = Mesh(np.array(jax.devices()[:1]), (runtime.AXIS,))
  assert experiment.build(config, mesh).conv_impl == "matmul"  # CPU here.


def test_quiet_tpu_probe_names_this_host_without_a_tpu(monkeypatch):
  monkeypatch.delenv("TPU_WORKER_HOSTNAMES", raising=False)
  monkeypatch.setenv("TPU_HOST_BOUNDS", "2,2,1")  # The user's: kept.
  monkeypatch.setattr(runtime, "has_tpu_hardware", lambda: False)
  runtime.quiet_tpu_probe()
  assert os.environ["TPU_WORKER_HOSTNAMES"] == "localhost"
  assert os.environ["TPU_HOST_BOUNDS"] == "2,2,1"
  monkeypatch.delenv("TPU_WORKER_HOSTNAMES")
  monkeypatch.setattr(runtime, "has_tpu_hardware", lambda: True)
  runtime.quiet_tpu_probe()  # A TPU VM: nothing set.
  assert "TPU_WORKER_HOSTNAMES" not in os.environ
