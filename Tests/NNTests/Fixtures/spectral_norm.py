"""Golden values for spectral normalisation, computed by PyTorch's own `torch.nn.utils.spectral_norm`
(one power iteration per training-mode forward). Run once; the output is committed beside this file:

    .venv-bench/bin/python Tests/NNTests/Fixtures/spectral_norm.py Tests/NNTests/Fixtures

Writes spectral_norm.safetensors with, for each layer L in conv (Conv2d 3→4, k3), deconv
(ConvTranspose2d 4→3, k4 s2 p1: PyTorch normalises along dim 1) and linear (Linear 6→5):
  L.weight_orig, L.bias, L.weight_u, L.weight_v   the state before (u, v as PyTorch drew them)
  L.x, L.r                                        the input and the seed of the loss Σ y·r
  L.y1, L.y2                                      two training-mode forwards (each iterates once)
  L.grad_weight_orig, L.grad_x                    gradients of Σ y2·r (the second forward)
  L.u_after, L.v_after                            the vectors after the two forwards
  L.y_eval                                        an eval-mode forward afterwards (no iteration)
"""
import sys

import torch
import torch.nn as nn
from safetensors.torch import save_file

torch.manual_seed(0)
out = {}
layers = {
    "conv": (nn.Conv2d(3, 4, 3), (2, 3, 6, 6)),
    "deconv": (nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1), (2, 4, 3, 3)),
    "linear": (nn.Linear(6, 5), (3, 6)),
}
for name, (layer, shape) in layers.items():
    layer = nn.utils.spectral_norm(layer)
    layer.train()
    for key in ("weight_orig", "bias", "weight_u", "weight_v"):
        out[f"{name}.{key}"] = getattr(layer, key).detach().clone()
    x = torch.randn(shape, requires_grad=True)
    y1 = layer(x)
    r = torch.randn(y1.shape)
    y2 = layer(x)
    (y2 * r).sum().backward()
    out[f"{name}.x"] = x.detach().clone()
    out[f"{name}.r"] = r
    out[f"{name}.y1"] = y1.detach().clone()
    out[f"{name}.y2"] = y2.detach().clone()
    out[f"{name}.grad_weight_orig"] = layer.weight_orig.grad.clone()
    out[f"{name}.grad_x"] = x.grad.clone()
    out[f"{name}.u_after"] = layer.weight_u.detach().clone()
    out[f"{name}.v_after"] = layer.weight_v.detach().clone()
    layer.eval()
    with torch.no_grad():
        out[f"{name}.y_eval"] = layer(x).clone()
save_file({k: v.contiguous() for k, v in out.items()}, sys.argv[1] + "/spectral_norm.safetensors")
print("wrote", len(out), "tensors")
