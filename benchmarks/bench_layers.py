"""Benchmark: naive loops vs fast NumPy layers vs PyTorch, side by side.

    python benchmarks/bench_layers.py           # full run (a few minutes: naive loops)
    python benchmarks/bench_layers.py --quick   # fewer repeats, float32 only
    python benchmarks/bench_layers.py --threads 1   # same thread count for both, set here
    python benchmarks/bench_layers.py --threads 1 --cpu-time   # steadier on a busy machine

For each case it times the forward pass and forward+backward, in float32 and
float64, and prints the fast/torch ratio (the goal: <= 1.5 on every shape in
float32) and the naive/fast ratio. Timings are the *minimum* over repeats. Each
function runs in its own block of back-to-back repeats, and the blocks take turns
for a few rounds. They are not interleaved call by call: after a call, PyTorch's
OpenMP threads and OpenBLAS's threads keep spinning for a while, and they would steal
the core that the other library's next call needs. (On a 2-core machine, interleaving
made torch's fwd+bwd on x(32,64,16,16) take 11-20 ms instead of 6 ms.)

A last table gives a floor for any im2col layer: the three matrix products that
forward and backward must do (out = W @ cols, dW, dcols), timed alone as single
NumPy products, plus two plain copies of an array the size of the column matrix
(forward must build cols; backward must build or scatter one as large for dx). If
that floor is already above the goal, no layout of im2col and col2im can reach it.

The naive layers are loops in Python: they are timed once, on a few examples of
the batch, and scaled up to the full batch (the output says so).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cs231n_lib import layers as L  # noqa: E402

CONV_CASES = [
    # name, x shape, w shape, stride, pad
    ("x(64,3,32,32) w(32,3,3,3) p1", (64, 3, 32, 32), (32, 3, 3, 3), 1, 1),
    ("x(32,64,16,16) w(64,64,3,3) p1", (32, 64, 16, 16), (64, 64, 3, 3), 1, 1),
    ("x(100,3,31,31) w(25,3,3,3) s2 p1", (100, 3, 31, 31), (25, 3, 3, 3), 2, 1),
]
POOL_CASES = [
    # name, x shape, pool size, stride (the conv outputs above, pooled 2x2; one overlapping)
    ("x(64,32,32,32) 2x2 s2", (64, 32, 32, 32), 2, 2),
    ("x(32,64,16,16) 2x2 s2", (32, 64, 16, 16), 2, 2),
    ("x(100,25,16,16) 2x2 s2", (100, 25, 16, 16), 2, 2),
    ("x(32,64,17,17) 3x3 s2", (32, 64, 17, 17), 3, 2),
]
NAIVE_EXAMPLES = 1  # the naive loops run on this many examples, scaled to the batch
CLOCK = time.perf_counter  # --cpu-time switches to time.process_time


def thread_report() -> str:
    """Threads and BLAS in use, in one line per library."""
    lines = [f"python {platform.python_version()}, numpy {np.__version__}, "
             f"torch {torch.__version__}, {os.cpu_count()} CPUs"]
    lines.append(f"torch threads: {torch.get_num_threads()}")
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            if info.get("user_api") == "blas":
                lines.append(
                    f"numpy BLAS: {info.get('internal_api')} {info.get('version')} "
                    f"({info.get('architecture', '?')}), threads: {info.get('num_threads')}"
                )
    except ImportError:
        lines.append("numpy BLAS threads: unknown (threadpoolctl not installed)")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    lines.append(f"OPENBLAS_CORETYPE: {coretype or '(not set)'}")
    return "\n".join(lines)


ROUNDS = 3  # blocks per function; each block is `repeats` calls in a row


def best_times(fns: dict, repeats: int) -> dict:
    """Minimum time (ms) of each function: blocks of back-to-back calls, taking turns."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(ROUNDS):
        for name, f in fns.items():
            f()  # warm-up: first call after the other library's block
            for _ in range(repeats):
                start = CLOCK()
                f()
                best[name] = min(best[name], CLOCK() - start)
    return {name: t * 1e3 for name, t in best.items()}


def once_ms(f) -> float:
    start = CLOCK()
    f()
    return (CLOCK() - start) * 1e3


def torch_pair(forward, tensors, dout):
    """Forward-only and forward+backward callables for a torch function."""
    def fwd():
        with torch.no_grad():
            forward(*tensors)

    def fwd_bwd():
        out = forward(*tensors)
        torch.autograd.grad(out, tensors, dout)

    return fwd, fwd_bwd


def numpy_pair(forward, backward, args, dout):
    def fwd():
        forward(*args)

    def fwd_bwd():
        _, cache = forward(*args)
        backward(dout, cache)

    return fwd, fwd_bwd


def bench_case(name, make, dtypes, repeats, rows):
    """Time one case in each dtype; append result rows."""
    for dtype in dtypes:
        args, dout, t_fn, naive, fast = make(np.dtype(dtype))
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        t_args = [torch.from_numpy(a).requires_grad_(True) for a in arrays]
        t_fwd, t_fb = torch_pair(t_fn, t_args, torch.from_numpy(dout))
        f_fwd, f_fb = numpy_pair(*fast, args, dout)
        times = best_times({"fast_f": f_fwd, "torch_f": t_fwd, "fast_fb": f_fb,
                            "torch_fb": t_fb}, repeats)

        # naive: once, on a few examples, scaled to the full batch
        N = args[0].shape[0]
        n = min(NAIVE_EXAMPLES, N)
        small = [a[:n] if i == 0 else a for i, a in enumerate(args)]
        n_fwd, n_fb = numpy_pair(*naive, small, dout[:n])
        naive_f = once_ms(n_fwd) * N / n
        naive_fb = once_ms(n_fb) * N / n
        for label, nv, key in (("forward", naive_f, "f"), ("fwd+bwd", naive_fb, "fb")):
            fast_ms, torch_ms = times[f"fast_{key}"], times[f"torch_{key}"]
            rows.append((name, dtype, label, nv, fast_ms, torch_ms, fast_ms / torch_ms,
                         nv / fast_ms))


def conv_maker(x_shape, w_shape, stride, pad):
    def make(dtype):
        rng = np.random.default_rng(0)
        x = rng.standard_normal(x_shape).astype(dtype)
        w = rng.standard_normal(w_shape).astype(dtype)
        b = rng.standard_normal(w_shape[0]).astype(dtype)
        conv_param = {"stride": stride, "pad": pad}
        out, _ = L.conv_forward_fast(x, w, b, conv_param)
        dout = rng.standard_normal(out.shape).astype(dtype)

        def t_fn(tx, tw, tb):
            return F.conv2d(tx, tw, tb, stride=stride, padding=pad)

        return ([x, w, b, conv_param], dout, t_fn,
                (L.conv_forward_naive, L.conv_backward_naive),
                (L.conv_forward_fast, L.conv_backward_fast))

    return make


def pool_maker(x_shape, size, stride):
    def make(dtype):
        rng = np.random.default_rng(0)
        x = rng.standard_normal(x_shape).astype(dtype)
        pool_param = {"pool_height": size, "pool_width": size, "stride": stride}
        out, _ = L.max_pool_forward_fast(x, pool_param)
        dout = rng.standard_normal(out.shape).astype(dtype)

        def t_fn(tx):
            return F.max_pool2d(tx, size, stride=stride)

        return ([x, pool_param], dout, t_fn,
                (L.max_pool_forward_naive, L.max_pool_backward_naive),
                (L.max_pool_forward_fast, L.max_pool_backward_fast))

    return make


def gemm_floor(x_shape, w_shape, stride, pad, repeats):
    """Time the three float32 matrix products of an im2col convolution, alone.

    With K = C*HH*WW and M = N*H'*W' (one column per output pixel):
    forward (F, K) @ (K, M); dW (K, M) @ (M, F); dcols (M, F) @ (F, K). Each is
    timed in its fastest layout, as one 2-D product. Returns (sum of the three in ms,
    ms for one contiguous copy of a (K, M) array, torch's conv2d forward+backward in ms).
    """
    N, C, H, W = x_shape
    Fn, _, HH, WW = w_shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    K, M = C * HH * WW, N * H_out * W_out
    rng = np.random.default_rng(0)
    w2 = rng.standard_normal((Fn, K), dtype=np.float32)
    cols = rng.standard_normal((K, M), dtype=np.float32)
    dout = rng.standard_normal((M, Fn), dtype=np.float32)
    x = torch.from_numpy(rng.standard_normal(x_shape, dtype=np.float32)).requires_grad_(True)
    w = torch.from_numpy(rng.standard_normal(w_shape, dtype=np.float32)).requires_grad_(True)
    t_dout = torch.ones(N, Fn, H_out, W_out)

    def torch_fb():
        out = F.conv2d(x, w, stride=stride, padding=pad)
        torch.autograd.grad(out, (x, w), t_dout)

    copy = np.empty_like(cols)
    times = best_times({"fwd": lambda: w2 @ cols, "dw": lambda: cols @ dout,
                        "dcols": lambda: dout @ w2, "copy": lambda: np.copyto(copy, cols),
                        "torch": torch_fb}, repeats)
    return times["fwd"] + times["dw"] + times["dcols"], times["copy"], times["torch"]


def print_table(title, rows):
    print(f"\n{title}")
    header = (f"{'case':34s} {'dtype':7s} {'pass':8s} {'naive ms*':>10s} {'fast ms':>8s} "
              f"{'torch ms':>8s} {'fast/torch':>10s} {'naive/fast':>10s}")
    print(header)
    print("-" * len(header))
    for name, dtype, label, nv, fast_ms, torch_ms, ratio, speedup in rows:
        print(f"{name:34s} {dtype:7s} {label:8s} {nv:10.1f} {fast_ms:8.2f} {torch_ms:8.2f} "
              f"{ratio:9.2f}x {speedup:9.0f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats, float32 only")
    parser.add_argument("--repeats", type=int, default=None, help="timing repeats per function")
    parser.add_argument("--threads", type=int, default=None,
                        help="set torch and numpy BLAS threads to this (default: as found)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with process CPU time instead of wall time: steadier on a "
                             "busy machine; meaningful with --threads 1")
    args = parser.parse_args(argv)
    global CLOCK
    if args.cpu_time:
        CLOCK = time.process_time
    if args.threads:
        torch.set_num_threads(args.threads)
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(args.threads, user_api="blas")
        except ImportError:
            print("threadpoolctl is not installed: numpy's BLAS threads are unchanged")
    repeats = args.repeats or (5 if args.quick else 25)
    dtypes = ["float32"] if args.quick else ["float32", "float64"]

    print(thread_report())
    print(f"load average: {os.getloadavg()[0]:.1f} (timings need an otherwise idle machine)")
    clock = "process CPU time" if args.cpu_time else "wall time"
    print(f"repeats: {repeats} x {ROUNDS} rounds (minimum {clock}; each function in its own "
          "block of repeats, blocks taking turns)")
    print(f"* naive: timed once on {NAIVE_EXAMPLES} example(s) of the batch and scaled up")

    conv_rows, pool_rows = [], []
    for name, x_shape, w_shape, stride, pad in CONV_CASES:
        bench_case(name, conv_maker(x_shape, w_shape, stride, pad), dtypes, repeats, conv_rows)
    print_table("Convolution (conv_*_naive / conv_*_fast / torch.nn.functional.conv2d)",
                conv_rows)
    for name, x_shape, size, stride in POOL_CASES:
        bench_case(name, pool_maker(x_shape, size, stride), dtypes, repeats, pool_rows)
    print_table("Max pooling (max_pool_*_naive / _fast / torch.nn.functional.max_pool2d)",
                pool_rows)

    goal = [r for r in conv_rows if r[1] == "float32" and r[2] == "fwd+bwd"]
    print("\nFloor for any im2col layer (float32): the three matrix products, then those "
          "plus two copies of the column matrix")
    header = (f"{'case':34s} {'3 GEMMs ms':>10s} {'+2 copies ms':>12s} {'torch ms':>8s} "
              f"{'GEMMs/torch':>11s} {'floor/torch':>11s} {'fast/torch':>10s}")
    print(header)
    print("-" * len(header))
    for (name, x_shape, w_shape, stride, pad), row in zip(CONV_CASES, goal, strict=True):
        gemms, copy_ms, torch_ms = gemm_floor(x_shape, w_shape, stride, pad, repeats)
        floor = gemms + 2 * copy_ms
        print(f"{name:34s} {gemms:10.2f} {floor:12.2f} {torch_ms:8.2f} "
              f"{gemms / torch_ms:10.2f}x {floor / torch_ms:10.2f}x {row[6]:9.2f}x")

    worst = max(r[6] for r in goal)
    print("\nconv float32 fwd+bwd, fast/torch: "
          + ", ".join(f"{r[6]:.2f}x" for r in goal)
          + f"  (goal <= 1.5x: {'met' if worst <= 1.5 else 'NOT met'})")
    print("naive/fast (fwd+bwd, float32): " + ", ".join(f"{r[7]:.0f}x" for r in goal))


if __name__ == "__main__":
    main()
