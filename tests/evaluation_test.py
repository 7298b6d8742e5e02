"""The domain classifier, evaluation during training and the evaluate CLI."""

import json
import math
import shutil

import numpy as np
import pytest
from PIL import Image

from jaxgan.experiment import checkpoint
from jaxgan.metrics import extractors, inception_port
from jaxgan.run import plots, train
from jaxgan.models.feature_net import FEATURE_DIM
from jaxgan.core.errors import UserError
from tests.conftest import cpu_env, run_command, tiny_config


def test_classifier_learns_and_records_its_protocol(labelled):
  meta = labelled["meta"]
  assert meta["test_accuracy"] == 1.0  # Dark vs bright: trivially separable.
  assert meta["num_classes"] == 2 and meta["image_size"] == 32
  ref = meta["reference"]
  assert 0 <= ref["fd_train_vs_test"] < ref["fd_noise_vs_test"]
  extractor = extractors.ClassifierExtractor(str(labelled["clf"]))
  images = np.zeros((7, 32, 32, 1), np.uint8)
  features, logits = extractor(images, batch=3)
  assert features.shape == (7, FEATURE_DIM) and logits.shape == (7, 2)
  np.testing.assert_array_equal(features, extractor(images, batch=3)[0])
  # Another batching compiles another program: equal up to float rounding.
  np.testing.assert_allclose(
      features, extractor(images)[0], rtol=1e-4, atol=1e-5
  )


def test_tampered_classifier_weights_are_refused(labelled, tmp_path):
  copy = tmp_path / "clf"
  copy.mkdir()
  for name in (extractors.WEIGHTS, extractors.META):
    (copy / name).write_bytes((labelled["clf"] / name).read_bytes())
  weights = copy / extractors.WEIGHTS
  data = bytearray(weights.read_bytes())
  data[-5] ^= 1
  weights.write_bytes(bytes(data))
  with pytest.raises(UserError, match="does not match the checksum"):
    extractors.ClassifierExtractor(str(copy))


def test_training_logs_metrics_keeps_the_best_and_the_cli_prints_protocol(
    labelled, tmp_path
):
  workdir = tmp_path / "run"
  config = tiny_config(
      **{
          "data.source": f"idx:{labelled['data']}",
          "train.num_steps": 4,
          "eval.classifier": str(labelled["clf"]),
          "eval.every_steps": 2,
          "eval.num_samples": 24,
      }
  )
  train.train_and_evaluate(config, str(workdir))
  rows = [
      json.loads(l)
      for l in (workdir / "metrics.jsonl").read_text().splitlines()
  ]
  evals = [r for r in rows if "fd" in r]
  assert [r["step"] for r in evals] == [2, 4]
  for r in evals:
    assert {
        "kid",
        "classifier_score",
        "precision",
        "recall",
        "class_coverage",
        "class_kl",
    } <= set(r)
  best_step = min(evals, key=lambda r: r["fd"])["step"]
  best = checkpoint.Checkpointer(
      str(workdir / "best"), every_steps=1, max_to_keep=None
  )
  assert best.all_steps() == [best_step]
  assert best.info(best_step)["fd"] == min(r["fd"] for r in evals)
  best.close()
  env = cpu_env(2)
  result = run_command(
      "jaxgan.evaluate",
      [f"--workdir={workdir}", "--num_samples=30"],
      env,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  out = json.loads(result.stdout.strip().splitlines()[-1])
  assert out["step"] == 4 and np.isfinite(out["fd"])
  protocol = out["protocol"]
  assert protocol["extractor"] == "classifier:idx"
  assert protocol["extractor_sha256"] == labelled["meta"]["sha256"]
  assert protocol["num_generated"] == 30 and protocol["num_reference"] == 30
  assert "split 'test'" in protocol["reference"]
  assert protocol["generator"] == "raw" and "resize" in protocol
  # The same run measured with the FID Inception (random weights here, in
  # pytorch-fid's tensors, converted as `python -m jaxgan.inception_weights`
  # does; that command's own run is in tests/reference_fid_test.py).
  from tests.inception_test import _torch_state_dict  # pylint: disable=g-import-not-at-top

  state = _torch_state_dict()
  np.savez(tmp_path / "fake_pt_inception.npz", **state)
  weights = tmp_path / "inception.msgpack"
  inception_port.write(
      inception_port.convert(state),
      str(weights),
      str(tmp_path / "fake_pt_inception.npz"),
  )
  result = run_command(
      "jaxgan.evaluate",
      [f"--workdir={workdir}", "--num_samples=10", f"--inception={weights}"],
      env,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  out = json.loads(result.stdout.strip().splitlines()[-1])
  assert out["protocol"]["extractor"].startswith("inception:")
  assert "299x299" in out["protocol"]["resize"] and np.isfinite(out["fd"])


def test_a_shipped_classifier_is_the_default_for_its_data(
    labelled, tmp_path, idx_dir, monkeypatch
):
  # The lookup, with the test's classifier standing in for the shipped one:
  # the run's data must have the classifier's preprocessing and test split.
  monkeypatch.setattr(
      extractors, "shipped_classifiers", lambda: [str(labelled["clf"])]
  )
  config = tiny_config(**{"data.source": f"idx:{labelled['data']}"})
  assert extractors.extractor_path(config) == str(labelled["clf"])
  # Same shape, other test images: not its data.
  other = tmp_path / "other"
  shutil.copytree(labelled["data"], other)
  images = other / "t10k-images-idx3-ubyte"
  data = bytearray(images.read_bytes())
  data[-1] ^= 0xFF
  images.write_bytes(bytes(data))
  assert (
      extractors.extractor_path(tiny_config(**{"data.source": f"idx:{other}"}))
      is None
  )
  # No test split, other preprocessing, or an extractor named: not it.
  assert (
      extractors.extractor_path(
          tiny_config(**{"data.source": f"idx:{idx_dir}"})
      )
      is None
  )
  assert (
      extractors.extractor_path(
          tiny_config(
              **{
                  "data.source": f"idx:{labelled['data']}",
                  "data.preprocess": "resize",
              }
          )
      )
      is None
  )
  named = tiny_config(
      **{
          "data.source": f"idx:{labelled['data']}",
          "eval.classifier": "/elsewhere",
      }
  )
  assert extractors.extractor_path(named) == "/elsewhere"
  # A run that names no extractor is evaluated, with the real-data floor.
  workdir = tmp_path / "run"
  train.train_and_evaluate(
      tiny_config(
          **{
              "data.source": f"idx:{labelled['data']}",
              "train.num_steps": 2,
              "eval.num_samples": 24,
          }
      ),
      str(workdir),
  )
  rows = [
      json.loads(l)
      for l in (workdir / "metrics.jsonl").read_text().splitlines()
  ]
  final = [r for r in rows if "fd" in r][-1]
  assert {"density", "coverage", "kid", "classifier_score"} <= set(final)
  # metrics.png: the panels of these rows (plots_test checks their curves).
  titles = [ax.get_title() for ax in plots.metrics_figure(rows).axes]
  assert titles[:3] == [
      "losses",
      "D on real and generated data",
      "gradient norms",
  ]
  assert {"fd", "kid", "classifier_score", "density", "coverage"} <= set(titles)
  with Image.open(workdir / "metrics.png") as png:
    assert png.size == (1008, 224 * math.ceil(len(titles) / 3))


def test_the_committed_classifier_matches_its_record():
  [directory] = extractors.shipped_classifiers()
  extractor = extractors.ClassifierExtractor(directory)  # Checks the SHA-256.
  meta = extractor.meta
  assert (
      meta["dataset"],
      meta["image_size"],
      meta["channels"],
      meta["preprocess"],
  ) == ("fashion_mnist", 32, 1, "pad")
  assert meta["test_accuracy"] > 0.9 and meta["num_test"] == 10_000
  assert meta["command"].startswith("python -m jaxgan.classifier ")
  assert len(meta["test_fingerprint"]) == 64
  # Its real-data floor: FD of train against test images, far below noise.
  ref = meta["reference"]
  assert ref["fd_train_vs_test"] < 1.0 < 100 < ref["fd_noise_vs_test"]


def test_real_data_floor_is_the_other_split_and_is_low(labelled):
  from jaxgan.core import runtime  # pylint: disable=g-import-not-at-top
  from jaxgan.experiment import builder as experiment
  from jaxgan.inference import evaluator as evaluation

  config = tiny_config(
      **{
          "data.source": f"idx:{labelled['data']}",
          "eval.classifier": str(labelled["clf"]),
      }
  )
  exp = experiment.build(config, runtime.make_mesh())
  evaluator = evaluation.evaluator_for(
      exp, num_samples=40, reference_split="test", log=lambda *a: None
  )
  assert evaluator.floor_split == "train"
  # Train images against test images of the same two classes: both
  # classes covered, precision and recall high, FD far below a generator
  # that draws one class only.
  floor = evaluator.floor
  assert floor["class_coverage"] == 2 and floor["precision"] > 0.8
  one_class = evaluator.metrics_of(np.full((40, 32, 32, 1), 20, np.uint8))
  assert floor["fd"] < one_class["fd"] / 10


def test_truncation_sweep_cli_prints_rows_and_plots(labelled, tmp_path):
  workdir = tmp_path / "run"
  config = tiny_config(
      **{
          "data.source": f"idx:{labelled['data']}",
          "train.num_steps": 2,
          "eval.classifier": str(labelled["clf"]),
          "model.init_std": 0.3,  # Inputs show in the pixels.
      }
  )
  train.train_and_evaluate(config, str(workdir))

  def cli(*args):
    return run_command(
        "jaxgan.evaluate", [f"--workdir={workdir}", *args], cpu_env()
    )

  png = tmp_path / "sweep.png"
  result = cli(
      "--num_samples=40", "--truncation_sweep=0.05,1,none", f"--sweep_out={png}"
  )
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [json.loads(l) for l in result.stdout.splitlines() if l[:1] == "{"]
  assert [r["truncation"] for r in rows] == [0.05, 1.0, None]
  assert all(np.isfinite(r["fd"]) for r in rows)
  # Near-constant z gives other samples, hence another FD.
  assert rows[0]["fd"] != rows[2]["fd"]
  assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  # The untruncated row is what the plain evaluation measures.
  plain = cli("--num_samples=40")
  assert plain.returncode == 0, plain.stderr[-3000:]
  out = json.loads(plain.stdout.strip().splitlines()[-1])
  assert out["fd"] == pytest.approx(rows[2]["fd"], rel=1e-5)
  assert out["protocol"]["truncation"] is None
  # A bad value is named before any evaluation, and nothing is written.
  bad = cli("--truncation_sweep=0.5,-1", f"--sweep_out={tmp_path / 'b.png'}")
  assert bad.returncode == 2 and not (tmp_path / "b.png").exists()
  assert bad.stderr.strip().splitlines() == [
      "error: --truncation_sweep=-1.0 must be positive, e.g. 0.5"
  ]
  bad = cli("--truncation_sweep=0.5,big")
  assert bad.returncode == 2
  assert "'big' is not a number" in bad.stderr.strip().splitlines()[-1]
