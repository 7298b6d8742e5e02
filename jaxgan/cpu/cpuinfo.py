"""Which CPU this is: the key of per-CPU choices and of every speed figure.

Speed ratios differ between CPU kinds (the same DCGAN step measured 1.07x
PyTorch on an AVX2-only EPYC and 0.84x on a Zen 4 with AVX-512), so the
benchmarks record it beside their numbers.
"""

import functools
import os
import platform

# The ISA extensions that change which kernels XLA:CPU (via Eigen and
# oneDNN) and PyTorch pick.
ISA_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512dq",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


def parse(text: str) -> tuple[dict[str, str], set[str]]:
  """The first processor's fields and flags in /proc/cpuinfo's `text`."""
  fields, flags = {}, set()
  for line in text.splitlines():
    key, _, value = line.partition(":")
    key = key.strip()
    if not key:  # The first processor's block ends.
      break
    if key in ("flags", "Features"):
      flags = set(value.split())
    else:
      fields.setdefault(key, value.strip())
  return fields, flags


def from_fields(fields: dict[str, str], flags: set[str], cores: int) -> dict:
  """identity() of parsed /proc/cpuinfo fields and flags."""
  model = fields.get("model name") or platform.processor() or "unknown"
  cpuid = " ".join(
      f"{k} {fields[k]}" if k != "vendor_id" else fields[k]
      for k in ("vendor_id", "cpu family", "model", "stepping")
      if k in fields
  )
  return {
      "cpu": model,
      "cpuid": cpuid,
      "isa": [f for f in ISA_FLAGS if f in flags],
      "cores": cores,
      "machine": platform.machine(),
  }


def is_zen4(ident: dict | None = None) -> bool:
  """An AMD Zen 4: cpuid family 25 with AVX-512 (Zen 3, also family 25, has
  none)."""
  ident = ident or identity()
  return (
      ident["cpuid"].startswith("AuthenticAMD cpu family 25 ")
      and "avx512f" in ident["isa"]
  )


@functools.cache
def identity() -> dict:
  """{'cpu': model name, 'cpuid': vendor, family, model and stepping
  (virtual machines often report a generic model name), 'isa': [ISA_FLAGS
  this CPU has], 'cores': usable cores, 'machine': architecture}; from
  /proc/cpuinfo on Linux, the platform module elsewhere."""
  try:
    with open("/proc/cpuinfo") as f:
      fields, flags = parse(f.read())
  except OSError:
    fields, flags = {}, set()
  try:
    cores = len(os.sched_getaffinity(0))
  except AttributeError:  # Not Linux.
    cores = os.cpu_count() or 1
  return from_fields(fields, flags, cores)


def describe(ident: dict | None = None) -> str:
  """One line: '<model>, <cores> cores, <widest ISA flags>'."""
  ident = ident or identity()
  isa = ident["isa"]
  wide = [f for f in isa if f.startswith(("avx512", "amx"))] or [
      f for f in isa if f.startswith("avx")
  ]
  return f"{ident['cpu']}, {ident['cores']} cores, {' '.join(wide) or 'no AVX'}"
