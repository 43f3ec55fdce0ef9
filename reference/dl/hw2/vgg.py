"""HW2 question 6: VGG-11 (configuration A of Simonyan & Zisserman), its per-layer table and counts.

Why build the network instead of writing the table down: every number the grader compares a
student's table with must come from something that can be checked. Output shapes are read with
forward hooks on each layer, parameter counts from the layers' real parameters; the total and the
fully connected share are sums over that table. The network lives on torch's `meta` device: shapes
and parameter tensors exist, but no 530 MB of weights are allocated and no convolution runs.

Table conventions (the ones the statement's own table uses, "224x224x3"):
- output shapes are height x width x channels for feature maps, one number for vectors;
- the rows are INPUT, each layer of the network (CONV3-64, RELU, POOL2, FC-4096, ..., SOFTMAX);
  dropout is left out (configuration A lists none in its table; it has no parameters and does not
  change a shape), and so is the flatten between the last pool and FC-4096 (a reshape, not a layer).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

CONFIG_A: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
"""Convolution widths and max-pools ('M') of VGG-11, from the paper's Table 1, column A."""
FC_WIDTHS: tuple[int, ...] = (4096, 4096, 1000)
INPUT_SHAPE: tuple[int, int, int] = (3, 224, 224)  # channels, height, width


def vgg11(device: str | torch.device = "meta") -> nn.Sequential:
    """VGG-11: 3x3 convolutions (padding 1) with ReLU, 2x2 max-pools, three FC layers, softmax."""
    layers: list[nn.Module] = []
    channels = INPUT_SHAPE[0]
    with torch.device(device):
        for item in CONFIG_A:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU()]
                channels = int(item)
        layers.append(nn.Flatten())
        features = channels * (INPUT_SHAPE[1] // 32) * (INPUT_SHAPE[2] // 32)  # five 2x2 pools
        for index, width in enumerate(FC_WIDTHS):
            layers.append(nn.Linear(features, width))
            if index < len(FC_WIDTHS) - 1:
                layers.append(nn.ReLU())
            features = width
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


def layer_name(module: nn.Module) -> str | None:
    """The statement's name for a layer ('CONV3-64', 'POOL2', 'FC-4096'); None: not a table row."""
    if isinstance(module, nn.Conv2d):
        return f"CONV{module.kernel_size[0]}-{module.out_channels}"
    if isinstance(module, nn.MaxPool2d):
        size = module.kernel_size
        return f"POOL{size if isinstance(size, int) else size[0]}"
    if isinstance(module, nn.Linear):
        return f"FC-{module.out_features}"
    if isinstance(module, nn.ReLU):
        return "RELU"
    if isinstance(module, nn.Softmax):
        return "SOFTMAX"
    return None


def _table_shape(shape: torch.Size) -> list[int]:
    """(1, C, H, W) -> [H, W, C]; (1, N) -> [N]: the statement's way of writing shapes."""
    dims = list(shape)[1:]
    return [dims[1], dims[2], dims[0]] if len(dims) == 3 else dims


def layer_table(model: nn.Sequential | None = None) -> list[dict[str, Any]]:
    """One row per table layer: {'layer', 'output', 'parameters'}, read from the network itself.

    Shapes come from forward hooks during one pass of a (1, 3, 224, 224) input; counts from each
    layer's own parameters (`numel`), so a bias forgotten or a wrong fan-in cannot hide here.
    """
    model = model if model is not None else vgg11()
    device = next(model.parameters()).device
    outputs: dict[int, torch.Size] = {}
    hooks = [
        module.register_forward_hook(
            lambda _m, _i, out, index=index: outputs.__setitem__(index, out.shape)
        )
        for index, module in enumerate(model)
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *INPUT_SHAPE, device=device))
    finally:
        for hook in hooks:
            hook.remove()
    rows: list[dict[str, Any]] = [
        {"layer": "INPUT", "output": _table_shape(torch.Size((1, *INPUT_SHAPE))), "parameters": 0}
    ]
    for index, module in enumerate(model):
        name = layer_name(module)
        if name is None:
            continue
        count = sum(p.numel() for p in module.parameters())
        rows.append({"layer": name, "output": _table_shape(outputs[index]), "parameters": count})
    return rows


def total_parameters(model: nn.Sequential | None = None) -> int:
    """Every parameter of the network (not the table's sum: a test checks the two agree)."""
    model = model if model is not None else vgg11()
    return sum(p.numel() for p in model.parameters())


def fc_parameters(model: nn.Sequential | None = None) -> int:
    model = model if model is not None else vgg11()
    return sum(p.numel() for m in model if isinstance(m, nn.Linear) for p in m.parameters())


# --- the names the HW2 rubric refers to ----------------------------------------------------------
def q6_table() -> list[dict[str, Any]]:
    """Question 6.1: the VGG-11 table (layer, output dimension, number of parameters)."""
    return layer_table()


def q6_total() -> int:
    """Question 6.2: the total number of parameters of VGG-11."""
    return total_parameters()


def q6_fc_share() -> float:
    """Question 6.3: the fully connected layers' share of all parameters, as a fraction."""
    model = vgg11()
    return fc_parameters(model) / total_parameters(model)
