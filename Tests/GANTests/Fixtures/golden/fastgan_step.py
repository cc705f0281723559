"""Golden values for one training step of SwiftGAN's FastGAN preset at 32x32 (3 channels, width 4,
latent 12, batch 4), computed by PyTorch. Run once; the outputs are committed beside this file:

    .venv-bench/bin/pip install safetensors
    .venv-bench/bin/python Tests/GANTests/Fixtures/golden/fastgan_step.py Tests/GANTests/Fixtures/golden

Writes
  fastgan-generator.safetensors, fastgan-discriminator.safetensors   the initial weights and
        buffers (state_dict names, as SwiftGAN's: `main.N.…`, `main.N.body.M.…`, `decoder.M.…`;
        every convolution spectrally normalised: weight_orig, weight_u, weight_v)
  fastgan-step.safetensors   input.real [4,3,32,32], input.noise [4,12,1,1];
        loss.d (hinge + reconstruction), loss.recon, loss.g;
        grad.d.NAME (from D's loss), grad.g.NAME (from G's loss, through the updated D);
        adam.d.NAME.exp_avg / .exp_avg_sq, adam.g.… (after the step);
        after.d.NAME / after.g.NAME (buffers after the step: running statistics, and spectral
        norm's u and v after one power iteration per forward pass).

The step is SwiftGAN's GANStep with the preset's recipe but no augmentation: fake = G(z); D's
loss = hinge(D(real), D(fake.detach())) + MSE(decoder(D's 8x8 features of real), real pooled to
16x16), the decoder fed from the same pass as D's logits on the real batch; backward; Adam(D);
G's loss = -mean D(fake) with D frozen (still in training mode: its power iterations run);
backward; Adam(G). Adam lr 2e-4, betas (0.5, 0.999).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pytorch"))
from generators import GLU, bn, fastgan  # noqa: E402  (the parity test's definition of G)

torch.manual_seed(0)
torch.set_num_threads(1)
W, LATENT, BATCH, SIZE = 4, 12, 4, 32
sn = nn.utils.spectral_norm


def ch(r):
    return max(1, 64 * W // r if r <= 32 else 2 * W if r == 64 else 128 * W // r)


def conv(i, o, k, s=1, p=0):
    return sn(nn.Conv2d(i, o, k, s, p, bias=False))


class Discriminator(nn.Module):
    """FastGAN's D as SwiftGAN builds it: 4x4 stride-2 convolutions down to 4x4, one logit; the
    decoder reads the output of the first `reads` layers (8x8)."""

    def __init__(self):
        super().__init__()
        d = [conv(3, ch(SIZE // 2), 4, 2, 1), nn.LeakyReLU(0.2)]
        r, self.reads = SIZE // 2, 0
        while r > 4:
            d += [conv(ch(r), ch(r // 2), 4, 2, 1), bn(ch(r // 2), 0), nn.LeakyReLU(0.2)]
            r //= 2
            if r == 8:
                self.reads = len(d)
        d.append(conv(ch(4), 1, 4))
        self.main = nn.ModuleList(d)
        up = [nn.Upsample(scale_factor=2, mode="nearest"), conv(ch(8), 2 * ch(16), 3, 1, 1), bn(2 * ch(16), 0), GLU()]
        self.decoder = nn.ModuleList(up + [conv(ch(SIZE // 2), 3, 3, 1, 1), nn.Tanh()])

    def forward(self, x, reconstruct=False):
        for layer in self.main[:self.reads]:
            x = layer(x)
        recon = None
        if reconstruct:
            recon = x
            for layer in self.decoder:
                recon = layer(recon)
        for layer in self.main[self.reads:]:
            x = layer(x)
        return x.flatten(1), recon


G, D = fastgan(SIZE, 3, LATENT, W, 0), Discriminator()
G.train()
D.train()

# Weights as the preset draws them (N(0, 0.02)), batch norms' γ and β away from their defaults
# so that every gradient rule is exercised.
with torch.no_grad():
    for net in (G, D):
        modules = dict(net.named_modules())
        for name, p in net.named_parameters():
            norm = isinstance(modules[name.rsplit(".", 1)[0]], nn.modules.batchnorm._BatchNorm)
            if norm and name.endswith("weight"):
                p.normal_(1.0, 0.1)
            elif norm:
                p.normal_(0.0, 0.1)
            else:
                p.normal_(0.0, 0.02)

out = sys.argv[1]
save_file({k: v.contiguous() for k, v in G.state_dict().items()}, f"{out}/fastgan-generator.safetensors")
save_file({k: v.contiguous() for k, v in D.state_dict().items()}, f"{out}/fastgan-discriminator.safetensors")

real = torch.rand(BATCH, 3, SIZE, SIZE) * 2 - 1
noise = torch.randn(BATCH, LATENT, 1, 1)
dump = {"input.real": real, "input.noise": noise}

optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

fake = G(noise.flatten(1))
real_logits, recon = D(real, reconstruct=True)
fake_logits, _ = D(fake.detach())
loss_recon = F.mse_loss(recon, F.avg_pool2d(real, 2))
loss_d = F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean() + loss_recon
optD.zero_grad()
loss_d.backward()
optD.step()
for p in D.parameters():
    p.requires_grad_(False)
loss_g = -D(fake)[0].mean()
optG.zero_grad()
loss_g.backward()
optG.step()

dump["loss.d"] = loss_d.detach().reshape([])
dump["loss.recon"] = loss_recon.detach().reshape([])
dump["loss.g"] = loss_g.detach().reshape([])
for tag, net, opt in (("d", D, optD), ("g", G, optG)):
    for name, p in net.named_parameters():
        dump[f"grad.{tag}.{name}"] = p.grad.clone()
        state = opt.state[p]
        dump[f"adam.{tag}.{name}.exp_avg"] = state["exp_avg"].clone()
        dump[f"adam.{tag}.{name}.exp_avg_sq"] = state["exp_avg_sq"].clone()
    for name, b in net.named_buffers():
        dump[f"after.{tag}.{name}"] = b.clone().float()
save_file({k: v.contiguous() for k, v in dump.items()}, f"{out}/fastgan-step.safetensors")
print(f"loss_d {loss_d.item():.6f} loss_recon {loss_recon.item():.6f} loss_g {loss_g.item():.6f}; {len(dump)} tensors")
