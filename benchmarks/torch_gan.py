"""PyTorch versions of jaxgan's DCGAN and MLP GAN, for benchmarks only.

The same architectures, initialisation and update as jaxgan's (models/dcgan.py,
models/mlp.py, step.py) with the non-saturating loss, Adam and k = 1:

- DCGAN: G projects z to a 4x4 map (jaxgan's Dense z -> 4*4*C0 is the
  1x1-input ConvTranspose2d(z, C0, 4) of the PyTorch DCGAN example), then
  ConvTranspose2d(4, 2, 1) layers with batch norm + ReLU, tanh out; D has
  Conv2d(4, 2, 1) layers with LeakyReLU(0.2), batch norm after all but the
  first, then a dense layer to one logit. No biases; weights ~ N(0, 0.02),
  batch-norm scales ~ N(1, 0.02), momentum 0.1 (flax 0.9), eps 1e-5.
- MLP GAN: G z -> 1200 ReLU -> 1200 ReLU -> H*W*C tanh; D maxout(240 x 5)
  -> maxout(240 x 5) -> 1 with dropout 0.2 / 0.5; weights LeCun-normal
  (truncated, as flax's default), biases 0.

One iteration (`Gan.step`): a D update on a real batch and G(z1) (no graph
through G; real and fake through D separately, so batch norm uses each
batch's statistics), then a G update with fresh z2 against the updated D,
whose parameters take no gradient there (jaxgan differentiates only G's).
PyTorch is a benchmark-only dependency: nothing in jaxgan imports this.
"""

import math

import torch
from torch import nn
import torch.nn.functional as F


def _dcgan_init(module: nn.Module) -> None:
  for m in module.modules():
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
      nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
      nn.init.normal_(m.weight, 1.0, 0.02)
      nn.init.zeros_(m.bias)


def _lecun_normal(linear: nn.Linear) -> None:
  # flax's default kernel init: variance_scaling(1, fan_in, truncated normal).
  std = math.sqrt(1.0 / linear.in_features) / 0.87962566103423978
  nn.init.trunc_normal_(linear.weight, 0.0, std, -2 * std, 2 * std)
  nn.init.zeros_(linear.bias)


def _bn(channels: int) -> nn.BatchNorm2d:
  return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)


class DCGANGenerator(nn.Module):

  def __init__(
      self, resolution: int, channels: int, width: int = 64, z_dim: int = 100
  ):
    super().__init__()
    n_up = int(math.log2(resolution // 4))
    ch = width * 2 ** (n_up - 1)
    layers = [
        nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=False),
        _bn(ch),
        nn.ReLU(True),
    ]
    for _ in range(n_up - 1):
      layers += [
          nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
          _bn(ch // 2),
          nn.ReLU(True),
      ]
      ch //= 2
    layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
    self.net = nn.Sequential(*layers)
    self.z_dim = z_dim
    _dcgan_init(self)

  def forward(self, z):
    return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):

  def __init__(self, resolution: int, channels: int, width: int = 64):
    super().__init__()
    n_down = int(math.log2(resolution // 4))
    layers, ch, cin = [], width, channels
    for i in range(n_down):
      layers.append(nn.Conv2d(cin, ch, 4, 2, 1, bias=False))
      if i > 0:
        layers.append(_bn(ch))
      layers.append(nn.LeakyReLU(0.2, inplace=True))
      cin, ch = ch, ch * 2
    self.net = nn.Sequential(*layers)
    self.out = nn.Linear(cin * 16, 1, bias=False)
    _dcgan_init(self)

  def forward(self, x):
    return self.out(self.net(x).flatten(1))[:, 0]


class Maxout(nn.Module):

  def __init__(self, fan_in: int, units: int, pieces: int):
    super().__init__()
    self.linear = nn.Linear(fan_in, units * pieces)
    self.units, self.pieces = units, pieces
    _lecun_normal(self.linear)

  def forward(self, x):
    y = self.linear(x)
    return y.view(x.shape[0], self.units, self.pieces).amax(-1)


class MLPGenerator(nn.Module):

  def __init__(
      self,
      resolution: int = 28,
      channels: int = 1,
      width: int = 1200,
      z_dim: int = 100,
  ):
    super().__init__()
    self.layers = nn.ModuleList(
        [
            nn.Linear(z_dim, width),
            nn.Linear(width, width),
            nn.Linear(width, resolution * resolution * channels),
        ]
    )
    for layer in self.layers:
      _lecun_normal(layer)
    self.shape = (channels, resolution, resolution)

  def forward(self, z):
    x = F.relu(self.layers[0](z))
    x = F.relu(self.layers[1](x))
    return torch.tanh(self.layers[2](x)).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):

  def __init__(
      self,
      resolution: int = 28,
      channels: int = 1,
      width: int = 240,
      pieces: int = 5,
  ):
    super().__init__()
    self.m1 = Maxout(resolution * resolution * channels, width, pieces)
    self.m2 = Maxout(width, width, pieces)
    self.out = nn.Linear(width, 1)
    _lecun_normal(self.out)

  def forward(self, x):
    x = F.dropout(x.flatten(1), 0.2, self.training)
    x = F.dropout(self.m1(x), 0.5, self.training)
    x = F.dropout(self.m2(x), 0.5, self.training)
    return self.out(x)[:, 0]


MODELS = {
    # name: (generator, discriminator, z_dim, noise)
    "dcgan": (DCGANGenerator, DCGANDiscriminator),
    "mlp": (MLPGenerator, MLPDiscriminator),
}


class Gan:
  """G, D, their Adam optimisers and one training iteration."""

  def __init__(
      self,
      model: str,
      resolution: int,
      channels: int,
      *,
      z_dim: int = 100,
      noise: str = "normal",
      lr: float = 2e-4,
      betas=(0.5, 0.999),
      compile_step: bool = False,
  ):
    g_cls, d_cls = MODELS[model]
    self.g = g_cls(resolution, channels, z_dim=z_dim)
    self.d = d_cls(resolution, channels)
    self.g.train()
    self.d.train()
    self.g_opt = torch.optim.Adam(self.g.parameters(), lr=lr, betas=betas)
    self.d_opt = torch.optim.Adam(self.d.parameters(), lr=lr, betas=betas)
    self.z_dim, self.noise = z_dim, noise
    self._g_fwd = torch.compile(self.g) if compile_step else self.g
    self._d_fwd = torch.compile(self.d) if compile_step else self.d

  def _z(self, n):
    if self.noise == "uniform":
      return torch.rand(n, self.z_dim) * 2 - 1
    return torch.randn(n, self.z_dim)

  def step(self, real: torch.Tensor) -> tuple[float, float]:
    """One iteration on `real` (N, C, H, W) in [-1, 1]; returns the losses
    as tensors (reading them would synchronise nothing on CPU)."""
    n = real.shape[0]
    ones, zeros = torch.ones(n), torch.zeros(n)
    # D update.
    with torch.no_grad():
      fake = self._g_fwd(self._z(n))
    self.d_opt.zero_grad(set_to_none=True)
    d_loss = F.binary_cross_entropy_with_logits(
        self._d_fwd(real), ones
    ) + F.binary_cross_entropy_with_logits(self._d_fwd(fake), zeros)
    d_loss.backward()
    self.d_opt.step()
    # G update (non-saturating), D's parameters frozen.
    for p in self.d.parameters():
      p.requires_grad_(False)
    self.g_opt.zero_grad(set_to_none=True)
    g_loss = F.binary_cross_entropy_with_logits(
        self._d_fwd(self._g_fwd(self._z(n))), ones
    )
    g_loss.backward()
    self.g_opt.step()
    for p in self.d.parameters():
      p.requires_grad_(True)
    return d_loss.detach(), g_loss.detach()


def param_count(module: nn.Module) -> int:
  return sum(p.numel() for p in module.parameters())
