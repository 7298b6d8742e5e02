"""The best checkpoint by `eval.primary`, kept in <workdir>/best/."""

from jaxgan import metrics
from jaxgan.core import runtime
from jaxgan.core.errors import writing
from jaxgan.experiment import checkpoint


class BestCheckpoint:
  """Keeps the state with the best `eval.primary` value in <workdir>/best/.

  The best value so far is read back from that checkpoint on resume, so an
  interrupted run keeps the same best checkpoint as an uninterrupted one.
  """

  def __init__(self, directory: str, primary: str):
    self.key = primary
    self.lower = metrics.PRIMARY[primary]
    self.value = None
    with writing(directory):
      self._ckpt = checkpoint.Checkpointer(
          directory, every_steps=1, max_to_keep=1
      )
    step = self._ckpt.latest_step()
    info = self._ckpt.info(step) if step is not None else None
    if info is not None:
      self.value = info[self.key]

  def improves(self, values: dict[str, float]) -> bool:
    value = values[self.key]
    return self.value is None or (
        value < self.value if self.lower else value > self.value
    )

  def save(self, step: int, state, values: dict[str, float]) -> None:
    self.value = values[self.key]
    self._ckpt.save(step, state, force=True, info={"step": step, **values})
    self._ckpt.wait()
    runtime.log(
        f"best {self.key} so far ({self.value:.4f}): saved to "
        f"{self._ckpt.directory}"
    )

  def close(self) -> None:
    self._ckpt.close()
