"""Tests that verify (not restate) the HW6 reference answers for problems 1, 2 and 4.

Each claim is checked against an independent source: p1 against the analytic failure mode of
sigmoid, p2 against Monte Carlo over networks initialised by torch's own ``nn.Linear`` code, p4
against real module parameter counts and a hand-written functional forward pass.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator, Sequence

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reference.mfdnn.hw6 import (
    P1_OPTIONS,
    MyConvLayer,
    STMConvLayer,
    bias_variance,
    count_parameters,
    orders_agree,
    p1_equivalent,
    p2_mean,
    p2_variance,
    p4a_params_naive,
    p4a_params_stm,
    weight_variance,
)
from reference.mfdnn.hw6.p2_init import bias_bound, weight_bound


@pytest.fixture(autouse=True)
def _seeded_single_threaded_torch() -> Iterator[None]:
    """Seed torch per test and run single-threaded, restoring both afterwards.

    One thread because these tensors are tiny: on a loaded 2-core box OpenMP's spinning
    threads made a (2, 256, 8, 8) STM forward take ~2 s instead of ~1 ms.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1234)
            yield
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------- problem 1: dropout order


def test_p1_options_are_the_statements_three() -> None:
    assert P1_OPTIONS == ("relu", "sigmoid", "leaky_relu")


def test_p1_equivalent_is_relu_and_leaky_relu() -> None:
    assert p1_equivalent() == ["leaky_relu", "relu"]


def test_p1_experiment_shares_the_dropout_mask() -> None:
    """Reseeding before each dropout call must reproduce the mask, or the experiment is void."""
    dropout = nn.Dropout(p=0.4)
    z = torch.rand(64, 64) + 0.1  # strictly positive: zeros in the output are exactly the mask
    torch.manual_seed(7)
    first = dropout(z) == 0
    torch.manual_seed(7)
    second = dropout(torch.sigmoid(z)) == 0
    assert torch.equal(first, second)
    assert 0.3 < first.float().mean().item() < 0.5  # it really dropped about 40 %


def test_p1_sigmoid_fails_for_the_analytic_reason() -> None:
    """Dropped units: dropout(sigmoid(z)) = 0 but sigmoid(dropout(z)) = sigmoid(0) = 1/2."""
    assert not orders_agree(nn.Sigmoid())
    z = torch.zeros(1)
    assert torch.sigmoid(z).item() == 0.5


@pytest.mark.parametrize(
    ("sigma", "expected"),
    [
        (nn.Identity(), True),  # linear: commutes with any scaling
        (nn.LeakyReLU(0.3), True),  # positively homogeneous for any slope
        (nn.Tanh(), False),  # tanh(0) = 0, yet not homogeneous: kept units differ
        (nn.Softplus(), False),
        (nn.ELU(), False),
    ],
)
def test_p1_experiment_discriminates_other_activations(sigma: nn.Module, expected: bool) -> None:
    """The experiment can answer both ways, so p1_equivalent is not vacuously true or false."""
    assert orders_agree(sigma) is expected


def test_p1_experiment_leaves_global_rng_untouched() -> None:
    state = torch.get_rng_state()
    p1_equivalent()
    assert torch.equal(torch.get_rng_state(), state)


# ---------------------------------------------------------------- problem 2: default init


def _closed_form_variance(L: int, n: Sequence[int]) -> float:
    return 3.0**-L + sum(1.0 / (n[i] * 3.0 ** (L - i)) for i in range(L))


def _wrong_student_variance(L: int, n: Sequence[int]) -> float:
    """A real student's answer (weight variance taken as 1/fan_in): must be rejected."""
    return 1.0 + sum(1.0 / (3.0 * w) for w in n)


def test_p2_recurrence_matches_closed_form() -> None:
    rng = random.Random(0)
    for _ in range(300):
        L = rng.randint(1, 8)
        n = [rng.randint(1, 600) for _ in range(L)]
        assert math.isclose(p2_variance(L, n), _closed_form_variance(L, n), rel_tol=1e-12)
        assert p2_mean(L, n) == 0.0


def test_p2_per_layer_variances_are_one_third_over_fan_in() -> None:
    for fan_in in (1, 2, 3, 17, 256):
        assert math.isclose(weight_variance(fan_in), 1.0 / (3 * fan_in), rel_tol=1e-12)
        assert math.isclose(bias_variance(fan_in), 1.0 / (3 * fan_in), rel_tol=1e-12)


@pytest.mark.parametrize("fan_in", [1, 3, 7])
def test_p2_variances_match_a_real_nn_linear(fan_in: int) -> None:
    """The derived bounds and variances agree with what nn.Linear actually samples."""
    layer = nn.Linear(fan_in, 200_000, dtype=torch.float64)
    for values, bound, var in (
        (layer.weight.detach().flatten(), weight_bound(fan_in), weight_variance(fan_in)),
        (layer.bias.detach(), bias_bound(fan_in), bias_variance(fan_in)),
    ):
        assert values.abs().max().item() <= bound
        assert values.abs().max().item() > 0.999 * bound
        # Var(w^2) for U(-b, b) is 4 b^4 / 45; allow 5 standard errors.
        se = math.sqrt(4 * bound**4 / 45 / values.numel())
        assert abs(values.square().mean().item() - var) < 5 * se


def _sample_networks(n: Sequence[int], draws: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Weights of ``draws`` independent default-initialised networks, via torch's own init.

    ``nn.Linear(fan_in, fan_out * draws)`` has the same fan_in, hence the same weight and bias
    distributions, as ``nn.Linear(fan_in, fan_out)``, with all entries independent; slicing its
    rows gives ``draws`` independent layers at the cost of one module construction.
    """
    widths = [*n, 1]
    params = []
    for fan_in, fan_out in itertools.pairwise(widths):
        wide = nn.Linear(fan_in, fan_out * draws, dtype=torch.float64)
        weight = wide.weight.detach().reshape(draws, fan_out, fan_in)
        bias = wide.bias.detach().reshape(draws, fan_out)
        params.append((weight, bias))
    return params


def _forward(params: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor) -> torch.Tensor:
    """Run each network on its own input row (sigma is the identity)."""
    y = x
    for weight, bias in params:
        y = torch.einsum("boi,bi->bo", weight, y) + bias
    return y.squeeze(1)


def _sample_outputs(n: Sequence[int], draws: int, rademacher: bool = False) -> torch.Tensor:
    """One y_L per fresh network, with one fresh zero-mean unit-variance input each."""
    if rademacher:
        x = torch.randint(0, 2, (draws, n[0]), dtype=torch.float64) * 2 - 1
    else:
        x = torch.randn(draws, n[0], dtype=torch.float64)
    return _forward(_sample_networks(n, draws), x)


def _moments_consistent(y: torch.Tensor, mean: float, var: float, z: float = 5.0) -> bool:
    """Sample mean and variance within ``z`` standard errors of the claimed values."""
    draws = y.numel()
    m = y.mean().item()
    s2 = y.var().item()
    m4 = (y - m).pow(4).mean().item()
    mean_ok = abs(m - mean) < z * math.sqrt(s2 / draws)
    var_ok = abs(s2 - var) < z * math.sqrt((m4 - s2 * s2) / draws)
    return mean_ok and var_ok


MC_CONFIGS = [(1, [3]), (2, [4, 2]), (3, [2, 5, 3])]
MC_DRAWS = 200_000


def test_p2_batched_sampler_matches_real_sequential() -> None:
    """The widened-Linear trick computes exactly what an nn.Sequential of nn.Linear computes."""
    n = [2, 5, 3]
    params = _sample_networks(n, draws=8)
    x = torch.randn(8, n[0], dtype=torch.float64)
    y = _forward(params, x)
    widths = [*n, 1]
    for b in range(8):
        model = nn.Sequential(
            *(nn.Linear(i, o, dtype=torch.float64) for i, o in itertools.pairwise(widths))
        )
        with torch.no_grad():
            for layer, (weight, bias) in zip(model, params, strict=True):
                layer.weight.copy_(weight[b])
                layer.bias.copy_(bias[b])
            assert torch.allclose(model(x[b]), y[b : b + 1])


@pytest.mark.parametrize(("L", "n"), MC_CONFIGS)
def test_p2_monte_carlo_agrees_with_reference(L: int, n: list[int]) -> None:
    y = _sample_outputs(n, MC_DRAWS)
    assert _moments_consistent(y, p2_mean(L, n), p2_variance(L, n))


def test_p2_monte_carlo_with_non_gaussian_input() -> None:
    """Only zero mean and unit variance of x matter: Rademacher inputs give the same answer."""
    L, n = 2, [4, 2]
    y = _sample_outputs(n, MC_DRAWS, rademacher=True)
    assert _moments_consistent(y, p2_mean(L, n), p2_variance(L, n))


@pytest.mark.parametrize(("L", "n"), MC_CONFIGS)
@pytest.mark.parametrize(
    "wrong",
    [_wrong_student_variance, lambda L, n: 3.0**-L],  # second: forgot the biases
)
def test_p2_monte_carlo_rejects_wrong_answers(
    L: int, n: list[int], wrong: Callable[[int, Sequence[int]], float]
) -> None:
    """The same Monte Carlo check fails wrong formulas, so the agreement test has teeth."""
    y = _sample_outputs(n, MC_DRAWS)
    assert not _moments_consistent(y, 0.0, wrong(L, n))


@pytest.mark.parametrize(("L", "n"), [(0, []), (2, [3]), (1, [0]), (2, [3, 1.5])])
def test_p2_rejects_malformed_widths(L: int, n: list[float]) -> None:
    with pytest.raises(ValueError):
        p2_variance(L, n)
    with pytest.raises(ValueError):
        p2_mean(L, n)


# ---------------------------------------------------------------- problem 4: STM conv


def _conv_params(k: int, cin: int, cout: int) -> int:
    """Weights plus biases of a k x k convolution, by hand."""
    return k * k * cin * cout + cout


def test_p4_parameter_counts() -> None:
    naive = _conv_params(1, 256, 128) + _conv_params(3, 128, 128) + _conv_params(1, 128, 256)
    stm = 32 * (_conv_params(1, 256, 4) + _conv_params(3, 4, 4) + _conv_params(1, 4, 256))
    assert (naive, stm) == (213504, 78592)
    assert p4a_params_naive() == naive
    assert p4a_params_stm() == stm
    assert count_parameters(STMConvLayer(final_relu=True)) == stm


def test_count_parameters_counts_only_trainable() -> None:
    layer = nn.Linear(10, 3)
    assert count_parameters(layer) == 33
    layer.bias.requires_grad_(False)
    assert count_parameters(layer) == 30


@pytest.mark.parametrize("shape", [(2, 256, 8, 8), (1, 256, 5, 7)])
@pytest.mark.parametrize("make", [MyConvLayer, STMConvLayer, lambda: STMConvLayer(final_relu=True)])
def test_p4_output_shape_equals_input_shape(
    shape: tuple[int, ...], make: Callable[[], nn.Module]
) -> None:
    with torch.no_grad():
        assert make()(torch.randn(shape)).shape == shape


def _path_convs(path: nn.Module) -> list[nn.Conv2d]:
    convs = [m for m in path.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (256, 4, (1, 1)),
        (4, 4, (3, 3)),
        (4, 256, (1, 1)),
    ]
    return convs


@pytest.mark.parametrize("final_relu", [False, True])
def test_p4_stm_matches_functional_computation(final_relu: bool) -> None:
    layer = STMConvLayer(final_relu=final_relu)
    x = torch.randn(2, 256, 6, 5)
    expected = torch.zeros_like(x)
    for path in layer.paths:
        c1, c2, c3 = _path_convs(path)
        h = F.relu(F.conv2d(x, c1.weight, c1.bias))
        h = F.relu(F.conv2d(h, c2.weight, c2.bias, padding=1))
        h = F.conv2d(h, c3.weight, c3.bias)
        expected = expected + (F.relu(h) if final_relu else h)
    with torch.no_grad():
        assert torch.allclose(layer(x), expected, atol=1e-5)


@pytest.mark.parametrize("final_relu", [False, True])
def test_p4_stm_all_paths_at_once_equals_path_by_path(final_relu: bool) -> None:
    """`forward` (three convolutions over all paths) is `forward_per_path` (the definition),
    in values and in every parameter's gradient: the grader's backward check reads them."""
    torch.manual_seed(3)
    layer = STMConvLayer(final_relu=final_relu).double()
    with torch.no_grad():  # weights of a trained-looking scale, so the ReLUs cut both ways
        for param in layer.parameters():
            param.normal_(0.0, 0.3)
    x = torch.randn(2, 256, 5, 7, dtype=torch.float64)
    cotangent = torch.randn(2, 256, 5, 7, dtype=torch.float64)
    grads = []
    for forward in (layer.forward, layer.forward_per_path):
        layer.zero_grad()
        out = forward(x)
        (out * cotangent).sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in layer.parameters()]))
    (fast, fast_grads), (slow, slow_grads) = grads
    assert torch.allclose(fast, slow, rtol=1e-12, atol=1e-12)
    assert all(
        torch.allclose(a, b, rtol=1e-10, atol=1e-12)
        for a, b in zip(fast_grads, slow_grads, strict=True)
    )


def test_p4_naive_matches_functional_computation() -> None:
    layer = MyConvLayer()
    x = torch.randn(1, 256, 4, 4)
    h = F.relu(F.conv2d(x, layer.conv1.weight, layer.conv1.bias))
    h = F.relu(F.conv2d(h, layer.conv2.weight, layer.conv2.bias, padding=1))
    h = F.relu(F.conv2d(h, layer.conv3.weight, layer.conv3.bias))
    with torch.no_grad():
        assert torch.allclose(layer(x), h, atol=1e-5)


def test_p4_final_relu_changes_the_output() -> None:
    plain = STMConvLayer(final_relu=False)
    relu = STMConvLayer(final_relu=True)
    relu.load_state_dict(plain.state_dict())  # same weights: only the final ReLU differs
    x = torch.randn(1, 256, 5, 5)
    with torch.no_grad():
        out_plain, out_relu = plain(x), relu(x)
    assert not torch.allclose(out_plain, out_relu)
    assert out_plain.min() < 0  # no ReLU after the sum
    assert out_relu.min() >= 0  # sum of ReLU outputs


def test_p4_parameters_registered_path_by_path() -> None:
    names = [name for name, _ in STMConvLayer().named_parameters()]
    assert names == [
        f"paths.{i}.{j}.{kind}" for i in range(32) for j in (0, 2, 4) for kind in ("weight", "bias")
    ]


@pytest.mark.parametrize("final_relu", [False, True])
def test_p4_every_parameter_gets_a_gradient(final_relu: bool) -> None:
    layer = STMConvLayer(final_relu=final_relu)
    layer(torch.randn(2, 256, 6, 6)).square().sum().backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_p4_paths_do_not_share_tensors() -> None:
    params = list(STMConvLayer().parameters())
    assert len(params) == 32 * 6
    assert len({p.data_ptr() for p in params}) == len(params)
    first, second = STMConvLayer().paths[:2]
    assert not torch.equal(first[0].weight, second[0].weight)  # independently initialised
