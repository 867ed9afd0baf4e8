#!/usr/bin/python3
"""torch_bench - time a torchvision model's forward pass in PyTorch.

    /usr/bin/python3 bench/torch_bench.py --model NAME [--batch N] [--threads N]
                                          [--runs N] [--warmup N]

Builds torchvision.models.NAME with random weights (as tools/refgen/refgen.py
exports it: googlenet without aux logits), in eval mode, sets
torch.set_num_threads(threads) and times --runs forward passes under
torch.no_grad() on a 1x3x224x224-per-image input of seeded values in [-1, 1),
after --warmup untimed ones. Prints one JSON object:
{"median_ms": ..., "min_ms": ..., "runs": N, "torch": VERSION}.
"""

import argparse
import json
import statistics
import time

import torch
import torchvision


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    kwargs = {"aux_logits": False, "init_weights": True} if a.model == "googlenet" else {}
    model = getattr(torchvision.models, a.model)(weights=None, **kwargs).eval()
    gen = torch.Generator().manual_seed(0x636E6E63)
    x = torch.rand(a.batch, 3, 224, 224, generator=gen) * 2 - 1
    times = []
    with torch.no_grad():
        for _ in range(a.warmup):
            model(x)
        for _ in range(a.runs):
            t = time.perf_counter_ns()
            model(x)
            times.append((time.perf_counter_ns() - t) / 1e6)
    print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times),
                      "runs": len(times), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
