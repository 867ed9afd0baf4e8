#!/usr/bin/python3
"""torch_train - time training in PyTorch, beside cnnc's (bench/train).

    /usr/bin/python3 bench/train/torch_train.py lenet --mnist DIR --threads N
        One epoch of LeNet (ReLU, max pooling; cnnc's zoo:lenet_relu) on
        MNIST from DIR's IDX files (normalized as cnnc's train package
        does), batch 128, SGD (lr 0.05, momentum 0.9), shuffled by a
        DataLoader over the tensors in memory, last partial batch dropped.
        Prints {"seconds": S, "loss": L, "steps": N, "torch": VERSION}.

    /usr/bin/python3 bench/train/torch_train.py resnet18 --threads N [--steps N]
        Training steps of torchvision's resnet18 (10 classes) at batch 32 on
        3x96x96 inputs (seeded), SGD (lr 0.01, momentum 0.9), after 2 warm-up
        steps. Prints {"median_ms": M, "min_ms": m, "steps": N, "torch": VERSION}.
"""

import argparse
import gzip
import json
import statistics
import time

import numpy as np
import torch
import torchvision
from torch import nn


def idx(path):
    b = gzip.open(path).read()
    n = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(n)]
    return np.frombuffer(b[4 + 4 * n:], dtype=np.uint8).reshape(dims)


def lenet(args):
    x = torch.tensor((idx(args.mnist + "/train-images-idx3-ubyte.gz") / 255.0 - 0.1307) / 0.3081,
                     dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(idx(args.mnist + "/train-labels-idx1-ubyte.gz").astype(np.int64))
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128,
                                         shuffle=True, drop_last=True)
    start, total, steps = time.perf_counter(), 0.0, 0
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item()
        steps += 1
    print(json.dumps({"seconds": time.perf_counter() - start, "loss": total / steps, "steps": steps,
                      "torch": torch.__version__}))


def resnet18(args):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=10).train()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(32, 3, 96, 96, generator=gen)
    y = torch.randint(0, 10, (32,), generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for i in range(args.steps + 2):
        t = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        if i >= 2:
            times.append((time.perf_counter() - t) * 1e3)
    print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times), "steps": len(times),
                      "torch": torch.__version__}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["lenet", "resnet18"])
    p.add_argument("--mnist")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    (lenet if a.what == "lenet" else resnet18)(a)


if __name__ == "__main__":
    main()
