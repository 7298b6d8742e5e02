"""The CPU identity that benchmark records carry."""

from jaxgan.cpu import cpuinfo

ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9R14 96-Core Processor
stepping\t: 1
flags\t\t: fpu sse4_2 avx avx2 fma f16c avx512f avx512bw avx512vl avx512dq avx512_bf16 avx512_vnni

processor\t: 1
model name\t: something else
flags\t\t: fpu
"""
EPYC_AVX2 = ZEN4.replace(
    " avx512f avx512bw avx512vl avx512dq avx512_bf16 avx512_vnni", ""
)


def test_the_first_processor_is_read_and_the_isa_named():
  ident = cpuinfo.from_fields(*cpuinfo.parse(ZEN4), cores=2)
  assert ident["cpu"] == "AMD EPYC 9R14 96-Core Processor"
  assert ident["cpuid"] == "AuthenticAMD cpu family 25 model 17 stepping 1"
  assert ident["isa"] == [
      "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
      "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16",
  ]  # fmt: skip
  assert cpuinfo.describe(ident) == (
      "AMD EPYC 9R14 96-Core Processor, 2 cores, avx512f avx512bw avx512vl "
      "avx512dq avx512_vnni avx512_bf16"
  )


def test_an_avx2_machine_is_told_apart():
  ident = cpuinfo.from_fields(*cpuinfo.parse(EPYC_AVX2), cores=2)
  assert "avx512f" not in ident["isa"]
  assert cpuinfo.describe(ident).endswith("2 cores, avx avx2")


def test_this_machine():
  ident = cpuinfo.identity()
  assert ident["cores"] >= 1 and ident["cpu"]
  assert set(ident["isa"]) <= set(cpuinfo.ISA_FLAGS)
