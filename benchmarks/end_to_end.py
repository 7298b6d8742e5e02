"""jaxgan.main's iterations/s end to end, against the device-resident step.

  python benchmarks/end_to_end.py --config=configs/dcgan_celeba.py \
      --overrides data.source=folder:/path/to/img_align_celeba [train.batch_size=64]
  # Without CelebA: 512 CelebA-shaped (218x178 RGB) images made from
  # Fashion-MNIST's test set, as PNG or JPEG (quality 95), then as above.
  python benchmarks/end_to_end.py --make_folder=/tmp/celeba_png --format=png

What a user's run reaches: after a warm-up run, `python -m jaxgan.main` is
run twice from a fresh workdir, for `--short` and `--long` iterations (start-up, compilation and the
final checkpoint are in both), and its iterations/s is the difference of
iterations over the difference of wall-clock times. Between the two runs,
benchmarks/step_time.py times the same config's compiled step on one batch
already on the device (and fed by the input pipeline) in a process of its
own. The ratio end-to-end / resident says how much the input pipeline and
the training loop (logging, checkpoint bookkeeping) cost; 1.0 is none.
Neither run draws a sample grid or saves a checkpoint before its last
iteration; a run evaluates at its end only where an extractor is configured
(none for a folder source), the same in both runs.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(__file__))

from jaxgan.cpu import cpuinfo  # pylint: disable=g-import-not-at-top
import report as report_lib  # pylint: disable=g-import-not-at-top


def main_seconds(config: str, overrides: list[str], steps: int) -> float:
  """Wall-clock seconds of `python -m jaxgan.main` for `steps` iterations."""
  with tempfile.TemporaryDirectory() as workdir:
    args = [
        sys.executable,
        "-m",
        "jaxgan.main",
        f"--config={config}",
        f"--workdir={workdir}",
        f"--config.train.num_steps={steps}",
        f"--config.train.sample_every_steps={10 * steps}",
        f"--config.checkpoint.every_steps={10 * steps}",
        *[f"--config.{o}" for o in overrides],
    ]
    start = time.perf_counter()
    result = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
  if result.returncode:
    raise SystemExit(result.stderr[-3000:])
  return seconds


def resident(config: str, overrides: list[str], steps: int, repeats: int):
  """step_time.py's result for the config (its own process)."""
  out = subprocess.run(
      [
          sys.executable,
          os.path.join(os.path.dirname(__file__), "step_time.py"),
          f"--configs={config}",
          f"--steps={steps}",
          f"--repeats={repeats}",
          "--variants",
          ",".join(overrides),
          "--_child",
      ],
      cwd=ROOT,
      capture_output=True,
      text=True,
      check=True,
  ).stdout
  return json.loads(out.strip().splitlines()[-1])


def make_folder(directory: str, fmt: str, idx: str, num: int = 512) -> None:
  """`num` 218x178 RGB images: Fashion-MNIST test images upsampled, coloured
  on a smooth gradient, with mild noise (photo-like to the codecs)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from jaxgan.data import sources  # pylint: disable=g-import-not-at-top

  images = sources.read_idx(idx)
  rng = np.random.default_rng(0)
  os.makedirs(directory, exist_ok=True)
  yy, xx = np.mgrid[0:218, 0:178] / 218.0
  for i in range(num):
    a = np.asarray(
        Image.fromarray(images[i]).resize((178, 218), Image.BICUBIC),
        np.float32,
    )
    channels = [
        a * rng.uniform(0.5, 1) + 255 * (1 - a / 255) * background
        for background in (yy, xx, 0.5)
    ]
    rgb = np.stack(channels, -1) + rng.normal(0, 4, (218, 178, 3))
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    image.save(
        os.path.join(directory, f"{i:06d}.{fmt}"),
        **({"quality": 95} if fmt == "jpg" else {}),
    )


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--make_folder", default="")
  parser.add_argument("--format", default="png", choices=("png", "jpg"))
  parser.add_argument(
      "--idx",
      default="/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
  )
  parser.add_argument("--config", default="configs/dcgan_celeba.py")
  parser.add_argument("--overrides", nargs="*", default=[])
  parser.add_argument("--short", type=int, default=10)
  parser.add_argument("--long", type=int, default=30)
  parser.add_argument("--steps", type=int, default=8, help="step_time's")
  parser.add_argument("--repeats", type=int, default=3, help="step_time's")
  parser.add_argument("--out", default="")
  args = parser.parse_args()
  if args.make_folder:
    make_folder(args.make_folder, args.format, args.idx)
    return
  # Warm-up, not counted: a first run on a machine also times the
  # convolution forms of shapes it has not seen (jaxgan/cpu/autotune.py).
  main_seconds(args.config, args.overrides, 2)
  short_s = main_seconds(args.config, args.overrides, args.short)
  timed = resident(args.config, args.overrides, args.steps, args.repeats)
  long_s = main_seconds(args.config, args.overrides, args.long)
  end_to_end = (args.long - args.short) / (long_s - short_s)
  median = lambda xs: sorted(xs)[len(xs) // 2]
  resident_rate = 1 / median(timed["device"])
  real_rate = 1 / median(timed["real"])
  report = {
      "machine": cpuinfo.identity(),
      "config": args.config,
      "overrides": args.overrides,
      "main_seconds": {args.short: short_s, args.long: long_s},
      "end_to_end_it_s": end_to_end,
      "resident_it_s": resident_rate,
      "pipeline_it_s": real_rate,
      "end_to_end_over_resident": end_to_end / resident_rate,
  }
  text = (
      f"{cpuinfo.describe()}; {args.config} {' '.join(args.overrides)}\n"
      f"jaxgan.main: {args.short} iterations {short_s:.1f} s, {args.long} "
      f"iterations {long_s:.1f} s -> {end_to_end:.3f} it/s end to end\n"
      f"step_time.py (median of {args.repeats} x {args.steps}): "
      f"{resident_rate:.3f} it/s device-resident, {real_rate:.3f} it/s fed "
      f"by the pipeline\n"
      f"end to end / resident = {end_to_end / resident_rate:.3f}\n"
  )
  print(text, end="")
  if args.out:
    report_lib.write(args.out, report, text)


if __name__ == "__main__":
  main()
