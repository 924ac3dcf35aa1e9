#!/usr/bin/python3
"""PyTorch (Python) reference for bench/train_throughput: builds the network described by an
mcuprune architecture JSON with the same semantics as src/nn/net.cpp (TF-style "same"
padding, HWC flatten, pools excluding padding) and measures training samples/s on
Fashion-MNIST with the same batch size, threads, optimizer and batching work."""
import argparse, gzip, json, math, struct, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


def pad_amounts(node, in_h, in_w):
    if node.get("padding", "valid") == "explicit":
        t, b, l, r = node["pads"]
        return t, b, l, r
    if node.get("padding", "valid") != "same":
        return 0, 0, 0, 0
    kh, kw = node["kernel"]
    sh, sw = node.get("stride", [1, 1])
    dh, dw = node.get("dilation", [1, 1])
    keh, kew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    oh, ow = -(-in_h // sh), -(-in_w // sw)
    th = max((oh - 1) * sh + keh - in_h, 0)
    tw = max((ow - 1) * sw + kew - in_w, 0)
    return th // 2, th - th // 2, tw // 2, tw - tw // 2


class GraphNet(nn.Module):
    def __init__(self, arch):
        super().__init__()
        self.nodes = arch["nodes"]
        self.index = {n["name"]: i for i, n in enumerate(self.nodes)}
        self.shapes = []
        self.mods = nn.ModuleDict()
        self.pads = {}
        for n in self.nodes:
            op = n["op"]
            if op == "input":
                self.shapes.append(tuple(n["shape"]))
                continue
            h, w, c = self.shapes[self.index[n["inputs"][0]]]
            key = n["name"].replace(".", "_")
            if op in ("conv2d", "depthwise_conv2d", "maxpool", "avgpool"):
                p = pad_amounts(n, h, w)
                self.pads[n["name"]] = p
                kh, kw = n["kernel"]
                sh, sw = n.get("stride", [1, 1])
                dh, dw = n.get("dilation", [1, 1]) if op.endswith("conv2d") else (1, 1)
                oh = (h + p[0] + p[1] - ((kh - 1) * dh + 1)) // sh + 1
                ow = (w + p[2] + p[3] - ((kw - 1) * dw + 1)) // sw + 1
                if op == "conv2d":
                    oc = n["out_channels"]
                elif op == "depthwise_conv2d":
                    oc = c * n.get("depth_multiplier", 1)
                else:
                    oc = c
                if op.endswith("conv2d"):
                    sym = p[0] == p[1] and p[2] == p[3]
                    self.mods[key] = nn.Conv2d(c, oc, (kh, kw), (sh, sw), padding=(p[0], p[2]) if sym else 0,
                                               dilation=(dh, dw), groups=c if op == "depthwise_conv2d" else 1,
                                               bias=n.get("bias", True))
                self.shapes.append((oh, ow, oc))
            elif op == "dense":
                self.mods[key] = nn.Linear(c, n["out_channels"], bias=n.get("bias", True))
                self.shapes.append((1, 1, n["out_channels"]))
            elif op == "batchnorm":
                self.mods[key] = nn.BatchNorm2d(c, eps=n.get("epsilon", 1e-5))
                self.shapes.append((h, w, c))
            elif op == "global_avgpool":
                self.shapes.append((1, 1, c))
            elif op == "flatten":
                self.shapes.append((1, 1, h * w * c))
            elif op == "concat":
                self.shapes.append((h, w, sum(self.shapes[self.index[i]][2] for i in n["inputs"])))
            else:
                self.shapes.append((h, w, c))
        self.output = self.index[arch["output"]]
        self.last_use = {}
        for i, n in enumerate(self.nodes):
            for src in n.get("inputs", []):
                self.last_use[self.index[src]] = i

    @staticmethod
    def act(x, a):
        if a == "relu":
            return F.relu(x)
        if a == "relu6":
            return torch.clamp(x, 0, 6)
        return x

    def forward(self, x):
        out = self.output
        if self.nodes[out]["op"] == "softmax":
            out = self.index[self.nodes[out]["inputs"][0]]
        v = [None] * len(self.nodes)
        v[0] = x
        for i in range(1, out + 1):
            n = self.nodes[i]
            op = n["op"]
            ins = [self.index[s] for s in n["inputs"]]
            a = v[ins[0]]
            key = n["name"].replace(".", "_")
            if op in ("conv2d", "depthwise_conv2d"):
                p = self.pads[n["name"]]
                if not (p[0] == p[1] and p[2] == p[3]):
                    a = F.pad(a, (p[2], p[3], p[0], p[1]))
                y = self.act(self.mods[key](a), n.get("activation", "none"))
            elif op == "dense":
                y = self.act(self.mods[key](a.flatten(1)), n.get("activation", "none")).view(a.shape[0], -1, 1, 1)
            elif op == "batchnorm":
                y = self.mods[key](a)
            elif op == "relu":
                y = F.relu(a)
            elif op == "relu6":
                y = torch.clamp(a, 0, 6)
            elif op == "dropout":
                y = F.dropout(a, n.get("rate", 0.0), self.training) if n.get("rate", 0.0) > 0 else a
            elif op == "maxpool":
                p = self.pads[n["name"]]
                if any(p):
                    a = F.pad(a, (p[2], p[3], p[0], p[1]), value=float("-inf"))
                y = F.max_pool2d(a, n["kernel"], n.get("stride", [1, 1]))
            elif op == "avgpool":
                p = self.pads[n["name"]]
                if any(p):
                    s = F.avg_pool2d(F.pad(a, (p[2], p[3], p[0], p[1])), n["kernel"], n.get("stride", [1, 1]))
                    ones = torch.ones(1, 1, a.shape[2], a.shape[3])
                    cnt = F.avg_pool2d(F.pad(ones, (p[2], p[3], p[0], p[1])), n["kernel"], n.get("stride", [1, 1]))
                    y = s / cnt
                else:
                    y = F.avg_pool2d(a, n["kernel"], n.get("stride", [1, 1]))
            elif op == "global_avgpool":
                y = a.mean((2, 3), keepdim=True)
            elif op == "flatten":
                y = a.permute(0, 2, 3, 1).reshape(a.shape[0], -1, 1, 1)
            elif op == "add":
                y = a
                for k in ins[1:]:
                    y = y + v[k]
                y = self.act(y, n.get("activation", "none"))
            elif op == "concat":
                y = torch.cat([v[k] for k in ins], 1)
            elif op == "softmax":
                y = torch.softmax(a, 1)
            else:
                raise ValueError("unsupported op " + op)
            v[i] = y
            for k in ins:
                if self.last_use.get(k) == i and k != 0:
                    v[k] = None
        return v[out].reshape(x.shape[0], -1)


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        h, w = struct.unpack(">II", data[8:16])
        return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).view(n, h, w, 1)
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8).long()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (bench/gpu_check.sh)")
    a = ap.parse_args()
    dev = torch.device(a.device)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    import os
    imgs = None
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
        if os.path.exists(os.path.join(a.data, name)):
            imgs = read_idx(os.path.join(a.data, name))
            labels = read_idx(os.path.join(a.data, name.replace("images-idx3", "labels-idx1")))
            break
    if imgs is None:
        sys.exit("no Fashion-MNIST training files in " + a.data)
    with open(a.arch) as f:
        net = GraphNet(json.load(f))
    net.to(dev)
    net.train()
    mean = imgs.float().div(255).mean().item()
    std = imgs.float().div(255).std().item()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(a.seed)
    order = torch.randperm(imgs.shape[0], generator=g)
    pos = [0]

    def step():
        if pos[0] + a.batch_size > imgs.shape[0]:
            pos[0] = 0
        idx = order[pos[0]:pos[0] + a.batch_size]
        pos[0] += a.batch_size
        x = imgs[idx].permute(0, 3, 1, 2).float().div_(255).sub_(mean).div_(std).contiguous().to(dev)
        y = labels[idx].to(dev)
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = time.perf_counter() - t0
    print(json.dumps({"framework": "pytorch-python", "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "device": str(dev), "batch_size": a.batch_size,
                      "steps": a.steps, "samples_per_second": a.steps * a.batch_size / dt}))


if __name__ == "__main__":
    main()
