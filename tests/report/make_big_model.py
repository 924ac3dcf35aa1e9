#!/usr/bin/python3
"""Writes a model architecture of N IR nodes (default 10,000) that deploy as as many operators
(nothing folds or fuses), for the report page's load-time test: residual blocks of a 1x1
convolution and an add on an 8x8x8 input."""
import json
import sys

out = sys.argv[1]
target = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
nodes = [{"name": "input", "op": "input", "shape": [8, 8, 8]}]
prev = "input"
k = 0
while len(nodes) + 2 + 3 <= target:
    nodes += [{"name": f"c{k}", "op": "conv2d", "inputs": [prev], "out_channels": 8, "kernel": [1, 1],
               "stride": [1, 1], "dilation": [1, 1], "padding": "same", "bias": True},
              {"name": f"a{k}", "op": "add", "inputs": [f"c{k}", prev]}]
    prev = f"a{k}"
    k += 1
while len(nodes) + 3 < target:  # pad to the exact count
    nodes.append({"name": f"p{len(nodes)}", "op": "relu", "inputs": [prev]})
    prev = nodes[-1]["name"]
nodes += [{"name": "pool", "op": "global_avgpool", "inputs": [prev]},
          {"name": "flatten", "op": "flatten", "inputs": ["pool"]},
          {"name": "logits", "op": "dense", "inputs": ["flatten"], "out_channels": 10, "bias": True}]
with open(out, "w") as f:
    json.dump({"format": "mcuprune-model", "version": 1, "name": f"residual{len(nodes)}", "layout": "HWC",
               "nodes": nodes, "output": "logits"}, f)
print(len(nodes))
