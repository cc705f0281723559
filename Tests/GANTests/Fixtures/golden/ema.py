"""Golden values for the generator's moving average, computed by PyTorch's own
`torch.optim.swa_utils.AveragedModel` with `get_ema_multi_avg_fn(0.9)`. Run once; the output is
committed beside this file:

    .venv-bench/bin/python Tests/GANTests/Fixtures/golden/ema.py Tests/GANTests/Fixtures/golden

A Linear(3, 2) + BatchNorm1d(2) module takes three successive parameter states (each the previous
plus noise, as an optimizer would leave them); the average starts as a copy of state 0 (PyTorch's
first update_parameters copies) and is updated with states 1, 2, 3. Writes ema.safetensors with
state.K.NAME (the module's parameters at state K) and ema.K.NAME (the average after state K).
"""
import sys

import torch
import torch.nn as nn
from safetensors.torch import save_file
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
out = {}
for k in range(4):
    if k > 0:
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.5)
    average.update_parameters(model)
    for name, p in model.named_parameters():
        out[f"state.{k}.{name}"] = p.detach().clone()
    for name, p in average.module.named_parameters():
        out[f"ema.{k}.{name}"] = p.detach().clone()
save_file(out, sys.argv[1] + "/ema.safetensors")
print("wrote", len(out), "tensors")
