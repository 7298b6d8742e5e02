"""jaxgan/runtime.py: the XLA:CPU flags of jaxgan's runs."""

from jaxgan import runtime

FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"


def test_cpu_flags_are_added_after_the_users(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
  runtime.set_cpu_flags()
  assert runtime.CPU_XLA_FLAGS == {FLAG[2:]: "false"}
  assert runtime.os.environ["XLA_FLAGS"] == (
      f"--xla_force_host_platform_device_count=2 {FLAG}=false")
  runtime.set_cpu_flags()  # Twice: added once.
  assert runtime.os.environ["XLA_FLAGS"].count(FLAG) == 1


def test_cpu_flags_without_xla_flags(monkeypatch):
  monkeypatch.delenv("XLA_FLAGS", raising=False)
  runtime.set_cpu_flags()
  assert runtime.os.environ["XLA_FLAGS"] == f"{FLAG}=false"


def test_a_flag_the_user_names_is_kept(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", f"{FLAG}=true --xla_cpu_fast_math_honor_nans")
  runtime.set_cpu_flags()
  assert runtime.os.environ["XLA_FLAGS"] == (
      f"{FLAG}=true --xla_cpu_fast_math_honor_nans")
