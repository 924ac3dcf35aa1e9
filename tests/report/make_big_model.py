#!/usr/bin/python3
"""Writes a model architecture with about N IR nodes (default 10,000) for the report page's
load-time test: residual blocks of conv 1x1, batchnorm, relu and add on an 8x8x8 input."""
import json
import sys

out = sys.argv[1]
target = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
nodes = [{"name": "input", "op": "input", "shape": [8, 8, 8]}]
prev = "input"
k = 0
while len(nodes) + 4 + 3 <= target:
    c, b, r, a = f"c{k}", f"b{k}", f"r{k}", f"a{k}"
    nodes += [{"name": c, "op": "conv2d", "inputs": [prev], "out_channels": 8, "kernel": [1, 1], "stride": [1, 1],
               "dilation": [1, 1], "padding": "same", "bias": False},
              {"name": b, "op": "batchnorm", "inputs": [c], "epsilon": 1e-5},
              {"name": r, "op": "relu", "inputs": [b]},
              {"name": a, "op": "add", "inputs": [r, prev]}]
    prev = a
    k += 1
while len(nodes) + 3 < target:  # pad to the exact count with relus
    nodes.append({"name": f"p{len(nodes)}", "op": "relu", "inputs": [prev]})
    prev = nodes[-1]["name"]
nodes += [{"name": "pool", "op": "global_avgpool", "inputs": [prev]},
          {"name": "flatten", "op": "flatten", "inputs": ["pool"]},
          {"name": "logits", "op": "dense", "inputs": ["flatten"], "out_channels": 10, "bias": True}]
with open(out, "w") as f:
    json.dump({"format": "mcuprune-model", "version": 1, "name": f"residual{len(nodes)}", "layout": "HWC",
               "nodes": nodes, "output": "logits"}, f)
print(len(nodes))
