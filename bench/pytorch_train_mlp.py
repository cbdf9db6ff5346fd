"""PyTorch's training throughput on the MLP 784-300-100-10 (batch 64, Adam), for bench/train_bench.sh.

Runs Fashion-MNIST-shaped random batches (the data loading is not what is measured) for a
few warm-up steps, then times N steps and prints one JSON line: steps_per_second,
samples_per_second, threads, torch version.
"""
import argparse
import json
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 300), torch.nn.ReLU(),
        torch.nn.Linear(300, 100), torch.nn.ReLU(),
        torch.nn.Linear(100, 10))
    opt = (torch.optim.Adam(model.parameters(), lr=1e-3) if args.optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=0.05))
    loss_fn = torch.nn.CrossEntropyLoss()
    xs = torch.rand(16, args.batch, 784)
    ys = torch.randint(0, 10, (16, args.batch))

    def step(i):
        opt.zero_grad()
        loss = loss_fn(model(xs[i % 16]), ys[i % 16])
        loss.backward()
        opt.step()

    for i in range(50):
        step(i)
    t0 = time.perf_counter()
    for i in range(args.steps):
        step(i)
    seconds = time.perf_counter() - t0
    print(json.dumps({"steps_per_second": args.steps / seconds,
                      "samples_per_second": args.steps * args.batch / seconds,
                      "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
