// Patch plans (resources/patch.h): the windows are right (an integer reference run patch by
// patch gives the stage's output of a layer-by-layer run, bit for bit, on random graphs), and
// the memory and MAC figures follow the documented rule.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/random_graph.h"
#include "graph/graph.h"
#include "graph/zoo.h"
#include "resources/board.h"
#include "resources/deployed.h"
#include "resources/formulas.h"
#include "resources/patch.h"
#include "resources/profile.h"

namespace mcuprune {
namespace {

// ---- an integer reference executor over the deployed view ------------------------------
// Values are int64; every op's result is reduced modulo 997 so that deep graphs stay small.
// Weights come from a hash of (op, indices): both executions see the same network.

struct Buffer {  // a window of a tensor: rows [y0, y0 + h), columns [x0, x0 + w), HWC
  int y0 = 0, x0 = 0, h = 0, w = 0, c = 0;
  std::vector<int64_t> v;
  bool holds(int y, int x) const { return y >= y0 && y < y0 + h && x >= x0 && x < x0 + w; }
  int64_t& at(int y, int x, int ch) { return v[(size_t(y - y0) * size_t(w) + size_t(x - x0)) * size_t(c) + size_t(ch)]; }
  int64_t get(int y, int x, int ch) const {
    return v[(size_t(y - y0) * size_t(w) + size_t(x - x0)) * size_t(c) + size_t(ch)];
  }
};

int64_t weight(int op, int a, int b, int c, int d) {
  uint64_t h = uint64_t(op) * 0x9E3779B97F4A7C15ull ^ uint64_t(a) * 0xBF58476D1CE4E5B9ull ^
               uint64_t(b) * 0x94D049BB133111EBull ^ uint64_t(c) * 0x2545F4914F6CDD1Dull ^ uint64_t(d + 7);
  h ^= h >> 29;
  return int64_t(h % 5) - 2;
}

int64_t reduce(int64_t v) { return ((v % 997) + 997) % 997 - 498; }

// Computes window `out` of op o from the input buffers. A read inside the map but outside the
// buffer that holds it is a geometry error: the test fails.
void run_op(const DeployedGraph& d, int o, const std::vector<const Buffer*>& in, Buffer& out, bool& bad_read) {
  const DeployedOp& op = d.ops[size_t(o)];
  const Shape& is = d.tensors[size_t(op.inputs[0])].shape;
  const Node* n = op.ir_node >= 0 ? &d.graph->nodes[size_t(op.ir_node)] : nullptr;
  for (int y = out.y0; y < out.y0 + out.h; ++y)
    for (int x = out.x0; x < out.x0 + out.w; ++x)
      for (int co = 0; co < out.c; ++co) {
        int64_t acc = 0;
        switch (op.kind) {
          case DeployedKind::Conv2D:
          case DeployedKind::DepthwiseConv2D:
          case DeployedKind::MaxPool:
          case DeployedKind::AvgPool: {
            const PadAmounts p = Graph::pad_amounts(*n, is);
            const bool conv = op.kind == DeployedKind::Conv2D;
            const bool dw = op.kind == DeployedKind::DepthwiseConv2D;
            int64_t best = INT64_MIN, count = 0;
            for (int ky = 0; ky < n->kernel_h; ++ky)
              for (int kx = 0; kx < n->kernel_w; ++kx) {
                const int iy = y * n->stride_h - p.top + ky * n->dilation_h;
                const int ix = x * n->stride_w - p.left + kx * n->dilation_w;
                if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;  // padding
                if (!in[0]->holds(iy, ix)) {
                  bad_read = true;
                  continue;
                }
                ++count;
                if (conv) {
                  for (int ci = 0; ci < is.c; ++ci) acc += in[0]->get(iy, ix, ci) * weight(o, co, ky, kx, ci);
                } else if (dw) {
                  acc += in[0]->get(iy, ix, co) * weight(o, co, ky, kx, 0);
                } else {
                  best = std::max(best, in[0]->get(iy, ix, co));
                  acc += in[0]->get(iy, ix, co);
                }
              }
            if (op.kind == DeployedKind::MaxPool) acc = count ? best : 0;
            if (op.kind == DeployedKind::AvgPool) acc = count ? acc / count : 0;
            if (conv || dw) acc += weight(o, co, -1, -1, -1);
            break;
          }
          case DeployedKind::Add:
            for (const Buffer* b : in) {
              if (!b->holds(y, x)) bad_read = true;
              else acc += b->get(y, x, co);
            }
            break;
          case DeployedKind::Concat: {
            int base = 0;
            for (const Buffer* b : in) {
              if (co >= base && co < base + b->c) {
                if (!b->holds(y, x)) bad_read = true;
                else acc = b->get(y, x, co - base);
              }
              base += b->c;
            }
            break;
          }
          case DeployedKind::Activation:
            if (!in[0]->holds(y, x)) bad_read = true;
            else acc = std::max<int64_t>(0, in[0]->get(y, x, co));
            break;
          default:
            ADD_FAILURE() << "op kind outside a stage: " << deployed_kind_name(op.kind);
        }
        if (op.activation != Activation::None) acc = std::max<int64_t>(0, acc);
        out.at(y, x, co) = reduce(acc);
      }
}

Buffer make_buffer(const Shape& s, const PatchWindow& w) {
  Buffer b;
  b.y0 = w.y0, b.x0 = w.x0, b.h = w.y1 - w.y0 + 1, b.w = w.x1 - w.x0 + 1, b.c = s.c;
  b.v.assign(size_t(b.h) * size_t(b.w) * size_t(b.c), 0);
  return b;
}

Buffer random_input(const Shape& s, uint32_t seed) {
  Buffer b = make_buffer(s, PatchWindow{0, s.h - 1, 0, s.w - 1});
  std::mt19937 rng(seed);
  for (auto& v : b.v) v = int64_t(rng() % 255) - 127;
  return b;
}

// Layer by layer: every tensor of the stage whole.
Buffer layer_by_layer(const DeployedGraph& d, const PatchGeometry& g, const Buffer& input) {
  std::map<int, Buffer> t;
  t[d.input_tensor] = input;
  bool bad = false;
  for (int o : g.stage_ops) {
    const DeployedOp& op = d.ops[size_t(o)];
    const Shape& s = d.tensors[size_t(op.output)].shape;
    Buffer out = make_buffer(s, PatchWindow{0, s.h - 1, 0, s.w - 1});
    std::vector<const Buffer*> in;
    for (int i : op.inputs) in.push_back(&t.at(i));
    run_op(d, o, in, out, bad);
    t[op.output] = std::move(out);
  }
  EXPECT_FALSE(bad);
  return t.at(g.cut);
}

// Patch by patch: each op computes only its window, from its inputs' windows.
Buffer patch_by_patch(const DeployedGraph& d, const PatchGeometry& g, const Buffer& input, bool& bad_read) {
  const Shape& cs = d.tensors[size_t(g.cut)].shape;
  Buffer cut = make_buffer(cs, PatchWindow{0, cs.h - 1, 0, cs.w - 1});
  for (const std::vector<PatchWindow>& w : g.windows) {
    std::map<int, Buffer> t;
    Buffer in_window = make_buffer(d.tensors[size_t(d.input_tensor)].shape, w[size_t(d.input_tensor)]);
    for (int y = in_window.y0; y < in_window.y0 + in_window.h; ++y)
      for (int x = in_window.x0; x < in_window.x0 + in_window.w; ++x)
        for (int c = 0; c < in_window.c; ++c) in_window.at(y, x, c) = input.get(y, x, c);
    t[d.input_tensor] = std::move(in_window);
    for (int o : g.stage_ops) {
      const DeployedOp& op = d.ops[size_t(o)];
      Buffer out = make_buffer(d.tensors[size_t(op.output)].shape, w[size_t(op.output)]);
      EXPECT_LE(int64_t(out.h) * out.w, g.window_area[size_t(op.output)]);
      std::vector<const Buffer*> in;
      for (int i : op.inputs) in.push_back(&t.at(i));
      run_op(d, o, in, out, bad_read);
      t[op.output] = std::move(out);
    }
    const Buffer& part = t.at(g.cut);
    for (int y = part.y0; y < part.y0 + part.h; ++y)
      for (int x = part.x0; x < part.x0 + part.w; ++x)
        for (int c = 0; c < part.c; ++c) cut.at(y, x, c) = part.get(y, x, c);
  }
  return cut;
}

TEST(Patch, PatchByPatchEqualsLayerByLayerOnRandomGraphs) {
  std::mt19937 rng(20261203);
  int plans = 0, copied = 0, with_add = 0;
  for (int trial = 0; trial < 60; ++trial) {
    Graph graph = test::random_spatial_graph(rng);
    graph.infer_shapes();
    const DeployedGraph d = deploy_view(graph);
    const Buffer input = random_input(d.tensors[size_t(d.input_tensor)].shape, uint32_t(trial));
    for (size_t t = 0; t < d.tensors.size(); ++t) {
      if (!patch_cut_problem(d, int(t)).empty()) continue;
      const Shape& cs = d.tensors[t].shape;
      const int rows = 1 + int(rng() % uint32_t(std::min(8, cs.h)));
      const int cols = 1 + int(rng() % uint32_t(std::min(8, cs.w)));
      const PatchGeometry g = patch_geometry(d, int(t), rows, cols);
      const Buffer want = layer_by_layer(d, g, input);
      bool bad_read = false;
      const Buffer got = patch_by_patch(d, g, input, bad_read);
      ASSERT_FALSE(bad_read) << "a window misses data it needs: trial " << trial << ", cut " << d.tensors[t].name
                             << ", grid " << rows << "x" << cols;
      ASSERT_EQ(got.v, want.v) << "trial " << trial << ", cut " << d.tensors[t].name << ", grid " << rows << "x" << cols;
      ++plans;
      copied += g.copy_windows();
      for (int o : g.stage_ops) with_add += d.ops[size_t(o)].kind == DeployedKind::Add;
    }
  }
  EXPECT_GT(plans, 100);  // the generator produces enough valid cuts
  EXPECT_GT(copied, 20);
  EXPECT_GT(with_add, 10);
}

// input 8x8x1 -> conv 3x3 same, 2 channels (a) -> conv 3x3 stride 2 same, 4 channels (b) -> head.
Graph chain() {
  GraphBuilder b("chain", {8, 8, 1});
  int x = b.conv(0, 2, 3, 1, Padding::Same, "a");
  x = b.conv(x, 4, 3, 2, Padding::Same, "b");
  x = b.flatten(x, "flat");
  b.dense(x, 3, "fc");
  return b.finish();
}

TEST(Patch, WindowsAndFiguresOfAChainByHand) {
  Graph graph = chain();
  graph.infer_shapes();
  const DeployedGraph d = deploy_view(graph);
  const int b = find_cut_tensor(d, "b");
  const int a = find_cut_tensor(d, "a");
  // b is 4x4; a 2x1 grid: rows [0,1] and [2,3] of b. b's pad: SAME, stride 2, kernel 3 on 8
  // -> total pad max(0, (4-1)*2 + 3 - 8) = 1: top 0, bottom 1. Rows [0,1] of b need rows
  // [0, 1*2 + 2] = [0, 4] of a; a (SAME, stride 1, pad 1) rows [0, 4] need input rows [0, 5].
  // Rows [2,3] of b need a's rows [4, 8] clipped to [4, 7], the input's [3, 7].
  const PatchGeometry g = patch_geometry(d, b, 2, 1);
  ASSERT_EQ(g.windows.size(), 2u);
  EXPECT_EQ(g.windows[0][size_t(a)].y0, 0);
  EXPECT_EQ(g.windows[0][size_t(a)].y1, 4);
  EXPECT_EQ(g.windows[1][size_t(a)].y0, 4);
  EXPECT_EQ(g.windows[1][size_t(a)].y1, 7);
  EXPECT_EQ(g.windows[0][size_t(d.input_tensor)].y1, 5);
  EXPECT_EQ(g.windows[1][size_t(d.input_tensor)].y0, 3);
  EXPECT_EQ(g.windows[0][size_t(a)].x0, 0);
  EXPECT_EQ(g.windows[0][size_t(a)].x1, 7);  // one column of patches: full rows
  EXPECT_EQ(g.window_area[size_t(a)], 5 * 8);
  EXPECT_EQ(g.op_area[size_t(d.tensors[size_t(a)].producer)], (5 + 4) * 8);  // row 4 twice: the halo
  EXPECT_FALSE(g.copy_windows());

  const Board board = find_board("nucleo-f446re");
  RuntimeProfile rt = find_runtime("mcuprune");
  // The conv kernels' im2col scratch, 4 * 3 * 3 * cin + 15 bytes while each runs: conv a
  // (cin 1) 51, conv b (cin 2) 87.
  const PatchFigures fs = patch_figures(d, g, rt, board, false);
  ASSERT_EQ(fs.stage_steps.size(), 2u);
  EXPECT_EQ(fs.stage_steps[0], 64 + 64 + 80 + 51);
  EXPECT_EQ(fs.stage_steps[1], 64 + 64 + 80 + 87);
  EXPECT_EQ(fs.peak_bytes, 64 + 64 + 80 + 87);
  // The figures below: the scratch-free kernels.
  rt.kernel_scratch_buffers = false;
  const PatchFigures f = patch_figures(d, g, rt, board, false);
  // Stage steps: conv a: input 64 + cut b 4*4*4 = 64 + a's window 5*8*2 = 80 -> 208;
  // conv b: the same buffers (a's window is read) -> 208.
  ASSERT_EQ(f.stage_steps.size(), 2u);
  EXPECT_EQ(f.stage_steps[0], 64 + 64 + 80);
  EXPECT_EQ(f.stage_steps[1], 64 + 64 + 80);
  // Layer by layer: conv a holds input 64 + a 128 = 192; conv b: a 128 + b 64 = 192.
  // The rest: flat and fc: b 64 + flat 64, then flat 64 + fc 3.
  EXPECT_EQ(f.rest_peak, 128);
  EXPECT_EQ(f.peak_bytes, 208);  // patches cost more memory than they save on this tiny graph
  // MACs: a is 1*2*9 per pixel over 72 pixels instead of 64; b unchanged (its 16 pixels once).
  EXPECT_EQ(f.layer_macs + 18 * 8, f.macs);
  // windows: 2 patches x 3 tensors x 4 int16; 3 tensor records of 16 B; 2 op inputs; the plan's record
  EXPECT_EQ(f.table_bytes, 2 * 3 * 8 + 3 * 16 + 2 * 4 + 24);
  // Two columns: the input's and the cut's windows are copied, and counted.
  const PatchGeometry g2 = patch_geometry(d, b, 1, 2);
  EXPECT_TRUE(g2.copy_windows());
  const PatchFigures f2 = patch_figures(d, g2, rt, board, false);
  // Columns [0,1] of b need a's columns [0,4] and the input's [0,5]: windows of 8x6 input,
  // 8x5x2 of a, 4x2x4 of b's copy buffer. Step a: 64 + 64 + 48 + 80 + 32 (the cut window
  // lives from its producer on, but conv a runs first: 64 + 64 + 48 + 80 = 256; step b:
  // input window (read by a only: dead) -> 64 + 64 + 80 + 32 = 240.
  EXPECT_EQ(f2.stage_steps[0], 64 + 64 + 48 + 80);
  EXPECT_EQ(f2.stage_steps[1], 64 + 64 + 80 + 32);
}

TEST(Patch, CutsThatCannotEndAStageAreRefusedWithTheReason) {
  Graph graph = chain();
  graph.infer_shapes();
  const DeployedGraph d = deploy_view(graph);
  EXPECT_NE(patch_cut_problem(d, d.input_tensor).find("model input"), std::string::npos);
  const int flat = find_cut_tensor(d, "flat");
  EXPECT_NE(patch_cut_problem(d, flat).find("single pixel"), std::string::npos);
  EXPECT_THROW(patch_geometry(d, find_cut_tensor(d, "b"), 5, 1), UserError);  // b has 4 rows
  EXPECT_THROW(find_cut_tensor(d, "nope"), UserError);
  EXPECT_THROW(parse_patch_spec("4x4"), UserError);
  EXPECT_THROW(parse_patch_spec("0x4@b"), UserError);
  EXPECT_THROW(parse_patch_spec("ax4@b"), UserError);
  const PatchSpec s = parse_patch_spec("3x2@b");
  EXPECT_EQ(s.kind, PatchSpec::Fixed);
  EXPECT_EQ(s.rows, 3);
  EXPECT_EQ(s.cols, 2);
  EXPECT_EQ(s.tensor, "b");
  // A tensor of the prefix read after the stage: a skip over the cut.
  GraphBuilder b2("skip", {8, 8, 1});
  int a = b2.conv(0, 2, 3, 1, Padding::Same, "a");
  int c = b2.conv(a, 2, 3, 1, Padding::Same, "c");
  int e = b2.conv(c, 2, 3, 1, Padding::Same, "e");
  int s2 = b2.add({a, e}, "sum");
  b2.dense(b2.flatten(s2), 3, "fc");
  Graph sg = b2.finish();
  sg.infer_shapes();
  const DeployedGraph sd = deploy_view(sg);
  EXPECT_NE(patch_cut_problem(sd, find_cut_tensor(sd, "c")).find("also read by"), std::string::npos);
  EXPECT_EQ(patch_cut_problem(sd, find_cut_tensor(sd, "sum")), "");
}

TEST(Patch, ProfileUsesThePlanOnlyWhereTheRuntimeRunsIt) {
  ZooOptions zo;
  zo.input = {28, 28, 1};
  zo.classes = 10;
  const Graph vgg = zoo_build("vgg", zo);
  const Board board = find_board("nucleo-f446re");
  ProfileOptions o;
  o.runtime = "mcuprune";
  const Profile layer = profile_graph(vgg, board, o);
  EXPECT_FALSE(layer.patch);
  o.patch = "auto";
  const Profile patched = profile_graph(vgg, board, o);
  ASSERT_TRUE(patched.patch);
  EXPECT_LT(patched.used.peak_bytes, layer.used.peak_bytes);
  EXPECT_EQ(patched.used.peak_bytes, patched.patch->peak_bytes);
  EXPECT_LE(patched.macs, int64_t(double(layer.macs) * 1.2));
  EXPECT_GT(patched.macs, layer.macs);
  EXPECT_EQ(patched.flash_bytes, layer.flash_bytes + patched.patch->table_bytes);
  // Rows: the stage's rows are marked, their live bytes add up to the step.
  int stage_rows = 0;
  for (const OpRow& r : patched.rows) {
    int64_t sum = r.scratch_bytes;
    for (int64_t v : r.live_bytes_of) sum += v;
    EXPECT_EQ(sum, r.live_bytes) << r.name;
    stage_rows += r.patched;
  }
  EXPECT_EQ(stage_rows, int(patched.patch->geometry.stage_ops.size()));
  // A TFLite runtime keeps layer-by-layer execution and says so.
  o.runtime = "tflm";
  const Profile tflm = profile_graph(vgg, board, o);
  EXPECT_FALSE(tflm.patch);
  EXPECT_NE(tflm.patch_note.find("layer by layer"), std::string::npos);
  // Auto within a 0% MAC cap: no plan can recompute a halo.
  o.runtime = "mcuprune";
  o.patch_max_overhead = 0;
  const Profile capped = profile_graph(vgg, board, o);
  if (capped.patch) EXPECT_EQ(capped.macs, layer.macs);
  else EXPECT_NE(capped.patch_note.find("none of"), std::string::npos);
}

}  // namespace
}  // namespace mcuprune
