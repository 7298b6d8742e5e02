"""Converts pytorch-fid's FID Inception weights: python -m jaxgan.inception_weights.

  pip install torch   # only to read the .pth; a .npz of the same keys needs none
  python -m jaxgan.inception_weights --src=pt_inception-2015-12-05-6726825d.pth \
      --out=inception_fid.msgpack

writes the Flax variables of `jaxgan.models.inception.InceptionV3` and a `.json`
beside them (jaxgan/metrics/inception_port.py). Point `eval.inception` (or
$JAXGAN_INCEPTION) at the .msgpack and set `eval.extractor='inception'` to log
FID and IS.
"""

import os

from absl import flags

from jaxgan import cli
from jaxgan.metrics import inception_port
from jaxgan.core.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_string("src", None, "pytorch-fid's .pth (or a .npz).")
flags.DEFINE_string("out", None, "The converted .msgpack to write.")
flags.mark_flags_as_required(["src", "out"])


def main(argv):
  del argv
  src, out = FLAGS.src, FLAGS.out
  if not os.path.isfile(src):
    raise UserError(f"--src={src}: no such file")
  digest = inception_port.sha256(src)
  if not digest.startswith(inception_port.PTH_SHA256_PREFIX) and src.endswith(
      ".pth"
  ):
    print(
        f"warning: {src} has SHA-256 {digest[:8]}..., not pytorch-fid's "
        f"{inception_port.PTH_SHA256_PREFIX}...; its FID is not comparable "
        "with published numbers"
    )
  meta = inception_port.write(
      inception_port.convert(inception_port.read_state_dict(src)), out, src
  )
  print(f"wrote {out} (sha256 {meta['sha256'][:12]}) from {src}")


if __name__ == "__main__":
  cli.run(main)
