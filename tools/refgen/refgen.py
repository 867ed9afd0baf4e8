#!/usr/bin/python3
"""refgen - export reference CNNs from PyTorch to ONNX, with expected outputs.

Every model is written in the ONNX backend-test layout::

    OUT/<name>/model.onnx
    OUT/<name>/test_data_set_0/input_0.pb    TensorProto named like the graph input
    OUT/<name>/test_data_set_0/output_0.pb   TensorProto: PyTorch's float32 output

Weights are random but reproducible: torch.manual_seed(0) is called before each
model is built, and every BatchNorm layer then gets random running_mean,
running_var, weight and bias, so that folding BN into a convolution is not a
no-op. Inputs are standard-normal samples from a generator seeded with 0.
Models are exported in eval mode with do_constant_folding=True but with
training=TrainingMode.PRESERVE: in the default EVAL mode the exporter itself
folds Conv+BatchNormalization, and the BatchNormalization nodes are exactly what
the compiler has to handle. nn.LocalResponseNorm is exported as one ONNX LRN
node (the exporter would otherwise expand it into a Pad/AveragePool/Pow chain).

Usage (run with Debian's /usr/bin/python3, which has python3-torch,
python3-torchvision and python3-onnx)::

    tools/refgen/refgen.py tiny [--out testdata/tiny] [--only NAME[,NAME]]
        Small models of each lecture family (LeNet, AlexNet with LRN, VGG with
        BN, NiN, Inception, ResNet basic/bottleneck, DenseNet, ResNeXt, 1-D and
        3-D convolutions, and a dynamic-batch ResNet). Always rewritten; the
        output is deterministic and small enough to commit.

    tools/refgen/refgen.py full [--out DIR] [--only NAME[,NAME]]
        Full-size torchvision models at 1x3x224x224, opset 13: the eight of
        the "full" set, then the "full (zoo)" set of the other torchvision
        models that cnnc's zoo builds (about 7.5 GiB in all). DIR defaults to
        $CNNC_CACHE/torchvision, with CNNC_CACHE defaulting to ~/.cache/cnnc.
        A model whose test_data_set_0/output_0.pb exists is skipped; each model
        is written to a temporary directory that is renamed into place only
        when complete.

    tools/refgen/refgen.py check [DIR...] [--only NAME[,NAME]] [--threads N]
        For every model directory under each DIR (default testdata/tiny): run
        onnx.checker (full_check), run the model in ONNX Runtime through
        tools/ort/run.js (needs `npm ci --ignore-scripts` in tools/ort) and
        compare its outputs with the stored ones. Exits 1 on any mismatch.

    tools/refgen/refgen.py train [--out testdata/tiny] [--only NAME[,NAME]]
        Training references for the tiny models, next to their export:
        OUT/<name>/train_data/ holds a batch of TRAIN_BATCH inputs (input.pb)
        and class labels (labels.pb, int64), the gradient of the mean
        cross-entropy with respect to every parameter after one forward and
        backward pass from the exported weights (grad_<i>.pb, each named like
        the model's ONNX initializer), and the losses of TRAIN_STEPS steps of
        SGD (TRAIN_SGD) on that batch (losses.pb, float32). The model trains
        as the exported graph computes: batch norms in training mode (batch
        statistics), dropouts off (the ONNX export has none).

`tools/refgen/refgen.py --list` prints the model names of the sets.
"""

import argparse
import dataclasses
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import onnx
import torch
import torchvision
from onnx import numpy_helper
from torch import nn
from torch.nn import functional as F
from torchvision.models.resnet import BasicBlock, Bottleneck

REPO = pathlib.Path(__file__).resolve().parents[2]
ORT_RUNNER = REPO / "tools" / "ort" / "run.js"
TEST_SET = "test_data_set_0"

# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------


class _LRNFunction(torch.autograd.Function):
    """F.local_response_norm in PyTorch, a single LRN node in ONNX.

    PyTorch and ONNX define LRN identically for odd sizes:
    y = x / (k + alpha/size * sum of x^2 over `size` neighbouring channels)^beta.
    """

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):  # pylint: disable=arguments-differ
        ctx.save_for_backward(x)
        ctx.args = (size, alpha, beta, k)
        return F.local_response_norm(x, size, alpha, beta, k)

    @staticmethod
    def backward(ctx, grad):  # pylint: disable=arguments-differ
        (x,) = ctx.saved_tensors
        with torch.enable_grad():
            x = x.detach().requires_grad_()
            y = F.local_response_norm(x, *ctx.args)
            (dx,) = torch.autograd.grad(y, x, grad)
        return dx, None, None, None, None

    @staticmethod
    def symbolic(g, x, size, alpha, beta, k):
        return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)


class LRN(nn.LocalResponseNorm):
    """nn.LocalResponseNorm that exports as ONNX LRN."""

    def forward(self, x):
        return _LRNFunction.apply(x, self.size, self.alpha, self.beta, self.k)


def vgg_block(num_convs: int, cin: int, cout: int) -> nn.Sequential:
    """VGG block: num_convs x (conv3x3 + BN + ReLU), then 2x2 max pooling."""
    layers: List[nn.Module] = []
    for i in range(num_convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1),
                   nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*layers, nn.MaxPool2d(2, 2))


def nin_block(cin: int, cout: int, kernel: int, stride: int, padding: int) -> nn.Sequential:
    """NiN block: a KxK convolution followed by two 1x1 convolutions, all ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, padding), nn.ReLU(),
        nn.Conv2d(cout, cout, 1), nn.ReLU(),
        nn.Conv2d(cout, cout, 1), nn.ReLU())


class Inception(nn.Module):
    """GoogLeNet Inception block (as in the lecture): four parallel branches
    (1x1; 1x1->3x3; 1x1->5x5; 3x3 max pool stride 1 ->1x1), concatenated."""

    def __init__(self, cin: int, c1: int, c2: Tuple[int, int], c3: Tuple[int, int], c4: int):
        super().__init__()
        self.b1 = nn.Conv2d(cin, c1, 1)
        self.b2_1 = nn.Conv2d(cin, c2[0], 1)
        self.b2_2 = nn.Conv2d(c2[0], c2[1], 3, padding=1)
        self.b3_1 = nn.Conv2d(cin, c3[0], 1)
        self.b3_2 = nn.Conv2d(c3[0], c3[1], 5, padding=2)
        self.b4_1 = nn.MaxPool2d(3, stride=1, padding=1)
        self.b4_2 = nn.Conv2d(cin, c4, 1)

    def forward(self, x):
        b1 = F.relu(self.b1(x))
        b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
        b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
        b4 = F.relu(self.b4_2(self.b4_1(x)))
        return torch.cat((b1, b2, b3, b4), dim=1)


class DenseLayer(nn.Module):
    """DenseNet-BC layer: BN-ReLU-Conv1x1-BN-ReLU-Conv3x3, output concatenated
    to the input along channels."""

    def __init__(self, cin: int, growth: int, bn_size: int = 2):
        super().__init__()
        mid = bn_size * growth
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, mid, 1, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(), nn.Conv2d(mid, growth, 3, padding=1, bias=False))

    def forward(self, x):
        return torch.cat((x, self.body(x)), dim=1)


def dense_block(num_layers: int, cin: int, growth: int) -> nn.Sequential:
    return nn.Sequential(*[DenseLayer(cin + i * growth, growth) for i in range(num_layers)])


def transition(cin: int, cout: int) -> nn.Sequential:
    """DenseNet transition layer: BN-ReLU-Conv1x1, then 2x2 average pooling."""
    return nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False),
                         nn.AvgPool2d(2, 2))


def resnet_stem(cout: int) -> nn.Sequential:
    """ResNet stem: conv7x7/2 + BN + ReLU + maxpool3x3/2 (spatial size / 4)."""
    return nn.Sequential(nn.Conv2d(3, cout, 7, 2, 3, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.MaxPool2d(3, 2, 1))


def projection(cin: int, cout: int, stride: int) -> nn.Sequential:
    """ResNet shortcut projection: conv1x1 (strided) + BN."""
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


def classifier_head(cin: int, classes: int = 10) -> List[nn.Module]:
    """Global average pooling, flatten, fully connected."""
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]


# ---------------------------------------------------------------------------
# Tiny models
# ---------------------------------------------------------------------------


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),  # 28 -> 14
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2),  # 14 -> 10 -> 5
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def alexnet_lrn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 11, stride=4, padding=2), nn.ReLU(),  # 64 -> 15
        LRN(size=5, alpha=1e-4, beta=0.75, k=2.0), nn.MaxPool2d(3, 2),  # 15 -> 7
        nn.Conv2d(8, 16, 5, padding=2), nn.ReLU(),
        LRN(size=5, alpha=1e-4, beta=0.75, k=2.0), nn.MaxPool2d(3, 2),  # 7 -> 3
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),  # 3 -> 1
        nn.Flatten(),
        nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(32, 32), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(32, 10))


def vgg_bn() -> nn.Module:
    return nn.Sequential(
        vgg_block(1, 3, 8), vgg_block(2, 8, 16),  # 16 -> 8 -> 4
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 32), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(32, 10))


def nin() -> nn.Module:
    model = nn.Sequential(
        nin_block(3, 8, 5, 1, 2), nn.MaxPool2d(3, 2),  # 16 -> 7
        nin_block(8, 16, 3, 1, 1), nn.MaxPool2d(3, 2),  # 7 -> 3
        nn.Dropout(0.5),
        nin_block(16, 10, 3, 1, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())
    # Nine ReLU convolutions with PyTorch's default init shrink the signal so
    # much that the final ReLU zeroes 9 of the 10 outputs; He init keeps the
    # activations at unit scale and the reference output informative.
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return model


def inception() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
        Inception(8, 4, (4, 8), (2, 4), 4),  # 4 + 8 + 4 + 4 = 20 channels
        *classifier_head(20))


def resnet_basic() -> nn.Module:
    return nn.Sequential(
        resnet_stem(8),  # 32 -> 8
        BasicBlock(8, 8),
        BasicBlock(8, 16, stride=2, downsample=projection(8, 16, 2)),  # 8 -> 4
        *classifier_head(16))


def resnet_bottleneck() -> nn.Module:
    # Bottleneck(inplanes, planes) outputs 4 * planes channels.
    return nn.Sequential(
        resnet_stem(8),
        Bottleneck(8, 4, stride=2, downsample=projection(8, 16, 2)),
        Bottleneck(16, 4),
        *classifier_head(16))


def densenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        dense_block(3, 8, growth=4),  # 8 + 3 * 4 = 20 channels
        transition(20, 10),  # 16 -> 8
        nn.BatchNorm2d(10), nn.ReLU(),
        *classifier_head(10))


def resnext() -> nn.Module:
    # Grouped bottleneck: width = planes * base_width/64 * groups = 16, 4 groups of 4.
    return nn.Sequential(
        resnet_stem(8),
        Bottleneck(8, 4, stride=2, downsample=projection(8, 16, 2), groups=4, base_width=64),
        *classifier_head(16))


def conv1d() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(2, 4, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),  # 32 -> 16
        nn.Conv1d(4, 8, 3, padding=1), nn.BatchNorm1d(8), nn.ReLU(), nn.AvgPool1d(2),  # 16 -> 8
        nn.Flatten(),
        nn.Linear(8 * 8, 10))


def conv3d() -> nn.Module:
    return nn.Sequential(
        nn.Conv3d(2, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), nn.MaxPool3d(2),  # 8 -> 4
        nn.Conv3d(4, 8, 3, padding=1), nn.ReLU(), nn.AvgPool3d(2),  # 4 -> 2
        nn.Flatten(),
        nn.Linear(8 * 2 * 2 * 2, 10))


@dataclasses.dataclass
class Case:
    """One model to export: how to build it and how to feed it."""
    build: Callable[[], nn.Module]
    input_shape: Tuple[int, ...]
    opset: int = 13
    dynamic_batch: bool = False  # make dim 0 of input and output symbolic ("N")


TINY: Dict[str, Case] = {
    "lenet": Case(lenet, (1, 1, 28, 28), opset=9),
    "alexnet_lrn": Case(alexnet_lrn, (1, 3, 64, 64), opset=9),
    "vgg_bn": Case(vgg_bn, (1, 3, 16, 16)),
    "nin": Case(nin, (1, 3, 16, 16)),
    "inception": Case(inception, (1, 3, 16, 16)),
    "resnet_basic": Case(resnet_basic, (1, 3, 32, 32)),
    "resnet_basic_dynbatch": Case(resnet_basic, (2, 3, 32, 32), dynamic_batch=True),
    "resnet_bottleneck": Case(resnet_bottleneck, (1, 3, 32, 32)),
    "densenet": Case(densenet, (1, 3, 16, 16)),
    "resnext": Case(resnext, (1, 3, 32, 32)),
    "conv1d": Case(conv1d, (1, 2, 32), opset=11),
    "conv3d": Case(conv3d, (1, 2, 8, 8, 8)),
}

# ---------------------------------------------------------------------------
# Full-size torchvision models
# ---------------------------------------------------------------------------

_FULL_INPUT = (1, 3, 224, 224)


def _torchvision(name: str, **kwargs) -> Callable[[], nn.Module]:
    return lambda: getattr(torchvision.models, name)(weights=None, **kwargs)


FULL: Dict[str, Case] = {
    "resnet18": Case(_torchvision("resnet18"), _FULL_INPUT),
    "alexnet": Case(_torchvision("alexnet"), _FULL_INPUT),
    "vgg16": Case(_torchvision("vgg16"), _FULL_INPUT),
    "googlenet": Case(_torchvision("googlenet", aux_logits=False, init_weights=True), _FULL_INPUT),
    "densenet121": Case(_torchvision("densenet121"), _FULL_INPUT),
    "resnet50": Case(_torchvision("resnet50"), _FULL_INPUT),
    "resnext50_32x4d": Case(_torchvision("resnext50_32x4d"), _FULL_INPUT),
    "wide_resnet50_2": Case(_torchvision("wide_resnet50_2"), _FULL_INPUT),
}

# The other torchvision models that the zoo (`cnnc zoo`) also builds, so that
# conformance's TestZooTorchvisionWeights can give each of them torchvision's
# weights. `full` exports these after FULL, treated the same way; smaller
# models first so that a partial run still yields many. Together about 6 GiB.
FULL_ZOO: Dict[str, Case] = {
    name: Case(_torchvision(name), _FULL_INPUT)
    for name in (
        "densenet169", "densenet201", "densenet161",
        "resnet34", "resnet101", "resnet152", "resnext101_32x8d", "wide_resnet101_2",
        "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16_bn", "vgg19", "vgg19_bn",
    )
}

# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def randomize_batchnorm(model: nn.Module) -> None:
    """Gives every BatchNorm layer non-trivial statistics and affine params,
    drawn from the global (seeded) RNG."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):  # pylint: disable=protected-access
                m.running_mean.normal_(0.0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                if m.affine:
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0.0, 0.5)


def write_tensor(path: pathlib.Path, array: np.ndarray, name: str) -> None:
    path.write_bytes(numpy_helper.from_array(array, name).SerializeToString())


def graph_input_names(model: onnx.ModelProto) -> List[str]:
    """Names of the graph inputs that are not initializers."""
    initializers = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in initializers]


def export_case(name: str, case: Case, dest: pathlib.Path) -> None:
    """Builds, runs and exports one model into dest (replacing it), going
    through a temporary sibling directory so a partial dest never exists."""
    torch.manual_seed(0)
    model = case.build()
    randomize_batchnorm(model)
    model.eval()
    x = torch.randn(case.input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = model(x)

    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".{name}.*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}.", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp creates it 0700
        (tmp / TEST_SET).mkdir()
        model_path = tmp / "model.onnx"
        dynamic_axes = {"input": {0: "N"}, "output": {0: "N"}} if case.dynamic_batch else None
        with warnings.catch_warnings():
            # PRESERVE on a model in eval mode exports inference semantics;
            # the exporter warns about constant folding regardless.
            warnings.filterwarnings("ignore", message="It is recommended that constant folding")
            # torch 1.13 flags g.op() in custom symbolics (our LRN) as deprecated.
            warnings.filterwarnings("ignore", message=".*_graph_op' is deprecated")
            torch.onnx.export(
                model, x, str(model_path),
                opset_version=case.opset,
                do_constant_folding=True,
                training=torch.onnx.TrainingMode.PRESERVE,
                input_names=["input"], output_names=["output"],
                dynamic_axes=dynamic_axes)
        onnx.checker.check_model(str(model_path), full_check=True)

        exported = onnx.load(str(model_path))
        (input_name,) = graph_input_names(exported)
        (output,) = exported.graph.output
        write_tensor(tmp / TEST_SET / "input_0.pb", x.numpy(), input_name)
        write_tensor(tmp / TEST_SET / "output_0.pb", y.numpy().astype(np.float32), output.name)

        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# The training references: batch size, steps, and SGD's settings
# (torch.optim.SGD; passes.Backward's SGD has the same semantics).
TRAIN_BATCH = 4
TRAIN_STEPS = 20
TRAIN_SGD = {"lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4}


def training_model(case: Case) -> nn.Module:
    """The model export_case exports (same seed and batch norms), in
    training mode but for its dropouts: the exported graph has none."""
    torch.manual_seed(0)
    model = case.build()
    randomize_batchnorm(model)
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    return model


def export_train(name: str, case: Case, dest: pathlib.Path) -> None:
    """Writes the training reference of one tiny model into dest/train_data
    (see the module docstring). The model is rebuilt exactly as
    export_case built it (same seed), so its parameters are the exported
    initializers."""
    model = training_model(case)
    exported = onnx.load(str(dest / "model.onnx"))
    initializers = {t.name for t in exported.graph.initializer}
    shape = (TRAIN_BATCH,) + tuple(case.input_shape[1:])
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=gen)
    with torch.no_grad():
        classes = model(x).shape[1]
    labels = torch.randint(0, classes, (TRAIN_BATCH,), generator=gen)
    model = training_model(case)  # the pass above moved the running statistics
    params = [(n, p) for n, p in model.named_parameters()]
    missing = [n for n, _ in params if n not in initializers]
    if missing:
        raise SystemExit(f"refgen train {name}: parameters {missing} are not initializers of model.onnx")
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), **TRAIN_SGD)
    out = dest / "train_data"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    (input_name,) = graph_input_names(exported)
    write_tensor(out / "input.pb", x.numpy(), input_name)
    write_tensor(out / "labels.pb", labels.numpy().astype(np.int64), "labels")
    losses = []
    for step in range(TRAIN_STEPS):
        opt.zero_grad()
        loss = loss_fn(model(x), labels)
        loss.backward()
        if step == 0:
            for i, (n, p) in enumerate(params):
                write_tensor(out / f"grad_{i}.pb", p.grad.numpy().astype(np.float32), n)
        losses.append(loss.item())
        opt.step()
    write_tensor(out / "losses.pb", np.array(losses, dtype=np.float32), "losses")


def cmd_train(args) -> int:
    out = pathlib.Path(args.out)
    for name, case in select(TINY, args.only).items():
        if case.dynamic_batch:
            continue  # the same model as its fixed-batch case
        start = time.monotonic()
        export_train(name, case, out / name)
        print(f"{name:24s} {dir_size(out / name / 'train_data'):9d} bytes  {time.monotonic() - start:5.2f} s")
    return 0


def dir_size(path: pathlib.Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB"


def select(cases: Dict[str, Case], only: Optional[str]) -> Dict[str, Case]:
    if not only:
        return cases
    names = [n for n in only.split(",") if n]
    unknown = [n for n in names if n not in cases]
    if unknown:
        sys.exit(f"refgen: unknown model(s) {', '.join(unknown)}; known: {', '.join(cases)}")
    return {n: cases[n] for n in names}


def cmd_tiny(args) -> int:
    out = pathlib.Path(args.out)
    for name, case in select(TINY, args.only).items():
        start = time.monotonic()
        export_case(name, case, out / name)
        print(f"{name:24s} opset {case.opset:2d}  {dir_size(out / name):9d} bytes  "
              f"{time.monotonic() - start:5.2f} s")
    print(f"total {dir_size(out)} bytes ({mib(dir_size(out))}) in {out}")
    return 0


def cmd_full(args) -> int:
    out = pathlib.Path(args.out)
    total_start = time.monotonic()
    for name, case in select({**FULL, **FULL_ZOO}, args.only).items():
        if (out / name / TEST_SET / "output_0.pb").exists():
            print(f"{name:18s} present, skipped")
            continue
        start = time.monotonic()
        export_case(name, case, out / name)
        print(f"{name:18s} {mib(dir_size(out / name)):>11s}  {time.monotonic() - start:6.1f} s",
              flush=True)
    print(f"done in {time.monotonic() - total_start:.1f} s; {mib(dir_size(out))} in {out}")
    return 0


# ---------------------------------------------------------------------------
# Check against ONNX Runtime
# ---------------------------------------------------------------------------


def check_model_dir(model_dir: pathlib.Path, threads: int) -> bool:
    """Checks one model directory; prints one line; returns True if it passed."""
    model_path = model_dir / "model.onnx"
    try:
        onnx.checker.check_model(str(model_path), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as err:
        print(f"{model_dir.name:24s} FAIL: onnx.checker: {err}")
        return False
    test_dir = model_dir / TEST_SET
    inputs = sorted(test_dir.glob("input_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
    expected = sorted(test_dir.glob("output_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
    with tempfile.TemporaryDirectory(prefix="refgen-ort.") as out_dir:
        cmd = ["node", str(ORT_RUNNER), str(model_path), out_dir, "--threads", str(threads),
               *map(str, inputs)]
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - start
        if proc.returncode != 0:
            print(f"{model_dir.name:24s} FAIL: ORT: {proc.stderr.strip()}")
            return False
        ok, worst, notes = True, 0.0, []
        for i, exp_path in enumerate(expected):
            exp = numpy_helper.to_array(onnx.load_tensor(str(exp_path)))
            got_path = pathlib.Path(out_dir) / f"output_{i}.pb"
            if not got_path.exists():
                notes.append(f"output {i} missing")
                ok = False
                continue
            got = numpy_helper.to_array(onnx.load_tensor(str(got_path)))
            if got.shape != exp.shape or got.dtype != exp.dtype:
                notes.append(f"output {i}: {got.dtype}{list(got.shape)} != {exp.dtype}{list(exp.shape)}")
                ok = False
                continue
            diff = float(np.max(np.abs(got.astype(np.float64) - exp))) if exp.size else 0.0
            scale = float(np.max(np.abs(exp))) if exp.size else 0.0
            worst = max(worst, diff)
            # float32 tolerance relative to the output's magnitude.
            if diff > 1e-4 * max(1.0, scale):
                notes.append(f"output {i}: max abs diff {diff:.3g} > tolerance (max|ref| {scale:.3g})")
                ok = False
            else:
                notes.append(f"output {i}: max|ref| {scale:.3g}")
    status = "ok  " if ok else "FAIL"
    print(f"{model_dir.name:24s} {status} max abs diff {worst:.3g}  ({'; '.join(notes)}; "
          f"ORT {elapsed:.2f} s)", flush=True)
    return ok


def cmd_check(args) -> int:
    dirs = [pathlib.Path(d) for d in args.dirs] or [REPO / "testdata" / "tiny"]
    only = set(args.only.split(",")) if args.only else None
    passed = failed = 0
    for root in dirs:
        for model_dir in sorted(p.parent for p in root.glob("*/model.onnx")):
            if model_dir.name.startswith("."):  # export in progress
                continue
            if only is None or model_dir.name in only:
                if check_model_dir(model_dir, args.threads):
                    passed += 1
                else:
                    failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def default_cache() -> str:
    cache = os.environ.get("CNNC_CACHE") or os.path.expanduser("~/.cache/cnnc")
    return os.path.join(cache, "torchvision")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Export reference CNNs to ONNX with expected outputs (see module docstring).")
    parser.add_argument("--list", action="store_true", help="list model names and exit")
    sub = parser.add_subparsers(dest="cmd")
    p = sub.add_parser("tiny", help="export the small lecture-family models")
    p.add_argument("--out", default=str(REPO / "testdata" / "tiny"))
    p.add_argument("--only", help="comma-separated model names")
    p.set_defaults(func=cmd_tiny)
    p = sub.add_parser("full", help="export full-size torchvision models into the cache")
    p.add_argument("--out", default=default_cache())
    p.add_argument("--only", help="comma-separated model names")
    p.set_defaults(func=cmd_full)
    p = sub.add_parser("train", help="write training references for the tiny models")
    p.add_argument("--out", default=str(REPO / "testdata" / "tiny"))
    p.add_argument("--only", help="comma-separated model names")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("check", help="compare stored outputs with ONNX Runtime")
    p.add_argument("dirs", nargs="*", help="directories holding <name>/model.onnx")
    p.add_argument("--only", help="comma-separated model names")
    p.add_argument("--threads", type=int, default=1, help="ORT intra-op threads")
    p.set_defaults(func=cmd_check)
    args = parser.parse_args(argv)

    if args.list:
        print("tiny:", " ".join(TINY))
        print("full:", " ".join(FULL))
        print("full (zoo):", " ".join(FULL_ZOO))
        return 0
    if args.cmd is None:
        parser.error("a command is required: tiny, full, train or check")
    torch.set_num_threads(2)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
