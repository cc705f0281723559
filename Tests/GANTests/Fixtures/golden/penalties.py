"""Golden values for one discriminator step with each gradient penalty, computed by PyTorch with
torch.autograd.grad(create_graph=True): R1 (bce loss), R2 (bce loss) and WGAN-GP (Wasserstein
loss), on the discriminator of SwiftGAN's 28x28 DCGAN preset (width 8, batch norm included) with
the weights of discriminator.safetensors (written by dcgan28_step.py). Run once; the output is
committed beside this file:

    python -m venv /tmp/torch && /tmp/torch/bin/pip install torch safetensors numpy
    /tmp/torch/bin/python Tests/GANTests/Fixtures/golden/penalties.py Tests/GANTests/Fixtures/golden

Writes penalties.safetensors:
  input.real, input.fake [4,1,28,28]; input.epsilon [4,1,1,1] (WGAN-GP's interpolation weights)
  r1.loss_d, r1.penalty, r1.grad.NAME   loss = BCE(D(x), 0.9) + BCE(D(G(z)), 0) + 10/2·E‖∇ₓD(x)‖²
  r2.…                                   the same with 10/2·E‖∇D(G(z))‖² on the fakes
  wgan.…                                 loss = E D(G(z)) − E D(x) + 10·E(‖∇D(x̂)‖ − 1)²,
                                         x̂ = ε·x + (1 − ε)·G(z)
The penalty is the weighted term as it enters the loss; grad.NAME are D's parameters' gradients
of the whole loss (state_dict names, as SwiftGAN's `main.N.…`). D is in training mode (batch
statistics), and each variant starts from the same weights.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

torch.manual_seed(1)
torch.set_num_threads(1)
W, BATCH = 8, 4


def same(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    def __init__(self, cin, cout, size):
        super().__init__(cin, cout, 5, stride=2, padding=0)
        self.pads = same(size, 5, 2)

    def forward(self, x):
        b, a = self.pads
        return F.conv2d(F.pad(x, (b, a, b, a)), self.weight, self.bias, self.stride)


class Net(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x)


def discriminator():
    d = Net(SameConv2d(1, W, 28), nn.LeakyReLU(0.2),
            SameConv2d(W, 2 * W, 14), nn.BatchNorm2d(2 * W), nn.LeakyReLU(0.2),
            SameConv2d(2 * W, 4 * W, 7), nn.BatchNorm2d(4 * W), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(4 * W * 4 * 4, 1))
    d.load_state_dict(load_file(f"{sys.argv[1]}/discriminator.safetensors"))
    return d.train()


real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
fake = torch.rand(BATCH, 1, 28, 28) * 2 - 1
epsilon = torch.rand(BATCH, 1, 1, 1)
dump = {"input.real": real, "input.fake": fake, "input.epsilon": epsilon}
bce = F.binary_cross_entropy_with_logits


def squared_norm(logits, x):
    (g,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return g.flatten(1).square().sum(1).mean()


for variant in ("r1", "r2", "wgan"):
    D = discriminator()
    x = real.clone().requires_grad_(variant == "r1")
    f = fake.clone().requires_grad_(variant == "r2")
    real_logits, fake_logits = D(x), D(f)
    if variant == "wgan":
        loss = fake_logits.mean() - real_logits.mean()
        mixed = (epsilon * real + (1 - epsilon) * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)
        penalty = 10 * (g.flatten(1).square().sum(1).add(1e-12).sqrt() - 1).square().mean()
    else:
        loss = bce(real_logits, torch.full_like(real_logits, 0.9)) + bce(fake_logits, torch.zeros_like(fake_logits))
        penalty = 10 / 2 * (squared_norm(real_logits, x) if variant == "r1" else squared_norm(fake_logits, f))
    total = loss + penalty
    total.backward()
    dump[f"{variant}.loss_d"] = total.detach().reshape([])
    dump[f"{variant}.penalty"] = penalty.detach().reshape([])
    for name, p in D.named_parameters():
        dump[f"{variant}.grad.{name}"] = p.grad.detach().clone()

save_file({k: v.contiguous() for k, v in dump.items()}, f"{sys.argv[1]}/penalties.safetensors")
print("wrote", len(dump), "tensors")
