"""The PyTorch side of `make bench-peer`: times the cases of peer_cases.py the way a PyTorch user would run them.

Runs in the virtual environment (torch, snntorch). One JSON object per line on stdout: a "meta" record, "check"
records (our models and layers rebuilt in PyTorch have the same parameter counts and output shapes; the LIF loop
computes tl_lif.c's equations), then one "torch" record per case and configuration. Progress goes to stderr.

Configurations: eager; channels_last (convolutions and models); compile (torch.compile of the model or of the LIF
loop). The driver runs this script twice, the second time with a glibc malloc that keeps freed memory mapped
(MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_); each record says which ("malloc").

Every figure is fp32 on --threads threads: warm-up, then the median of --reps timed repetitions, each repeating the
call until it lasts --min-rep-s (models: --min-rep-s-model)."""
import argparse
import json
import math
import os
import statistics
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_load  # noqa: E402
from peer_cases import BATCH, BY_NAME, LIF_SHAPE, LIF_STEPS  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

CONFIGS = ("eager", "channels_last", "compile")
# Which configurations change anything for a kind of case.
APPLIES = {
    "sgemm": ("eager",),
    "conv_fwd": ("eager", "channels_last"),
    "conv_fwdbwd": ("eager", "channels_last"),
    "lif": ("eager", "compile"),
    "lif_snntorch": ("eager", "compile"),
    "train_step": ("eager", "channels_last", "compile"),
    "inference": ("eager", "channels_last", "compile"),
}
# LIF settings of LifBench.swift: decay 0.9, threshold 1, soft (subtracting) reset, detached, fast sigmoid slope 25.
LIF_DECAY, LIF_THRESHOLD, LIF_SLOPE = 0.9, 1.0, 25.0


def emit(record):
    print(json.dumps(record), flush=True)


def log(message):
    print(f"torch_side: {message}", file=sys.stderr, flush=True)


def malloc_tag():
    tuned = {k: os.environ[k] for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_") if k in os.environ}
    return "tuned(" + ",".join(f"{k}={v}" for k, v in tuned.items()) + ")" if tuned else "default"


def uniform(shape, low, high, generator):
    return torch.rand(*shape, generator=generator) * (high - low) + low


def median_seconds(fn, reps, min_rep_s):
    """Median seconds per call over `reps` repetitions, each of `inner` calls lasting at least min_rep_s, after a
    warm-up of 3 calls or 1 s, whichever ends first."""
    start = time.perf_counter()
    for _ in range(3):
        fn()
        if time.perf_counter() - start > 1.0:
            break
    t0 = time.perf_counter()
    fn()
    inner = max(1, math.ceil(min_rep_s / max(time.perf_counter() - t0, 1e-9)))
    times = []
    before = peer_load.sample()
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return {"seconds": statistics.median(times), "times": [round(t, 7) for t in times], "inner": inner,
            "reps": reps, "foreign_cpu_frac": peer_load.foreign_share(before, peer_load.sample())}


# ---------------------------------------------------------------- models (Sources/TrainingLab/Models/ModelZoo.swift)

def smallcnn(channels, hw, classes=10):
    """2 x (conv3x3 with bias, BN, ReLU, maxpool 2), FC 128, ReLU, FC classes."""
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * (hw // 4) * (hw // 4), 128), nn.ReLU(), nn.Linear(128, classes))


class ResidualBlock(nn.Module):
    """ResidualBlock.swift: conv3x3-BN-ReLU-conv3x3-BN (no conv bias) + shortcut, ReLU. When the shape changes the
    shortcut subsamples by the stride and appends zero channels (option A; ours pads after the input channels)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.extra = stride, cout - cin

    def forward(self, x):
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x
        if self.stride != 1 or self.extra:
            shortcut = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, 0, self.extra))
        return F.relu(h + shortcut)


def resnet20(channels, hw, classes=10):
    layers = [nn.Conv2d(channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage, width in enumerate((16, 32, 64)):
        for block in range(3):
            layers.append(ResidualBlock(cin, width, 2 if stage > 0 and block == 0 else 1))
            cin = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


MODEL_BUILDERS = {"smallcnn": smallcnn, "resnet20": resnet20}


def model_inputs(spec, channels_last):
    g = torch.Generator().manual_seed(2)
    x = uniform((BATCH, spec["channels"], spec["hw"], spec["hw"]), -1, 1, g)
    y = torch.arange(BATCH) % 10
    torch.manual_seed(1)
    model = MODEL_BUILDERS[spec["model"]](spec["channels"], spec["hw"])
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return model, x, y


def model_body(case, config):
    """TrainStepBench.swift: SGD(lr 0.01, momentum 0.9, weight decay 5e-4), mean cross-entropy; inference in eval mode."""
    model, x, y = model_inputs(case.spec, config == "channels_last")
    run = torch.compile(model) if config == "compile" else model
    if case.kind == "train_step":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(run(x), y).backward()
            opt.step()
        return step
    model.eval()

    def infer():
        with torch.no_grad():
            run(x)
    return infer


# ---------------------------------------------------------------- layers (Sources/tlab/Bench/Suites)

def sgemm_body(case, config):
    """`count` products C = op(A) op(B) + beta C, transposed operands as transposed views (MKL reads them in place)."""
    s = case.spec
    m, n, k, count = s["m"], s["n"], s["k"], s["count"]
    g = torch.Generator().manual_seed(1)
    a = [uniform((k, m), -1, 1, g).t() if s["ta"] else uniform((m, k), -1, 1, g) for _ in range(count)]
    b = [uniform((n, k), -1, 1, g).t() if s["tb"] else uniform((k, n), -1, 1, g) for _ in range(count)]
    c = [uniform((m, n), -0.01, 0.01, g) for _ in range(count)]
    if s["beta"] == 0:
        return lambda: [torch.mm(x, y, out=z) for x, y, z in zip(a, b, c)]
    return lambda: [torch.addmm(z, x, y, beta=s["beta"], out=z) for x, y, z in zip(a, b, c)]


def conv_tensors(spec, channels_last):
    """ConvBench.swift's buffers: x in [-1, 1], w in [-0.1, 0.1], a bias, dy in [-1, 1]."""
    g = torch.Generator().manual_seed(1)
    hw, stride, cin, cout = spec["hw"], spec["stride"], spec["cin"], spec["cout"]
    out = (hw + 2 - 3) // stride + 1
    x, w = uniform((BATCH, cin, hw, hw), -1, 1, g), uniform((cout, cin, 3, 3), -0.1, 0.1, g)
    b, dy = uniform((cout,), -1, 1, g), uniform((BATCH, cout, out, out), -1, 1, g)
    if channels_last:
        x, w, dy = (t.contiguous(memory_format=torch.channels_last) for t in (x, w, dy))
    return x, w, b, dy


def conv_body(case, config):
    spec = case.spec
    x, w, b, dy = conv_tensors(spec, config == "channels_last")
    if case.kind == "conv_fwd":
        def fwd():
            with torch.no_grad():
                F.conv2d(x, w, b, stride=spec["stride"], padding=1)
        return fwd
    x.requires_grad_(spec["input_grad"])
    w.requires_grad_(True)
    b.requires_grad_(True)

    def fwd_bwd():
        F.conv2d(x, w, b, stride=spec["stride"], padding=1).backward(dy)
        x.grad = w.grad = b.grad = None
    return fwd_bwd


# ---------------------------------------------------------------- LIF (Sources/TrainingLab/Layers/LIF.swift, CSources/tl_lif.c)

def lif_ours():
    """tl_lif_forward's equations with snnTorch's fast-sigmoid spike: h = decay v + x[t], s = H(h - threshold),
    v = h - threshold s with the reset detached; the backward is autograd's BPTT through h."""
    from snntorch import surrogate
    spike = surrogate.fast_sigmoid(slope=LIF_SLOPE)

    def run(x):
        v = torch.zeros_like(x[0])
        spikes = []
        for t in range(x.shape[0]):
            h = LIF_DECAY * v + x[t]
            s = spike(h - LIF_THRESHOLD)
            v = h - LIF_THRESHOLD * s.detach()
            spikes.append(s)
        return spikes
    return run


def lif_snntorch():
    """snntorch.Leaky as its users write it. It differs from ours: the reset of a spike at step t is subtracted at step
    t + 1 without the decay (mem = beta mem + x - threshold reset), and the reset spike is computed a second time."""
    import snntorch as snn
    from snntorch import surrogate
    lif = snn.Leaky(beta=LIF_DECAY, threshold=LIF_THRESHOLD, spike_grad=surrogate.fast_sigmoid(slope=LIF_SLOPE))

    def run(x):
        mem = lif.reset_mem()
        spikes = []
        for t in range(x.shape[0]):
            s, mem = lif(x[t], mem)
            spikes.append(s)
        return spikes
    return run


def lif_body(case, config):
    """LifBench.swift: T = 8 steps of 128x64x16x16, x in [0, 0.5], dL/ds in [-1, 1]; forward, then backward to x."""
    g = torch.Generator().manual_seed(1)
    x = uniform((LIF_STEPS, *LIF_SHAPE), 0, 0.5, g).requires_grad_(True)
    ds = list(uniform((LIF_STEPS, *LIF_SHAPE), -1, 1, g).unbind(0))
    loop = lif_ours() if case.kind == "lif" else lif_snntorch()
    run = torch.compile(loop) if config == "compile" else loop

    def fwd_bwd():
        torch.autograd.backward(run(x), ds)
        x.grad = None
    return fwd_bwd


def lif_reference(x, ds):
    """tl_lif.c's plain loops (decay charge, soft detached reset, fast sigmoid), written out: (spikes, dx)."""
    v, hs, spikes = torch.zeros_like(x[0]), [], []
    for t in range(x.shape[0]):
        h = LIF_DECAY * v + x[t]
        s = (h >= LIF_THRESHOLD).to(x.dtype)
        v = torch.where(s > 0, h - LIF_THRESHOLD, h)
        hs.append(h)
        spikes.append(s)
    g, dx = torch.zeros_like(x[0]), torch.empty_like(x)
    for t in reversed(range(x.shape[0])):
        gh = ds[t] / (LIF_SLOPE * (hs[t] - LIF_THRESHOLD).abs() + 1) ** 2 + g
        dx[t] = gh
        g = LIF_DECAY * gh
    return torch.stack(spikes), dx


# ---------------------------------------------------------------- checks

def forward_flops(model, x):
    """2 x multiply-adds of the convolutions and linear layers for one sample (what `tlab models` counts)."""
    total = [0]

    def count(module, _, out):
        per_output = module.in_features if isinstance(module, nn.Linear) else module.weight[0].numel()
        total[0] += 2 * out[:1].numel() * per_output
    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x[:1])
    for h in hooks:
        h.remove()
    return total[0]


def check_models(expected):
    """Parameter counts against `tlab models` (passed by the driver), output shapes against (batch, classes)."""
    for name in MODEL_BUILDERS:
        case = BY_NAME[f"train_step_{name}"]
        model, x, _ = model_inputs(case.spec, False)
        params = sum(p.numel() for p in model.parameters())
        with torch.no_grad():
            shape = list(model.eval()(x).shape)
        ok = shape == [BATCH, 10] and (name not in expected or expected[name] == params)
        emit({"record": "check", "what": f"model {name}", "ok": ok, "params_torch": params,
              "params_ours": expected.get(name), "output_shape": shape, "fwd_flops_torch": forward_flops(model, x)})
        if not ok:
            raise SystemExit(f"torch_side: {name} in PyTorch has {params} parameters and output {shape}; "
                             f"ours has {expected.get(name)} parameters and output [{BATCH}, 10]")


def check_convs():
    for name in ("conv_3to16_32x32_fwd", "conv_16to32_32x32_s2_fwd", "conv_64to64_8x8_fwd"):
        spec = BY_NAME[name].spec
        x, w, b, dy = conv_tensors(spec, False)
        y = F.conv2d(x, w, b, stride=spec["stride"], padding=1)
        ok = y.shape == dy.shape
        emit({"record": "check", "what": f"layer {name}", "ok": ok, "output_shape": list(y.shape),
              "expected_shape": list(dy.shape)})
        if not ok:
            raise SystemExit(f"torch_side: {name}: output {list(y.shape)}, ours {list(dy.shape)}")


def check_lif():
    """The timed LIF loop (in float64, on a slice) computes tl_lif.c's spikes and input gradient."""
    g = torch.Generator().manual_seed(3)
    x = uniform((LIF_STEPS, 4096), 0, 0.5, g).double().requires_grad_(True)
    ds = uniform((LIF_STEPS, 4096), -1, 1, g).double()
    spikes = lif_ours()(x)
    torch.autograd.backward(spikes, list(ds.unbind(0)))
    ref_s, ref_dx = lif_reference(x.detach(), ds)
    spikes_equal = bool(torch.equal(torch.stack(spikes).detach(), ref_s))
    dx_error = float((x.grad - ref_dx).abs().max())
    ok = spikes_equal and dx_error < 1e-9 and 0 < float(ref_s.mean()) < 1
    emit({"record": "check", "what": "lif loop = tl_lif.c equations", "ok": ok, "spikes_equal": spikes_equal,
          "dx_max_abs_error": dx_error, "spike_rate": round(float(ref_s.mean()), 4)})
    if not ok:
        raise SystemExit("torch_side: the LIF loop does not compute tl_lif.c's equations")


# ---------------------------------------------------------------- main

BODIES = {"sgemm": sgemm_body, "conv_fwd": conv_body, "conv_fwdbwd": conv_body, "lif": lif_body,
          "lif_snntorch": lif_body, "train_step": model_body, "inference": model_body}


def meta(args):
    import numpy
    import snntorch
    return {"record": "meta", "torch": torch.__version__, "snntorch": snntorch.__version__, "numpy": numpy.__version__,
            "python": sys.version.split()[0], "torch_config": torch.__config__.show(),
            "torch_parallel": torch.__config__.parallel_info(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "mkldnn": torch.backends.mkldnn.is_available(), "mkl": torch.backends.mkl.is_available(),
            "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
            "malloc": malloc_tag(), "reps": args.reps}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", required=True, help="comma-separated names from peer_cases.py")
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated subset of {','.join(CONFIGS)}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-rep-s", type=float, default=0.2)
    ap.add_argument("--min-rep-s-model", type=float, default=1.0)
    ap.add_argument("--max-wait", type=float, default=300.0,
                    help="seconds to wait in all, before measurements, for other processes to leave the CPUs (0: do not)")
    ap.add_argument("--params", default="", help="our parameter counts, e.g. smallcnn=421834,resnet20=269722")
    args = ap.parse_args()
    unknown = [c for c in args.cases.split(",") if c not in BY_NAME]
    if unknown:
        ap.error(f"--cases: unknown {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    configs = args.configs.split(",")
    if any(c not in CONFIGS for c in configs):
        ap.error(f"--configs: expected a subset of {','.join(CONFIGS)}, got {args.configs}")
    try:
        expected = {k: int(v) for k, v in (item.split("=") for item in args.params.split(",") if item)}
    except ValueError:
        ap.error(f"--params: expected NAME=COUNT,..., got {args.params}")
    torch.set_num_threads(args.threads)
    emit(meta(args))
    check_models(expected)
    check_convs()
    check_lif()
    waiter = peer_load.QuietWaiter(args.max_wait)
    for name in args.cases.split(","):
        case = BY_NAME[name]
        for config in (c for c in configs if c in APPLIES[case.kind]):
            log(f"{name} [{config}, malloc {malloc_tag()}]")
            record = {"record": "torch", "case": name, "config": config, "malloc": malloc_tag(),
                      "threads": torch.get_num_threads()}
            try:
                body = BODIES[case.kind](case, config)
                t0 = time.perf_counter()
                body()  # the first call compiles under torch.compile
                record["first_call_s"] = round(time.perf_counter() - t0, 3)
                min_rep_s = args.min_rep_s_model if case.kind in ("train_step", "inference") else args.min_rep_s

                def measure():
                    timing = median_seconds(body, args.reps, min_rep_s)
                    return timing, timing["foreign_cpu_frac"]
                timing, _, waited = waiter.quietly(measure)
                record.update(timing, waited_for_quiet_s=waited)
            except Exception as e:  # a configuration that fails (e.g. torch.compile without a compiler) is reported
                record.update(error=f"{type(e).__name__}: {e}"[:1000], traceback=traceback.format_exc()[-2000:])
            emit(record)


if __name__ == "__main__":
    main()
