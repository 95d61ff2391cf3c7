"""Parameters, multiply-adds and CPU/GPU time of the case-study networks, side by side.

The lectures claim ResNet-152 is "faster than a VGGNet at run time, even though it has
8x more layers". Depth is not what costs time: multiply-adds (MACs) are, and VGG spends
most of its 15.5 GMACs in 3x3 convs on large 224x224 and 112x112 maps, while ResNet
shrinks the image to 56x56 in its first two layers and uses 1x1 bottlenecks. This
script prints, per model, the parameters, the forward MACs (counted with forward
hooks from each conv's and linear layer's shapes) and the measured time per image
for a forward pass and for forward + backward, on the CPU (and on CUDA when present).

    python benchmarks/bench_models.py            # the ImageNet-size networks (slow on a CPU)
    python benchmarks/bench_models.py --quick    # a handful of models, fewer repeats
    python benchmarks/bench_models.py --models vgg16 resnet152 --batch 2 --repeats 3

It is a script, not a test: run it once and read the table; do not put it in CI.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from cs231n_lib.arithmetic import summarize  # noqa: E402
from cs231n_lib.models import MODELS, count_parameters  # noqa: E402

FULL = [
    "lenet5", "alexnet", "zfnet", "vgg16", "vgg19", "googlenet",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnet20_cifar", "resnet56_cifar", "alphago_policy",
    "small_vgg", "small_alexnet", "small_googlenet",
]  # fmt: skip
QUICK = ["alexnet", "vgg16", "resnet50", "resnet152", "resnet20_cifar", "small_vgg"]


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Forward multiply-adds of one input, from the course's own layer arithmetic.

    Build the model on the meta device (``with torch.device("meta"): ...``) and the count
    costs no arithmetic at all (see ``cs231n_lib.arithmetic.summarize``).
    """
    return summarize(model, input_shape).total_macs


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _one_pass(model: nn.Module, x: torch.Tensor, backward: bool) -> float:
    """Seconds per image for one forward (no grad) or one forward + backward pass."""
    _sync(x.device)
    t = time.perf_counter()
    if backward:
        model.zero_grad(set_to_none=True)
        model(x).float().sum().backward()
    else:
        with torch.no_grad():
            model(x)
    _sync(x.device)
    return (time.perf_counter() - t) / x.shape[0]


def time_models(models: dict, device, batch: int, repeats: int) -> dict:
    """Best (minimum) seconds per image, {name: (forward, forward + backward)}.

    Models take turns, round after round, so a burst of load from other processes hits
    them all alike; the minimum, not the mean, is kept because other processes only ever
    add time. Models run in eval mode: no dropout, batch norm uses running statistics.
    """
    inputs = {}
    for name, (model, shape) in models.items():
        model.to(device).eval()
        inputs[name] = torch.randn(batch, *shape, device=device)
        _one_pass(model, inputs[name], backward=True)  # warm-up: pick algorithms, allocate
    best = {name: [math.inf, math.inf] for name in models}
    for _ in range(repeats):
        for name, (model, _) in models.items():
            for i, backward in enumerate((False, True)):
                best[name][i] = min(best[name][i], _one_pass(model, inputs[name], backward))
    for model, _ in models.values():
        model.to("cpu")
    return {name: tuple(b) for name, b in best.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), help="models to time")
    parser.add_argument("--batch", type=int, default=2, help="images per timed pass (CPU)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (best of)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--no-cuda", action="store_true", help="skip CUDA even if present")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.models or (QUICK if args.quick else FULL)
    repeats = args.repeats or (3 if args.quick else 4)
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and not args.no_cuda:
        devices.append(torch.device("cuda"))

    torch.manual_seed(0)
    models = {name: (MODELS[name].build(), MODELS[name].input_shape) for name in names}
    times = {
        d.type: time_models(models, d, args.batch if d.type == "cpu" else 16, repeats)
        for d in devices
    }

    print(
        f"torch {torch.__version__}, CPU threads: {torch.get_num_threads()}, "
        f"batch {args.batch} (CUDA: 16), best of {repeats} rounds, eval mode, ms per image"
    )
    header = f"{'model':16s} {'input':>11s} {'params':>12s} {'GMACs':>7s}"
    for d in devices:
        header += f" {d.type + ' fwd':>10s} {d.type + ' f+b':>10s}"
    print(header)
    print("-" * len(header))
    for name, (_, shape) in models.items():
        with torch.device("meta"):
            meta_model = MODELS[name].build().eval()
        line = (
            f"{name:16s} {'x'.join(map(str, shape)):>11s} "
            f"{count_parameters(meta_model):>12,d} {count_macs(meta_model, shape) / 1e9:>7.3f}"
        )
        for d in devices:
            fwd, fwd_bwd = times[d.type][name]
            line += f" {fwd * 1e3:>10.2f} {fwd_bwd * 1e3:>10.2f}"
        print(line)
    if hasattr(os, "getloadavg"):
        print(
            f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
            " (above the CPU count, other processes shared the cores: times are inflated)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
