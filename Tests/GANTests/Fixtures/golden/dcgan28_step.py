"""Golden values for one training step of SwiftGAN's 28x28 DCGAN preset (width 8, latent 16,
batch 4), computed by PyTorch. Run once; the outputs are committed beside this file:

    .venv-bench/bin/pip install safetensors
    .venv-bench/bin/python Tests/GANTests/Fixtures/golden/dcgan28_step.py Tests/GANTests/Fixtures/golden

Writes
  generator.safetensors, discriminator.safetensors   the initial weights and buffers (state_dict
                                                      names, as SwiftGAN's `main.N.…`)
  step.safetensors   input.real [4,1,28,28], input.noise [4,16];
                     act.g.N (output of G's layer N), act.d_real.N / act.d_fake.N (D's layers on the
                     real batch and on the detached fakes, before D's update);
                     loss.d, loss.g;
                     grad.d.NAME (from D's loss), grad.g.NAME (from G's loss, through the updated D);
                     adam.d.NAME.exp_avg / .exp_avg_sq, adam.g.… (after the step);
                     after.d.NAME / after.g.NAME (buffers after the step: running statistics).

The step is SwiftGAN's GANStep with its defaults and PyTorch's reference DCGAN order: fake = G(z);
D loss = BCE(D(real), 0.9) + BCE(D(fake.detach()), 0); backward; Adam(D); G loss = BCE(D(fake), 1);
backward; Adam(G). Adam lr 2e-4, betas (0.5, 0.999). TensorFlow's 'same' padding (the extra row
and column after) is written out with F.pad and a crop.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(0)
torch.set_num_threads(1)
W, LATENT, BATCH, SIZE = 8, 16, 4, 28


def same(size, k, s, transposed):
    out = size * s if transposed else -(-size // s)
    total = max((size - 1) * s + k - out, 0) if transposed else max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    def __init__(self, cin, cout, size):
        super().__init__(cin, cout, 5, stride=2, padding=0)
        self.pads = same(size, 5, 2, False)

    def forward(self, x):
        b, a = self.pads
        return F.conv2d(F.pad(x, (b, a, b, a)), self.weight, self.bias, self.stride)


class SameConvTranspose2d(nn.ConvTranspose2d):
    def __init__(self, cin, cout, size, stride):
        super().__init__(cin, cout, 5, stride=stride, padding=0, bias=False)
        self.crop = same(size, 5, stride, True)

    def forward(self, x):
        y = F.conv_transpose2d(x, self.weight, None, self.stride)
        b, a = self.crop
        return y[:, :, b:y.shape[2] - a, b:y.shape[3] - a]


class View(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class Net(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x)


top = 4 * W
G = Net(nn.Linear(LATENT, 7 * 7 * top, bias=False), nn.BatchNorm1d(7 * 7 * top), nn.LeakyReLU(0.2), View(top, 7, 7),
        SameConvTranspose2d(top, top // 2, 7, 1), nn.BatchNorm2d(top // 2), nn.LeakyReLU(0.2),
        SameConvTranspose2d(top // 2, top // 4, 7, 2), nn.BatchNorm2d(top // 4), nn.LeakyReLU(0.2),
        SameConvTranspose2d(top // 4, 1, 14, 2), nn.Tanh())
D = Net(SameConv2d(1, W, 28), nn.LeakyReLU(0.2),
        SameConv2d(W, 2 * W, 14), nn.BatchNorm2d(2 * W), nn.LeakyReLU(0.2),
        SameConv2d(2 * W, 4 * W, 7), nn.BatchNorm2d(4 * W), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(4 * W * 4 * 4, 1))

# Weights as the preset draws them (N(0, 0.02)), but biases and BN affine terms away from their
# defaults so that every gradient rule is exercised.
with torch.no_grad():
    for net in (G, D):
        for name, p in net.named_parameters():
            bn = isinstance(dict(net.named_modules())[name.rsplit(".", 1)[0]], nn.modules.batchnorm._BatchNorm)
            if bn and name.endswith("weight"):
                p.normal_(1.0, 0.1)
            elif bn or name.endswith("bias"):
                p.normal_(0.0, 0.1)
            else:
                p.normal_(0.0, 0.02)

out = sys.argv[1]
save_file({k: v.contiguous() for k, v in G.state_dict().items()}, f"{out}/generator.safetensors")
save_file({k: v.contiguous() for k, v in D.state_dict().items()}, f"{out}/discriminator.safetensors")

real = torch.rand(BATCH, 1, SIZE, SIZE) * 2 - 1
noise = torch.randn(BATCH, LATENT)
dump = {"input.real": real, "input.noise": noise}


def record(net, x, prefix):
    for i, layer in enumerate(net.main):
        x = layer(x)
        dump[f"{prefix}.{i}"] = x.detach().clone()
    return x


optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
bce = F.binary_cross_entropy_with_logits

fake = record(G, noise, "act.g")
real_logits = record(D, real, "act.d_real").flatten(1)
fake_logits = record(D, fake.detach(), "act.d_fake").flatten(1)
loss_d = bce(real_logits, torch.full_like(real_logits, 0.9)) + bce(fake_logits, torch.zeros_like(fake_logits))
optD.zero_grad()
loss_d.backward()
optD.step()
for p in D.parameters():
    p.requires_grad_(False)
loss_g = bce(D(fake).flatten(1), torch.ones(BATCH, 1))
optG.zero_grad()
loss_g.backward()
optG.step()

dump["loss.d"] = loss_d.detach().reshape([])
dump["loss.g"] = loss_g.detach().reshape([])
for tag, net, opt in (("d", D, optD), ("g", G, optG)):
    for name, p in net.named_parameters():
        dump[f"grad.{tag}.{name}"] = p.grad.clone()
        state = opt.state[p]
        dump[f"adam.{tag}.{name}.exp_avg"] = state["exp_avg"].clone()
        dump[f"adam.{tag}.{name}.exp_avg_sq"] = state["exp_avg_sq"].clone()
    for name, b in net.named_buffers():
        dump[f"after.{tag}.{name}"] = b.clone().float()
save_file({k: v.contiguous() for k, v in dump.items()}, f"{out}/step.safetensors")
print(f"loss_d {loss_d.item():.6f} loss_g {loss_g.item():.6f}; {len(dump)} tensors")
