"""The cases `make bench-peer` measures on both sides, one row each, named as `tlab bench` names them.

Plain standard library: the driver (system python3) and the PyTorch side (the virtual environment) both read it.
The shapes follow Sources/tlab/Bench/Suites (GemmBench, ConvBench, LifBench, TrainStepBench); the targets are
issue 10's."""
from dataclasses import dataclass

BATCH = 128
LIF_STEPS = 8
LIF_SHAPE = (BATCH, 64, 16, 16)
# name -> (channels, height = width) of the input, as TrainStepBench builds them.
MODELS = {"smallcnn": (1, 28), "resnet20": (3, 32)}
# name -> (in channels, out channels, height = width, stride, gradient of the input); 3x3 kernels, padding 1, bias.
CONVS = {
    "conv_3to16_32x32": (3, 16, 32, 1, False),
    "conv_16to32_32x32_s2": (16, 32, 32, 2, True),
    "conv_64to64_8x8": (64, 64, 8, 1, True),
}

# name -> (m, n, k, A transposed, B transposed, beta, products per call).
SKINNY_GEMMS = {
    "sgemm_smallcnn_fc1_fwd": (128, 128, 3136, False, True, 0.0, 1),
    "sgemm_smallcnn_fc1_dx": (128, 3136, 128, False, False, 0.0, 1),
    "sgemm_smallcnn_fc1_dw": (128, 3136, 128, True, False, 0.0, 1),
    "sgemm_resnet20_im2col_s2_fwd": (64, 64, 288, False, False, 0.0, 1),
    "sgemm_resnet20_im2col_s2_dx": (288, 64, 64, True, False, 0.0, 1),
    "sgemm_resnet20_im2col_s2_dw": (64, 288, 64, False, True, 1.0, 1),
    "sgemm_winograd_64ch_x36": (64, 32, 64, False, False, 0.0, 36),
    "sgemm_winograd_dw_64ch_x36": (64, 64, 32, False, False, 1.0, 36),
}


def _gemm(m, n, k, ta=False, tb=False, beta=0.0, count=1):
    return {"m": m, "n": n, "k": k, "ta": ta, "tb": tb, "beta": beta, "count": count}


@dataclass(frozen=True)
class Target:
    """Ours must be at least `factor` times as fast as PyTorch's best configuration, or as its best compiled one."""
    factor: float
    against: str  # "best" or "compile"

    @property
    def text(self) -> str:
        return f">= {self.factor:g}x " + ("best" if self.against == "best" else "torch.compile")


@dataclass(frozen=True)
class Case:
    name: str
    kind: str               # sgemm, conv_fwd, conv_fwdbwd, lif, lif_snntorch, train_step, inference
    spec: dict              # the shape: what torch_side.py needs to build the case
    work: float             # per call: FLOPs (sgemm), elements (lif) or images (models); unused for conv (ms)
    target: Target
    quick: bool = False     # part of --quick
    ours: str = ""          # the `tlab bench` case it is compared with (default: its own name)

    @property
    def ours_name(self) -> str:
        return self.ours or self.name

    def rate(self, seconds: float) -> str:
        """A time per call in the unit the table shows for this case."""
        if self.kind == "sgemm":
            return f"{self.work / seconds / 1e9:.1f} GFLOP/s"
        if self.kind.startswith("conv"):
            return f"{seconds * 1e3:.3g} ms"
        if self.kind.startswith("lif"):
            return f"{self.work / seconds / 1e6:.0f} Melem/s"
        return f"{self.work / seconds:.0f} img/s"


def _conv_macs(cin, cout, hw, stride):
    out = (hw + 2 - 3) // stride + 1
    return BATCH * cout * out * out * cin * 9


def _cases():
    cases = [Case(f"sgemm_{n}", "sgemm", _gemm(n, n, n), 2.0 * n ** 3, Target(0.9, "best"), quick=n == 1024)
             for n in (256, 512, 1024, 2048)]
    # The skinny products the models make at batch 128 (GemmBench.swift's names and shapes): op(A) (m, k), op(B) (k, n).
    for name, (m, n, k, ta, tb, beta, count) in SKINNY_GEMMS.items():
        cases.append(Case(name, "sgemm", _gemm(m, n, k, ta, tb, beta, count), 2.0 * m * n * k * count, Target(0.9, "best")))
    for name, (cin, cout, hw, stride, dx) in CONVS.items():
        spec = {"cin": cin, "cout": cout, "hw": hw, "stride": stride, "input_grad": dx}
        macs = _conv_macs(cin, cout, hw, stride)
        quick = name == "conv_64to64_8x8"
        cases.append(Case(f"{name}_fwd", "conv_fwd", spec, 2.0 * macs, Target(1.0, "best"), quick))
        cases.append(Case(f"{name}_fwdbwd", "conv_fwdbwd", spec, 2.0 * macs * (3 if dx else 2), Target(1.0, "best"), quick))
    lif_work = float(LIF_STEPS * BATCH * 64 * 16 * 16)
    cases.append(Case("lif_forward_backward", "lif", {}, lif_work, Target(3.0, "compile"), quick=True))
    # snnTorch's Leaky is what a user would reach for; its reset differs from ours (see torch_side.lif_snntorch).
    cases.append(Case("lif_forward_backward[snntorch.Leaky]", "lif_snntorch", {}, lif_work, Target(3.0, "compile"),
                      ours="lif_forward_backward"))
    for model, (c, hw) in MODELS.items():
        spec = {"model": model, "channels": c, "hw": hw}
        quick = model == "smallcnn"
        cases.append(Case(f"train_step_{model}", "train_step", spec, float(BATCH), Target(1.2, "best"), quick))
        cases.append(Case(f"inference_{model}", "inference", spec, float(BATCH), Target(1.2, "best"), quick))
    return cases


CASES = _cases()
BY_NAME = {c.name: c for c in CASES}
