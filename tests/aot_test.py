"""The train step compiled ahead of time for TPU pods, on this CPU machine.

libtpu describes a pod topology (`jax.experimental.topologies`) without a
TPU; XLA:TPU compiles the same data-parallel step for its devices and
reports per-device memory and FLOPs. libtpu comes with the test extra
(`jax[tpu]`, the libtpu release paired with the installed jax).
"""

import importlib.util
import os

import pytest

from tests.conftest import run_command, tiny_config

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("libtpu") is None,
    reason="libtpu is not installed (pip install -e '.[test]' installs it "
    "on Linux x86-64; there is no libtpu for this platform otherwise)",
)


# Session scope: built once per test process, not again each time the
# process comes back to this module (pytest-xdist interleaves modules).
@pytest.fixture(scope="session")
def v5e_16():
  from jaxgan.run import topologies as aot  # pylint: disable=g-import-not-at-top

  return aot.topology_devices("v5e:4x4")


def test_step_compiles_for_a_v5e_16_pod(v5e_16):
  from jaxgan.run import topologies as aot  # pylint: disable=g-import-not-at-top

  small = aot.compile_for(tiny_config(**{"train.batch_size": 32}), v5e_16)
  assert (small["platform"], small["device_kind"]) == ("tpu", "TPU v5 lite")
  assert (small["devices"], small["hosts"]) == (16, 4)
  assert (small["per_host_batch"], small["per_device_batch"]) == (8, 2)
  [program] = small["programs"]
  memory = program["memory_per_device_bytes"]
  # The replicated state is an argument, donated (aliased) to the output.
  assert memory["argument"] > 0 and memory["alias"] > 0
  assert memory["alias"] <= memory["output"]
  # Doubling the per-device batch about doubles the work of one device:
  # the count is real, not a constant.
  large = aot.compile_for(tiny_config(**{"train.batch_size": 64}), v5e_16)
  ratio = (
      large["programs"][0]["flops_per_iteration"]
      / program["flops_per_iteration"]
  )
  assert 1.6 < ratio < 2.1, ratio


def test_timed_conv_forms_are_refused_for_a_tpu_topology(v5e_16):
  # They would be timed on this machine's CPU, not on the TPU.
  from jaxgan.run import topologies as aot  # pylint: disable=g-import-not-at-top
  from jaxgan.core.errors import UserError  # pylint: disable=g-import-not-at-top

  config = tiny_config(**{"train.batch_size": 32, "model.conv_impl": "tuned"})
  with pytest.raises(UserError, match="model.conv_impl='tuned' times the"):
    aot.compile_for(config, v5e_16)


def test_conditional_infogan_step_compiles_for_a_v5e_16_pod(v5e_16):
  # The batch is then (images, labels); D has the ACGAN and Q heads.
  from jaxgan.run import topologies as aot  # pylint: disable=g-import-not-at-top

  plain = aot.compile_for(tiny_config(**{"train.batch_size": 32}), v5e_16)
  result = aot.compile_for(
      tiny_config(
          **{
              "train.batch_size": 32,
              "model.conditioning": "acgan",
              "model.num_classes": 10,
              "model.info_categorical": 10,
              "model.info_continuous": 2,
          }
      ),
      v5e_16,
  )
  [program], [base] = result["programs"], plain["programs"]
  assert program["flops_per_iteration"] > base["flops_per_iteration"]


def test_lazy_penalty_compiles_two_programs_for_a_v4_pod():
  from jaxgan.run import topologies as aot  # pylint: disable=g-import-not-at-top

  devices = aot.topology_devices("v4:2x2x4")
  result = aot.compile_for(
      tiny_config(
          **{
              "train.batch_size": 32,
              "penalty.name": "r1",
              "penalty.every": 4,
              "model.d_norm": "none",
          }
      ),
      devices,
  )
  assert result["device_kind"] == "TPU v4" and result["hosts"] == 4
  with_penalty, without = result["programs"]
  # R1 differentiates D's output w.r.t. its input, then that again w.r.t.
  # D's parameters: more work than the step without it.
  assert (
      with_penalty["flops_per_iteration"] > without["flops_per_iteration"] > 0
  )


def _cli(*args):
  return run_command("jaxgan.aot", args, dict(os.environ))


def test_cli_reports_a_config_that_does_not_fit():
  result = _cli(
      "--config=configs/dcgan_celeba.py",
      "--topology=v5e:4x4",
      "--config.train.batch_size=524288",
  )
  assert result.returncode == 2
  assert result.stderr.count("\n") == 1, result.stderr
  assert result.stderr.startswith(
      "error: train.batch_size=524288 (32768 per "
      "device, step) does not fit on TPU v5 lite"
  )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--topology=v9:1x1"], "--topology='v9:1x1' could not be described"),
        (
            ["--config.train.batch_size=24", "--topology=v5e:4x4"],
            "train.batch_size=24 is not divisible by 16",
        ),
    ],
)
def test_cli_bad_input(args, message):
  result = _cli("--config=configs/tiny.py", *args)
  assert result.returncode == 2
  assert result.stderr.count("\n") == 1, result.stderr
  assert message in result.stderr


def test_every_progan_stage_compiles_for_a_v5e_16_pod(v5e_16):
  # A progressive run has a step per stage (resolution, fading or not), each
  # with its own batch; the largest memory is reported.
  from jaxgan.run import topologies as aot  # pylint: disable=g-import-not-at-top

  result = aot.compile_for(
      tiny_config(
          **{
              "model.name": "progan",
              "data.image_size": 8,
              "data.preprocess": "resize",
              "model.g_width": 8,
              "model.d_width": 8,
              "loss.name": "wgan_gp",
              "loss.drift": 0.001,
              "train.batch_size": 64,
              "progan.batch_sizes": "8:32",
          }
      ),
      v5e_16,
  )
  names = [p["name"] for p in result["programs"]]
  assert names == ["step at 4x4", "step at 8x8 fade-in", "step at 8x8"]
  assert [p["global_batch"] for p in result["programs"]] == [64, 32, 32]
  flops = [p["flops_per_iteration"] for p in result["programs"]]
  # The 8x8 stages do more per image; the fade-in adds the old path.
  assert flops[1] > flops[2] > 0 and flops[0] > 0
  assert result["largest_memory_program"] in names


def test_biggan_with_attention_compiles_for_a_v5e_16_pod(v5e_16):
  # BigGAN's conditional G and projection D; self-attention at 16x16 in
  # both adds its work (and nothing else changes).
  from jaxgan.run import topologies as aot  # pylint: disable=g-import-not-at-top

  def flops(attention_res):
    config = tiny_config(
        **{
            "model.name": "biggan",
            "model.conditioning": "projection",
            "model.num_classes": 10,
            "model.g_spectral_norm": True,
            "model.d_spectral_norm": True,
            "model.attention_res": attention_res,
            "loss.name": "hinge",
            "loss.ortho_reg": 1e-4,
            "train.batch_size": 32,
        }
    )
    [program] = aot.compile_for(config, v5e_16)["programs"]
    return program["flops_per_iteration"]

  plain, attention = flops(0), flops(16)
  assert attention > plain > 0
