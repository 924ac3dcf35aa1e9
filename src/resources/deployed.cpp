// Builds the deployment view: folds and fuses in one pass over the IR's topological order.
#include "resources/deployed.h"

#include "resources/tflite_padding.h"

namespace mcuprune {

const char* deployed_kind_name(DeployedKind k) {
  switch (k) {
    case DeployedKind::Conv2D: return "CONV_2D";
    case DeployedKind::DepthwiseConv2D: return "DEPTHWISE_CONV_2D";
    case DeployedKind::FullyConnected: return "FULLY_CONNECTED";
    case DeployedKind::MaxPool: return "MAX_POOL_2D";
    case DeployedKind::AvgPool: return "AVERAGE_POOL_2D";
    case DeployedKind::Mean: return "MEAN";
    case DeployedKind::Add: return "ADD";
    case DeployedKind::Concat: return "CONCATENATION";
    case DeployedKind::Reshape: return "RESHAPE";
    case DeployedKind::Softmax: return "SOFTMAX";
    case DeployedKind::Activation: return "RELU";
    case DeployedKind::Pad: return "PAD";
    case DeployedKind::FrontEnd: return "MFCC";
  }
  return "?";
}

namespace {

bool has_weights(DeployedKind k) {
  return k == DeployedKind::Conv2D || k == DeployedKind::DepthwiseConv2D ||
         k == DeployedKind::FullyConnected;
}

}  // namespace

bool is_pad_op(const DeployedGraph& d, int o) { return d.ops[size_t(o)].kind == DeployedKind::Pad; }

DeployedGraph deploy_view(const Graph& g, const DeployOptions& opt) {
  DeployedGraph d;
  d.graph = &g;
  const int n = int(g.nodes.size());
  d.tensor_of_node.assign(n, -1);
  d.op_of_node.assign(n, -1);
  auto consumers = g.consumers();

  DeployedTensor in;
  in.name = g.nodes[0].name;
  in.shape = g.nodes[0].out;
  in.is_model_input = true;
  if (g.front_end() >= 0) {
    if (opt.front_end)
      in.element_bytes = 2;
    else
      in.shape = g.nodes[size_t(g.front_end())].out;
  }
  d.tensors.push_back(in);
  d.input_tensor = 0;
  d.tensor_of_node[0] = 0;

  auto new_op = [&](int node, DeployedKind kind) {
    // TFLite: a PAD op first, whose padded tensor the window op reads instead of its input.
    int padded_input = -1;
    const OpKind nk = g.nodes[node].kind;
    if (opt.pad_operators && (nk == OpKind::Conv2D || nk == OpKind::DepthwiseConv2D || nk == OpKind::MaxPool ||
                              nk == OpKind::AvgPool)) {
      const TflitePadding tp = tflite_padding(g, node);
      if (tp.kind == TflitePadKind::PadOp) {
        DeployedOp pad;
        pad.name = g.nodes[node].name + ".pad";
        pad.kind = DeployedKind::Pad;
        pad.ir_node = node;
        pad.inputs = {d.tensor_of_node[g.nodes[node].inputs[0]]};
        pad.has_bias = false;
        DeployedTensor t;
        t.name = pad.name;
        t.shape = tflite_padded_shape(d.tensors[size_t(pad.inputs[0])].shape, tp.pad);
        t.producer = int(d.ops.size());
        d.tensors.push_back(t);
        pad.output = int(d.tensors.size()) - 1;
        padded_input = pad.output;
        d.ops.push_back(pad);
      }
    }
    DeployedOp op;
    op.name = g.nodes[node].name;
    op.kind = kind;
    op.ir_node = node;
    for (int i : g.nodes[node].inputs) op.inputs.push_back(d.tensor_of_node[i]);
    if (padded_input >= 0) op.inputs = {padded_input};
    DeployedTensor t;
    t.name = g.nodes[node].name;
    t.shape = g.nodes[node].out;
    t.producer = int(d.ops.size());
    d.tensors.push_back(t);
    op.output = int(d.tensors.size()) - 1;
    op.activation = g.nodes[node].activation;
    op.has_bias = has_weights(kind);
    d.ops.push_back(op);
    d.tensor_of_node[node] = op.output;
    d.op_of_node[node] = int(d.ops.size()) - 1;
  };
  // The op whose output is the value `node` reads, if that value (through any dropouts,
  // which are identities) has no other consumer and is not the model output: then `node`
  // can be folded/fused into that op.
  auto sole_producer = [&](int node) -> int {
    int src = g.nodes[node].inputs[0];
    while (true) {
      if (consumers[src].size() != 1 || src == g.output) return -1;
      if (g.nodes[src].kind != OpKind::Dropout) break;
      src = g.nodes[src].inputs[0];
    }
    int op = d.op_of_node[src];
    if (op < 0 || d.ops[op].output != d.tensor_of_node[src]) return -1;
    return op;
  };

  for (int i = 1; i < n; ++i) {
    const Node& nd = g.nodes[i];
    switch (nd.kind) {
      case OpKind::Input:
        break;
      case OpKind::Mfcc:
        if (opt.front_end) {
          new_op(i, DeployedKind::FrontEnd);
          d.ops.back().has_bias = false;
        } else {  // the features are the model's input
          d.tensor_of_node[i] = d.tensor_of_node[nd.inputs[0]];
          d.op_of_node[i] = -1;
        }
        break;
      case OpKind::Conv2D: new_op(i, DeployedKind::Conv2D); break;
      case OpKind::DepthwiseConv2D: new_op(i, DeployedKind::DepthwiseConv2D); break;
      case OpKind::Dense: new_op(i, DeployedKind::FullyConnected); break;
      case OpKind::MaxPool: new_op(i, DeployedKind::MaxPool); break;
      case OpKind::AvgPool: new_op(i, DeployedKind::AvgPool); break;
      case OpKind::GlobalAvgPool: new_op(i, DeployedKind::Mean); break;
      case OpKind::Add: new_op(i, DeployedKind::Add); break;
      case OpKind::Concat: new_op(i, DeployedKind::Concat); break;
      case OpKind::Flatten: new_op(i, DeployedKind::Reshape); break;
      case OpKind::Softmax:
        if (i != g.output)
          throw UserError(nd.name + " (softmax): a softmax is only deployable as the model's output");
        new_op(i, DeployedKind::Softmax);
        break;
      case OpKind::Dropout:  // identity at inference
        d.tensor_of_node[i] = d.tensor_of_node[nd.inputs[0]];
        d.op_of_node[i] = -1;
        break;
      case OpKind::BatchNorm: {
        int op = sole_producer(i);
        if (op >= 0 && has_weights(d.ops[op].kind) && d.ops[op].activation == Activation::None) {
          d.ops[op].fused.push_back(i);
          d.tensors[d.ops[op].output].name = nd.name;
          d.tensor_of_node[i] = d.ops[op].output;
          d.op_of_node[i] = op;
        } else {
          // A BatchNorm with nothing to fold into is a per-channel scale and shift:
          // deployed as a 1x1 depthwise convolution.
          new_op(i, DeployedKind::DepthwiseConv2D);
        }
        break;
      }
      case OpKind::ReLU:
      case OpKind::ReLU6: {
        int op = sole_producer(i);
        Activation a = nd.kind == OpKind::ReLU ? Activation::ReLU : Activation::ReLU6;
        DeployedKind k = op >= 0 ? d.ops[op].kind : DeployedKind::Activation;
        if (op >= 0 && (has_weights(k) || k == DeployedKind::Add) &&
            d.ops[op].activation == Activation::None) {
          d.ops[op].activation = a;
          d.ops[op].fused.push_back(i);
          d.tensors[d.ops[op].output].name = nd.name;
          d.tensor_of_node[i] = d.ops[op].output;
          d.op_of_node[i] = op;
        } else {
          new_op(i, DeployedKind::Activation);
          d.ops.back().activation = a;
        }
        break;
      }
    }
  }
  for (size_t o = 0; o < d.ops.size(); ++o)
    for (int t : d.ops[o].inputs) {
      auto& c = d.tensors[t].consumers;
      if (c.empty() || c.back() != int(o)) c.push_back(int(o));
    }
  d.output_tensor = d.tensor_of_node[g.output];
  d.tensors[d.output_tensor].is_model_output = true;
  return d;
}

}  // namespace mcuprune
