"""PyTorch definitions of every SwiftGAN preset's generator, whose `state_dict` names and shapes
are SwiftGAN's `generator.safetensors`: `load_state_dict(load_file(path), strict=True)` loads a
SwiftGAN checkpoint. Run once to make the golden values the suite compares against:

    .venv-bench/bin/python Tests/GANTests/Fixtures/pytorch/generators.py Tests/GANTests/Fixtures/pytorch

For each case, every tensor of the state_dict is filled by the formula `fill` (a function of its
name and shape alone, which the Swift test computes too), the generator runs in evaluation mode on
latents from the same formula, and pytorch.safetensors gets CASE.images and the names and shapes
(CASE.names: the state_dict's names joined by newlines, as int64 bytes; CASE.shape.NAME: each shape).
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file


class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class SameConvTranspose2d(nn.ConvTranspose2d):
    """TensorFlow's 'same' transposed convolution: output = input·stride, the odd padding at the end."""

    def forward(self, x):
        k, s = self.kernel_size[0], self.stride[0]
        y = F.conv_transpose2d(x, self.weight, self.bias, s)
        top = max(k - s, 0) // 2
        h, w = x.shape[2] * s, x.shape[3] * s
        return y[:, :, top:top + h, top:top + w]


class ConditionalBatchNorm(nn.Module):
    """Batch statistics shared, γ and β per class: weight and bias [K, C]."""

    def __init__(self, channels, classes, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(classes, channels))
        self.bias = nn.Parameter(torch.zeros(classes, channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        self.eps = eps

    def forward(self, x, classes):
        y = F.batch_norm(x, self.running_mean, self.running_var, None, None, False, 0.0, self.eps)
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        return y * (classes @ self.weight).reshape(shape) + (classes @ self.bias).reshape(shape)


class Generator(nn.Module):
    """`main` as SwiftGAN numbers its layers; a conditional generator appends the one-hot class
    to z and gives each conditional batch norm the classes."""

    def __init__(self, layers, latent_4d=False, classes=0):
        super().__init__()
        self.main = nn.ModuleList(layers)
        self.latent_4d, self.classes = latent_4d, classes

    def forward(self, z, classes=None):
        x = z if classes is None else torch.cat([z, classes], 1)
        if self.latent_4d:
            x = x.reshape(x.shape[0], -1, 1, 1)
        return run(self.main, x, classes)


def run(layers, x, classes):
    for layer in layers:
        x = layer(x, classes) if isinstance(layer, (ConditionalBatchNorm, SkipExcitation)) else layer(x)
    return x


class GLU(nn.Module):
    """FastGAN's GLU: the first half of the channels times the sigmoid of the second half."""

    def forward(self, x):
        nc = x.size(1) // 2
        return x[:, :nc] * torch.sigmoid(x[:, nc:])


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class SkipExcitation(nn.Module):
    """FastGAN's skip-layer excitation with the layers it skips over inside: body(x) · gate(x)."""

    def __init__(self, body, gate):
        super().__init__()
        self.body, self.gate = nn.ModuleList(body), nn.ModuleList(gate)

    def forward(self, x, classes=None):
        return run(self.body, x, classes) * run(self.gate, x, classes)


def bn(n, classes, eps=1e-5, dims=2):
    if classes:
        return ConditionalBatchNorm(n, classes, eps)
    return (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(n, eps=eps)


def mlp(size, channels, latent, width, classes):
    pixels = size * size * channels
    z = latent + classes
    return Generator([nn.Linear(z, 128), nn.LeakyReLU(0.2),
                      nn.Linear(128, 256), bn(256, classes, 0.8, 1), nn.LeakyReLU(0.2),
                      nn.Linear(256, 512), bn(512, classes, 0.8, 1), nn.LeakyReLU(0.2),
                      nn.Linear(512, 1024), bn(1024, classes, 0.8, 1), nn.LeakyReLU(0.2),
                      nn.Linear(1024, pixels), nn.Tanh(), Reshape(channels, size, size)], classes=classes)


def tensorflow_dcgan(size, channels, latent, width, classes):
    base, ups, top = (7, 2, 4 * width) if size == 28 else (4, 3, 4 * width)
    g = [nn.Linear(latent + classes, base * base * top, bias=False), bn(base * base * top, classes, dims=1), nn.LeakyReLU(0.2),
         Reshape(top, base, base)]
    ch = top
    if ups == 2:
        g += [SameConvTranspose2d(ch, ch // 2, 5, 1, bias=False), bn(ch // 2, classes), nn.LeakyReLU(0.2)]
        ch //= 2
    for i in range(ups):
        last = i == ups - 1
        out = channels if last else ch // 2
        g.append(SameConvTranspose2d(ch, out, 5, 2, bias=False))
        g += [nn.Tanh()] if last else [bn(out, classes), nn.LeakyReLU(0.2)]
        ch = out
    return Generator(g, classes=classes)


def canonical_dcgan(size, channels, latent, width, classes):
    doublings = 0
    while 4 << doublings < size:
        doublings += 1
    ch = width << (doublings - 1)
    g = [nn.ConvTranspose2d(latent + classes, ch, 4, 1, 0, bias=False), bn(ch, classes), nn.ReLU()]
    for i in range(doublings):
        last = i == doublings - 1
        out = channels if last else ch // 2
        g.append(nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=False))
        g += [nn.Tanh()] if last else [bn(out, classes), nn.ReLU()]
        ch = out
    return Generator(g, latent_4d=True, classes=classes)


def catdcgan(size, channels, latent, width, classes):
    w = width
    g = [nn.Linear(latent + classes, 8 * 8 * 16 * w), nn.LeakyReLU(0.2), Reshape(16 * w, 8, 8)]
    ch = 16 * w
    for _ in range(4):
        g += [SameConvTranspose2d(ch, ch // 2, 5, 2), bn(ch // 2, classes), nn.LeakyReLU(0.2)]
        ch //= 2
    g += [SameConvTranspose2d(ch, channels, 5, 1), nn.Tanh()]
    return Generator(g, classes=classes)


def sngan(size, channels, latent, width, classes):
    base = 7 if size == 28 else 4
    halvings = 0
    while base << halvings < size:
        halvings += 1
    w, ch = width, 8 * width
    g = [nn.Linear(latent + classes, base * base * ch), Reshape(ch, base, base), bn(ch, classes), nn.ReLU()]
    for _ in range(halvings):
        nxt = max(ch // 2, w)
        g += [nn.ConvTranspose2d(ch, nxt, 4, 2, 1), bn(nxt, classes), nn.ReLU()]
        ch = nxt
    g += [nn.Conv2d(ch, channels, 3, padding=1), nn.Tanh()]
    return Generator(g, classes=classes)


def fastgan(size, channels, latent, width, classes):
    """FastGAN's generator (Liu et al. 2021; its channel table times width/64), spectral norm on
    every convolution as FastGAN has it."""
    w, sn = width, nn.utils.spectral_norm

    def ch(r):
        return max(1, 64 * w // r if r <= 32 else 2 * w if r == 64 else 128 * w // r)

    def conv(i, o, k, s=1, p=0):
        return sn(nn.Conv2d(i, o, k, s, p, bias=False))

    def up(r):
        return [nn.Upsample(scale_factor=2, mode="nearest"), conv(ch(r), 2 * ch(2 * r), 3, 1, 1), bn(2 * ch(2 * r), classes), GLU()]

    def ups(a, b):
        layers = []
        while a < b:
            layers += up(a)
            a *= 2
        return layers

    def excitation(a, b, body):
        return SkipExcitation(body, [nn.AdaptiveAvgPool2d(4), conv(ch(a), ch(b), 4), Swish(), conv(ch(b), ch(b), 1), nn.Sigmoid()])

    gate_from = 4 if size == 32 else 8
    g = [sn(nn.ConvTranspose2d(latent + classes, 2 * ch(4), 4, 1, 0, bias=False)), bn(2 * ch(4), classes), GLU()]
    g += ups(4, gate_from)
    body = up(8) + [excitation(16, size // 2, ups(16, size // 2))] + up(size // 2) if size >= 128 else ups(gate_from, size)
    g += [excitation(gate_from, size, body), conv(ch(size), channels, 3, 1, 1), nn.Tanh()]
    return Generator(g, latent_4d=True, classes=classes)


# (case, builder, size, channels, latent, width, classes)
CASES = [("mlp", mlp, 28, 1, 12, 4, 0), ("dcgan28", tensorflow_dcgan, 28, 1, 12, 4, 0),
         ("dcgan32", tensorflow_dcgan, 32, 3, 12, 4, 0), ("dcgan64", canonical_dcgan, 64, 3, 12, 4, 0),
         ("catdcgan", catdcgan, 128, 3, 12, 2, 0), ("sngan28", sngan, 28, 1, 12, 4, 0), ("sngan64", sngan, 64, 3, 12, 4, 0),
         ("cond-dcgan28", tensorflow_dcgan, 28, 1, 12, 4, 3), ("cond-dcgan64", canonical_dcgan, 64, 1, 12, 4, 3),
         ("fastgan32", fastgan, 32, 3, 12, 4, 0), ("fastgan64", fastgan, 64, 3, 12, 4, 0), ("fastgan128", fastgan, 128, 3, 12, 4, 0),
         ("cond-fastgan64", fastgan, 64, 3, 12, 4, 3)]


def fnv1a(text):
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def fill(name, shape):
    """The values of a tensor, from its name and shape: weights ~ 1/√(fan), batch-norm statistics
    and affine values near their neutral ones."""
    count = math.prod(shape)
    phase = (fnv1a(name) % 1000) / 100
    wave = [math.sin(0.61 * k + phase) for k in range(count)]
    last = name.rsplit(".", 1)[-1]
    if last == "running_var":
        return [1 + 0.5 * abs(v) for v in wave]
    if last == "running_mean":
        return [0.1 * v for v in wave]
    if last == "num_batches_tracked":
        return [7.0]
    if len(shape) >= 2 and not name.startswith("cbn:"):
        scale = 1.5 / math.sqrt(count / max(shape[0], shape[1]))
        return [scale * v for v in wave]
    base = 1.0 if last == "weight" else 0.0  # batch-norm γ (and conditional γ tables) around 1, β around 0
    return [base + 0.2 * v for v in wave]


def converge_spectral_norms(net, iterations=100):
    """Spectral norm's u and v after `iterations` power iterations from their filled values (in
    float64): the top singular vectors, as after training, so that σ is the weight's spectral norm
    (from the filled vectors it can be near 0 and blow the weight up)."""
    for m in net.modules():
        if hasattr(m, "weight_u"):
            w = m.weight_orig.detach().double()
            if isinstance(m, nn.ConvTranspose2d):
                w = w.transpose(0, 1)
            w = w.reshape(w.shape[0], -1)
            u, v = m.weight_u.double(), m.weight_v.double()
            for _ in range(iterations):
                v = F.normalize(w.t() @ u, dim=0, eps=1e-12)
                u = F.normalize(w @ v, dim=0, eps=1e-12)
            m.weight_u.copy_(u.float())
            m.weight_v.copy_(v.float())


def latents(n, latent):
    return torch.tensor([[math.sin(0.37 * (i * latent + j) + 1) * 1.2 for j in range(latent)] for i in range(n)])


def main(out_dir):
    out = {}
    torch.set_grad_enabled(False)
    for case, build, size, channels, latent, width, classes in CASES:
        g = build(size, channels, latent, width, classes).eval()
        conditional_bn = {name for name, m in g.named_modules() if isinstance(m, ConditionalBatchNorm)}
        # Filled in place: load_state_dict would take a dict without metadata for an old spectral-norm checkpoint.
        state = g.state_dict()
        for name, t in state.items():
            key = ("cbn:" + name) if name.rsplit(".", 1)[0] in conditional_bn and name.rsplit(".", 1)[-1] in ("weight", "bias") else name
            values = fill(key, list(t.shape))
            t.copy_(torch.tensor(values, dtype=torch.float64).reshape(t.shape).to(t.dtype))
        converge_spectral_norms(g)
        z = latents(2, latent)
        one_hot = F.one_hot(torch.arange(2) % classes, classes).float() if classes else None
        out[f"{case}.images"] = g(z, one_hot).contiguous()
        names = list(state.keys())
        out[f"{case}.names"] = torch.tensor(list("\n".join(names).encode()), dtype=torch.int64)
        for name in names:
            out[f"{case}.shape.{name}"] = torch.tensor(list(state[name].shape), dtype=torch.int64)
    save_file(out, out_dir + "/pytorch.safetensors")


if __name__ == "__main__":
    main(sys.argv[1])
