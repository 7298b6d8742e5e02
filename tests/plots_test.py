"""metrics.png's content: its panels, their curves and the real-data floor."""

import io

import numpy as np
from PIL import Image

from jaxgan.run import plots

ROWS = [
    {
        "step": 1,
        "d_loss": 1.3,
        "g_loss": 0.7,
        "d_real": 0.5,
        "d_fake": 0.4,
        "d_grad_norm": 2.0,
        "g_grad_norm": 1.0,
        "img_per_sec": 99.0,
    },
    {
        "step": 2,
        "d_loss": 1.1,
        "g_loss": 0.9,
        "d_real": 0.6,
        "d_fake": 0.3,
        "d_grad_norm": 1.5,
        "g_grad_norm": 1.2,
        "img_per_sec": 98.0,
    },
    {"step": 2, "fd": 40.0, "fd_std": 1.0, "kid": 0.5, "precision": 0.2},
    # A resumed run logs step 2 again: the last row wins.
    {
        "step": 2,
        "d_loss": 1.0,
        "g_loss": 0.8,
        "d_real": 0.6,
        "d_fake": 0.3,
        "d_grad_norm": 1.5,
        "g_grad_norm": 1.2,
    },
    {"step": 4, "fd": 20.0, "kid": 0.25, "precision": 0.4},
]


def _curves(ax) -> dict[str, tuple[list, list]]:
  return {
      line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
      for line in ax.get_lines()
  }


def test_panels_hold_the_rows_curves_and_the_floor():
  fig = plots.metrics_figure(ROWS, "a run", floor={"fd": 1.5})
  axes = {ax.get_title(): ax for ax in fig.axes}
  assert list(axes) == [
      "losses",
      "D on real and generated data",
      "gradient norms",
      "fd",
      "kid",
      "precision",
  ]
  assert _curves(axes["losses"]) == {
      "d_loss": ([1, 2], [1.3, 1.0]),
      "g_loss": ([1, 2], [0.7, 0.8]),
  }
  assert _curves(axes["D on real and generated data"]) == {
      "d_real": ([1, 2], [0.5, 0.6]),
      "d_fake": ([1, 2], [0.4, 0.3]),
  }
  fd = _curves(axes["fd"])
  assert fd["fd"] == ([2, 4], [40.0, 20.0])  # fd_std is not drawn.
  assert fd["real data"][1] == [1.5, 1.5]  # The floor, dashed.
  assert "real data" not in _curves(axes["kid"])
  assert fig._suptitle.get_text() == "a run"  # pylint: disable=protected-access


def test_the_png_is_the_figure():
  png = Image.open(io.BytesIO(plots.metrics_png(ROWS)))
  # 3 panels a row: 6 panels are 2 rows of 4.2 x 2.8 inches at 80 dpi.
  assert png.size == (1008, 448)
  pixels = np.asarray(png.convert("L"), np.float32)
  assert pixels.std() > 10  # Curves and text, not a blank canvas.
