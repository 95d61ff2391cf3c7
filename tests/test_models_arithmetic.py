"""Cross-check: the layer arithmetic and the real networks tell the same story.

For every model in the registry, ``arithmetic.summarize`` counts exactly the parameters the
module holds, and every row's output shape is the shape a real forward pass produces.
Models are built on the meta device, so even VGG-19 costs no arithmetic.
"""

import pytest
import torch
from torch import nn

from cs231n_lib import arithmetic, models


def _leaf_shapes(model, input_shape):
    """Output shape of every leaf module in one real (meta) forward pass, by name."""
    shapes = {}
    handles = []
    for name, module in model.named_modules():
        if not list(module.children()):
            def hook(mod, inputs, output, name=name):
                if isinstance(output, torch.Tensor):
                    shapes[name] = tuple(output.shape[1:])
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()
            model(torch.zeros(1, *input_shape, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return shapes


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_summary_matches_the_real_module(name):
    entry = models.MODELS[name]
    with torch.device("meta"):
        model = entry.build()
    summary = arithmetic.summarize(model, entry.input_shape)
    assert summary.total_params == sum(p.numel() for p in model.parameters())
    real = _leaf_shapes(model, entry.input_shape)
    checked = 0
    for row in summary.rows:
        if row.name in real:
            assert tuple(row.output_shape) == real[row.name], f"{name}: row {row.name}"
            checked += 1
    assert checked >= 3, f"{name}: summary rows did not line up with the module's layers"


@pytest.mark.parametrize(
    "model_name, spec, shape",
    [
        ("alexnet", arithmetic.alexnet_spec, (3, 227, 227)),
        ("vgg16", lambda: arithmetic.vgg_spec(16), (3, 224, 224)),
        ("lenet5", arithmetic.lenet5_spec, (1, 32, 32)),
        ("alphago_policy", arithmetic.alphago_policy_spec, (48, 19, 19)),
    ],
)
def test_specs_agree_with_models(model_name, spec, shape):
    with torch.device("meta"):
        model = models.MODELS[model_name].build()
    from_specs = arithmetic.summarize(spec(), shape)
    from_module = arithmetic.summarize(model, shape)
    assert from_specs.total_params == from_module.total_params
    assert from_specs.total_macs == from_module.total_macs


def test_zfnet_spec_and_model_differ_only_in_early_sizes():
    """The spec uses a 227 input (exact fit); the model takes 224 with padding and rounding.

    Both reach 6x6x512 and so hold the same parameters (notebook 06 shows the difference).
    """
    with torch.device("meta"):
        model = models.zfnet()
    assert (arithmetic.summarize(arithmetic.zfnet_spec(), (3, 227, 227)).total_params
            == sum(p.numel() for p in model.parameters()) == 107_627_624)


def test_summary_of_a_network_with_shared_parameters_counts_them_once():
    conv = nn.Conv2d(3, 3, 3, padding=1)
    net = nn.Sequential(conv, nn.ReLU(), conv)
    assert arithmetic.summarize(net, (3, 8, 8)).total_params == 84


@pytest.mark.parametrize("position_bias, total", [(True, 3_882_793), (False, 3_882_433)])
def test_alphago_spec_and_model_agree_row_by_row(position_bias, total):
    """The paper's last layer (a bias per board point) and the lecture slide's (one bias)."""
    with torch.device("meta"):
        model = models.alphago_policy(position_bias=position_bias)
    spec = arithmetic.summarize(arithmetic.alphago_policy_spec(position_bias))
    torch_table = arithmetic.summarize(model, (48, 19, 19))
    assert arithmetic.compare(spec, torch_table) == []
    assert spec.total_params == torch_table.total_params == total
    last = spec.row("CONV13")
    assert (last.weights, last.biases) == (192, 361 if position_bias else 1)
    assert torch_table.row("conv13").biases == last.biases
