"""Compiles the train step for a TPU pod without the pod (ahead of time).

  python -m jaxgan.aot --config=configs/dcgan_celeba.py --topology=v5e:4x4 \
      [--config.a.b=v ...]

Builds the same models, state and data-parallel step as `jaxgan.main`, with
the state as shapes only, over the devices of a TPU topology described by
libtpu, and compiles it with XLA:TPU (jaxgan/run/topologies.py). Prints one
JSON line: the topology, its devices and hosts, the convolution form
(model.conv_impl), the global/per-host/per-device batch, and per program the
compile time, the memory XLA plans per device (arguments, outputs,
temporaries, code), its FLOP count and bytes accessed per iteration. A config that does not
fit, does not divide over the devices or does not compile fails here, on a
CPU machine, before a pod is paid for. Needs the libtpu paired with the
installed jax (`pip install 'jax[tpu]'`; jax 0.10.2: libtpu 0.0.42.*); no
TPU and no network.
"""

import json

from absl import flags
from ml_collections import config_flags

from jaxgan import cli
from jaxgan.run import topologies as ahead_of_time

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file(
    "config",
    None,
    "Path to an experiment config (configs/*.py).",
    lock_config=True,
)
flags.DEFINE_string(
    "topology",
    None,
    "TPU topology, e.g. v5e:4x4 " "(16 chips), v4:2x2x4 (v4-32), v5p:2x2x2.",
)
flags.mark_flags_as_required(["config", "topology"])


def main(argv):
  del argv
  devices = ahead_of_time.topology_devices(FLAGS.topology)
  result = ahead_of_time.compile_for(FLAGS.config, devices)
  print(json.dumps({"topology": FLAGS.topology, **result}))


if __name__ == "__main__":
  cli.run(main)
