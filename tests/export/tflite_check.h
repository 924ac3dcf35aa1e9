// Test-only checks of a TFLite export: a minimal reader of the file's operators and tensors
// (field ids from src/export/tflite_schema.h), the comparison of that structure with the
// deployment view a TFLite runtime profile counts, and the Arm NN run compared operator by
// operator with the integer reference.
#pragma once

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "export/armnn_runner.h"
#include "export/fixtures.h"
#include "export/order.h"
#include "export/tflite.h"
#include "export/tflite_schema.h"
#include "quant/fold.h"
#include "quant/quantize.h"
#include "resources/board.h"
#include "resources/profile.h"
#include "resources/tflite_padding.h"

namespace mcuprune::test {

// Operators whose int8 result Arm NN computes through float requantisation (conv, dense,
// add) or with another tie rule (average pools: TFLite rounds the raw int8 sum half away
// from zero, Arm NN the zero-point-shifted mean): these may be 1 LSB apart. Every other
// operator must match exactly.
inline bool may_round_differently(OpKind k) {
  return k == OpKind::Conv2D || k == OpKind::DepthwiseConv2D || k == OpKind::Dense || k == OpKind::Add ||
         k == OpKind::AvgPool || k == OpKind::GlobalAvgPool;
}

struct TfliteFile {
  struct Op {
    int32_t code = -1;
    std::vector<int32_t> inputs, outputs;
  };
  struct Tensor {
    std::string name;
    std::vector<int32_t> shape;
    int8_t type = 0;
    bool has_data = false;  // a constant (its buffer holds bytes)
    int64_t elements() const {
      int64_t n = 1;
      for (int32_t d : shape) n *= d;
      return n;
    }
  };
  std::vector<Op> ops;  // the subgraph's operators, in file order
  std::vector<Tensor> tensors;
};

inline TfliteFile read_tflite(const std::string& bytes) {
  using flatbuffers::Offset;
  using flatbuffers::Table;
  using flatbuffers::Vector;
  using Tables = Vector<Offset<Table>>;
  auto ints = [](const Table* t, int id) {
    std::vector<int32_t> r;
    if (const auto* v = t->GetPointer<const Vector<int32_t>*>(tfl::field(id))) r.assign(v->begin(), v->end());
    return r;
  };
  TfliteFile f;
  const Table* model = flatbuffers::GetRoot<Table>(bytes.data());
  const Tables* codes = model->GetPointer<const Tables*>(tfl::field(tfl::model::operator_codes));
  const Tables* buffers = model->GetPointer<const Tables*>(tfl::field(tfl::model::buffers));
  const Table* sg = model->GetPointer<const Tables*>(tfl::field(tfl::model::subgraphs))->Get(0);
  for (const Table* t : *sg->GetPointer<const Tables*>(tfl::field(tfl::subgraph::tensors))) {
    TfliteFile::Tensor x;
    x.name = t->GetPointer<const flatbuffers::String*>(tfl::field(tfl::tensor::name))->str();
    x.shape = ints(t, tfl::tensor::shape);
    x.type = t->GetField<int8_t>(tfl::field(tfl::tensor::type), 0);
    const Table* b = buffers->Get(t->GetField<uint32_t>(tfl::field(tfl::tensor::buffer), 0));
    const auto* data = b->GetPointer<const Vector<uint8_t>*>(tfl::field(tfl::buffer::data));
    x.has_data = data && data->size() > 0;
    f.tensors.push_back(x);
  }
  for (const Table* o : *sg->GetPointer<const Tables*>(tfl::field(tfl::subgraph::operators))) {
    TfliteFile::Op op;
    const Table* c = codes->Get(o->GetField<uint32_t>(tfl::field(tfl::op::opcode_index), 0));
    op.code = c->GetField<int32_t>(tfl::field(tfl::operator_code::builtin_code), 0);
    op.inputs = ints(o, tfl::op::inputs);
    op.outputs = ints(o, tfl::op::outputs);
    f.ops.push_back(op);
  }
  return f;
}

// The TFLite operators a deployed op may be written as.
inline std::vector<int32_t> tflite_codes_of(DeployedKind k) {
  switch (k) {
    case DeployedKind::Conv2D: return {tfl::kConv2D};
    case DeployedKind::DepthwiseConv2D: return {tfl::kDepthwiseConv2D};
    case DeployedKind::FullyConnected: return {tfl::kFullyConnected};
    case DeployedKind::MaxPool: return {tfl::kMaxPool2D};
    case DeployedKind::AvgPool:
    case DeployedKind::Mean: return {tfl::kAveragePool2D};
    case DeployedKind::Add: return {tfl::kAdd};
    case DeployedKind::Concat: return {tfl::kConcatenation};
    case DeployedKind::Reshape: return {tfl::kReshape};
    case DeployedKind::Softmax: return {tfl::kSoftmax};
    case DeployedKind::Activation: return {tfl::kRelu, tfl::kRelu6};
    case DeployedKind::Pad: return {tfl::kPad};
  }
  return {};
}

// The file holds exactly what the profile counted: its activation tensors (no data) are the
// deployment view's tensors in the same order, names and sizes; its operators are the view's
// ops in the profile's execution order, reading and writing the same tensors; and the TFLM
// simulation counted its tensors and operators.
inline void expect_file_is_the_deployment_view(const TfliteFile& f, const Profile& p) {
  const DeployedGraph& d = p.deployed;
  std::vector<int> act_index(f.tensors.size(), -1);  // file tensor -> deployed tensor
  int n_act = 0;
  for (size_t t = 0; t < f.tensors.size(); ++t) {
    if (f.tensors[t].has_data) continue;
    ASSERT_LT(size_t(n_act), d.tensors.size()) << "more activation tensors in the file than in the profile";
    EXPECT_EQ(f.tensors[t].name, d.tensors[size_t(n_act)].name);
    EXPECT_EQ(f.tensors[t].elements(), d.tensors[size_t(n_act)].bytes()) << f.tensors[t].name;
    act_index[t] = n_act++;
  }
  ASSERT_EQ(size_t(n_act), d.tensors.size());
  ASSERT_EQ(f.ops.size(), p.used.order.size());
  for (size_t k = 0; k < f.ops.size(); ++k) {
    const DeployedOp& op = d.ops[size_t(p.used.order[k])];
    SCOPED_TRACE(op.name);
    const auto codes = tflite_codes_of(op.kind);
    EXPECT_NE(std::find(codes.begin(), codes.end(), f.ops[k].code), codes.end()) << "file code " << f.ops[k].code;
    std::vector<int> ins;
    for (int32_t t : f.ops[k].inputs)
      if (act_index[size_t(t)] >= 0) ins.push_back(act_index[size_t(t)]);
    EXPECT_EQ(ins, op.inputs);
    ASSERT_EQ(f.ops[k].outputs.size(), 1u);
    EXPECT_EQ(act_index[size_t(f.ops[k].outputs[0])], op.output);
  }
  if (p.runtime.tflm_arena) {
    auto has_item = [&](const std::string& what) {
      for (const auto& it : p.tflm_tail_items)
        if (it.first == what) return true;
      return false;
    };
    EXPECT_TRUE(has_item("TfLiteEvalTensor per tensor (" + std::to_string(f.tensors.size()) + ")"));
    EXPECT_TRUE(has_item("NodeAndRegistration per operator (" + std::to_string(f.ops.size()) + ")"));
  }
}

// `x` (HWC int8 map of shape s) padded with `fill` as a PAD of `pad` writes it.
inline std::vector<int8_t> pad_map(const std::vector<int8_t>& x, const Shape& s, const PadAmounts& pad, int8_t fill) {
  const int h = s.h + pad.top + pad.bottom, w = s.w + pad.left + pad.right;
  std::vector<int8_t> y(size_t(h) * size_t(w) * size_t(s.c), fill);
  for (int r = 0; r < s.h; ++r)
    for (int c = 0; c < s.w; ++c)
      for (int k = 0; k < s.c; ++k)
        y[(size_t(r + pad.top) * size_t(w) + size_t(c + pad.left)) * size_t(s.c) + size_t(k)] =
            x[(size_t(r) * size_t(s.w) + size_t(c)) * size_t(s.c) + size_t(k)];
  return y;
}

// Arm NN 20.08 (Debian's, our TFLite verifier) fills an int8 PAD with 0 instead of the zero
// point that TFLite and TFLite Micro use (Arm NN 21.02 fixed its parser). So that it can check
// everything else bit for bit, q is re-quantised for it with zero point 0 on every tensor a PAD
// reads (and on the tensors sharing its parameters). The zero-point fill itself is checked
// against the integer reference for any zero point by TfliteExport.PadWithTheZeroPointThenValid*.
inline QuantizedModel with_zero_point_0_under_pads(QuantizedModel q) {
  const Graph& g = q.graph;
  auto shares_input = [](OpKind k) {  // as quantize_model: the output keeps the input's parameters
    return k == OpKind::MaxPool || k == OpKind::AvgPool || k == OpKind::GlobalAvgPool || k == OpKind::Flatten ||
           k == OpKind::Dropout || k == OpKind::ReLU || k == OpKind::ReLU6;
  };
  std::vector<bool> moved(g.nodes.size(), false);
  for (size_t i = 1; i < g.nodes.size(); ++i) {
    const OpKind k = g.nodes[i].kind;
    if (k != OpKind::Conv2D && k != OpKind::DepthwiseConv2D && k != OpKind::MaxPool && k != OpKind::AvgPool) continue;
    if (tflite_padding(g, int(i)).kind != TflitePadKind::PadOp) continue;
    int src = g.nodes[i].inputs[0];
    while (src > 0 && shares_input(g.nodes[size_t(src)].kind)) src = g.nodes[size_t(src)].inputs[0];
    moved[size_t(src)] = true;
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (i > 0 && shares_input(g.nodes[i].kind) && moved[size_t(g.nodes[i].inputs[0])]) moved[i] = true;
    if (moved[i]) q.activations[i].zero_point = 0;
  }
  return q;
}

// A model from elsewhere, through the whole TFLite path: folded, int8-quantised on `samples`,
// exported in the deployment order of `runtime` (a TFLite runtime), the file checked against
// the profile (above), then run by Arm NN on `samples` (zero points under PADs moved to 0, see
// above): every operator equal to the integer reference fed Arm NN's inputs (1 LSB allowed
// only where may_round_differently), every PAD exactly its input padded with the zero point.
// Returns the number of PAD operators written.
inline int expect_tflite_runs_as_the_reference(const Graph& g, const WeightMap& w,
                                               const std::vector<std::vector<float>>& samples,
                                               const std::string& runtime = "tflm") {
  const FoldedModel f = fold_for_inference(g, w);
  const QuantizedModel q = quantize_model(f, samples);
  const Graph& fg = q.graph;
  ProfileOptions po;
  po.runtime = runtime;
  const Profile p = profile_graph(fg, find_board("nucleo-f446re"), po);
  TfliteOptions opt;
  opt.order = deployment_order(p);
  const std::string file = export_tflite(q, opt);
  const TfliteFile tf = read_tflite(file);
  expect_file_is_the_deployment_view(tf, p);
  EXPECT_GE(p.flash_bytes, int64_t(file.size())) << "the flash model must bound the file";
  int pads = 0;
  for (const auto& op : tf.ops) pads += op.code == tfl::kPad;

  const QuantizedModel qa = with_zero_point_0_under_pads(q);
  opt.all_outputs = true;
  ArmnnModel debug(export_tflite(qa, opt));
  OpAgreement st;
  int worst = 0;
  for (const auto& x : samples) {
    const std::vector<int8_t> xq = quantize_input(qa, x);
    const ArmnnOutputs a = debug.run(xq.data(), xq.size());
    std::vector<std::vector<int8_t>> theirs(fg.nodes.size());
    theirs[0] = xq;
    for (size_t i = 1; i < fg.nodes.size(); ++i) {
      auto it = a.int8.find(fg.nodes[i].name);
      if (it == a.int8.end()) {
        ADD_FAILURE() << "no Arm NN output for " << fg.nodes[i].name;
        return pads;
      }
      theirs[i] = it->second;
    }
    compare_each_operator(qa, theirs, may_round_differently, "Arm NN", st);
    for (const DeployedOp& op : p.deployed.ops) {
      if (op.kind != DeployedKind::Pad) continue;
      const Node& n = fg.nodes[size_t(op.ir_node)];
      const int in = n.inputs[0];
      const Shape& is = fg.nodes[size_t(in)].out;
      const auto want = pad_map(theirs[size_t(in)], is, Graph::pad_amounts(n, is),
                                int8_t(qa.activations[size_t(in)].zero_point));
      auto it = a.int8.find(op.name);
      if (it == a.int8.end()) {
        ADD_FAILURE() << "no Arm NN output for " << op.name;
        continue;
      }
      EXPECT_EQ(it->second, want) << op.name << ": PAD must fill with the zero point "
                                  << qa.activations[size_t(in)].zero_point;
    }
    const auto ref = int8_forward(qa, xq)[size_t(fg.output)];
    for (size_t k = 0; k < ref.size(); ++k)
      worst = std::max(worst, std::abs(int(ref[k]) - int(theirs[size_t(fg.output)][k])));
  }
  // End to end (printed, not bounded: a 1-LSB tie early on can grow through the layers).
  std::printf("[ armnn ] %s (%s): %d PAD ops; ops: %lld values, %lld off by 1 (%lld in average pools); output "
              "worst |diff| %d\n",
              fg.name.c_str(), runtime.c_str(), pads, (long long)st.values, (long long)st.off_by_one,
              (long long)st.off_by_one_in_average_pools, worst);
  // Requantisation ties are rare (at most 1% of values); an average pool over an even count
  // ties far more often (a quarter of 2x2 sums), and Arm NN breaks ties the other way.
  const int64_t requant_ties = st.off_by_one - st.off_by_one_in_average_pools;
  EXPECT_LE(requant_ties * 100, st.values) << requant_ties << " of " << st.values << " values off by one";
  return pads;
}

}  // namespace mcuprune::test
