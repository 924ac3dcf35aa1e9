// Channel-group analysis (union-find over groups, segment layouts per node) and surgery.
#include "graph/channel_groups.h"

#include <algorithm>
#include <functional>
#include <numeric>

namespace mcuprune {

namespace {

bool same_boundaries(const ChannelLayout& a, const ChannelLayout& b) {
  if (a.repeat != b.repeat || a.channels != b.channels || a.segments.size() != b.segments.size())
    return false;
  for (size_t k = 0; k < a.segments.size(); ++k)
    if (a.segments[k].offset != b.segments[k].offset || a.segments[k].count != b.segments[k].count)
      return false;
  return true;
}

// Channel indices (along a parameter axis laid out as `l`) that belong to `group` and are
// not kept.
std::vector<bool> kept_mask(const ChannelLayout& l, int group, const std::vector<bool>& keep) {
  std::vector<bool> mask(size_t(l.channels) * size_t(l.repeat), true);
  for (const ChannelSegment& s : l.segments) {
    if (s.group != group) continue;
    for (int k = 0; k < s.count; ++k)
      if (!keep[size_t(k)])
        for (int p = 0; p < l.repeat; ++p) mask[size_t(p) * l.channels + s.offset + k] = false;
  }
  return mask;
}

// Keeps the entries of axis `axis` whose mask is true.
void slice_axis(WeightTensor& t, int axis, const std::vector<bool>& mask, const std::string& name) {
  if (axis >= int(t.shape.size()) || t.shape[size_t(axis)] != int64_t(mask.size()))
    throw UserError("tensor '" + name + "' does not have " + std::to_string(mask.size()) +
                    " entries along axis " + std::to_string(axis) + "; it does not match the model");
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= t.shape[size_t(k)];
  for (size_t k = size_t(axis) + 1; k < t.shape.size(); ++k) inner *= t.shape[k];
  const int64_t n = t.shape[size_t(axis)];
  int64_t kept = std::count(mask.begin(), mask.end(), true);
  std::vector<float> out;
  out.reserve(size_t(outer * kept * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < n; ++c)
      if (mask[size_t(c)])
        out.insert(out.end(), t.data.begin() + (o * n + c) * inner,
                   t.data.begin() + (o * n + c + 1) * inner);
  t.data = std::move(out);
  t.shape[size_t(axis)] = kept;
}

// Axes of a parameter and the layout each follows.
std::vector<std::pair<int, const ChannelLayout*>> param_axes(const Graph& g, const ChannelGroups& cg,
                                                             int node, const std::string& param) {
  const Node& n = g.nodes[size_t(node)];
  const ChannelLayout& out = cg.layout[size_t(node)];
  std::vector<std::pair<int, const ChannelLayout*>> axes;
  switch (n.kind) {
    case OpKind::Conv2D:
    case OpKind::Dense:
      axes.push_back({0, &out});
      if (param == "weight") axes.push_back({1, &cg.layout[size_t(n.inputs[0])]});
      break;
    case OpKind::DepthwiseConv2D:
    case OpKind::BatchNorm:
      axes.push_back({0, &out});
      break;
    default:
      break;
  }
  return axes;
}

std::vector<bool> keep_flags(const ChannelGroup& grp, const std::vector<int>& keep) {
  if (!grp.prunable)
    throw UserError("channel group " + std::to_string(grp.id) + " cannot be pruned: " + grp.reason);
  if (keep.empty())
    throw UserError("pruning group " + std::to_string(grp.id) + " must keep at least one channel");
  std::vector<bool> flags(size_t(grp.channels), false);
  for (int k : keep) {
    if (k < 0 || k >= grp.channels)
      throw UserError("channel " + std::to_string(k) + " is outside group " +
                      std::to_string(grp.id) + " (0.." + std::to_string(grp.channels - 1) + ")");
    if (flags[size_t(k)])
      throw UserError("channel " + std::to_string(k) + " is listed twice for group " +
                      std::to_string(grp.id));
    flags[size_t(k)] = true;
  }
  return flags;
}

}  // namespace

int ChannelGroups::prunable_count() const {
  return int(std::count_if(groups.begin(), groups.end(), [](const ChannelGroup& g) { return g.prunable; }));
}

int round_up_width(int w, int round_to) { return round_to > 1 ? (w + round_to - 1) / round_to * round_to : w; }

ChannelGroups find_channel_groups(const Graph& g, int min_width, int round_to) {
  if (min_width < 1) throw UserError("minimum group width must be >= 1");
  if (round_to < 1) throw UserError("--round-to must be >= 1");
  const int n = int(g.nodes.size());
  std::vector<int> parent;
  std::vector<int> width;
  std::vector<std::string> reason;
  std::vector<std::vector<int>> producers, members, consumers;
  auto new_group = [&](int ch) {
    parent.push_back(int(parent.size()));
    width.push_back(ch);
    reason.emplace_back();
    producers.emplace_back();
    members.emplace_back();
    consumers.emplace_back();
    return int(parent.size()) - 1;
  };
  std::function<int(int)> find = [&](int a) { return parent[size_t(a)] == a ? a : parent[size_t(a)] = find(parent[size_t(a)]); };
  auto mark = [&](int grp, const std::string& why) {
    if (reason[size_t(grp)].empty()) reason[size_t(grp)] = why;
  };

  ChannelGroups cg;
  cg.layout.resize(size_t(n));
  auto single = [&](int grp, int ch) {
    ChannelLayout l;
    l.segments = {{grp, 0, ch}};
    l.channels = ch;
    return l;
  };
  auto add_member = [&](int node, const ChannelLayout& l) {
    for (const auto& s : l.segments) members[size_t(s.group)].push_back(node);
  };
  int in_group = new_group(g.nodes[0].out.c);
  mark(in_group, "touches the model input");
  cg.layout[0] = single(in_group, g.nodes[0].out.c);

  for (int i = 1; i < n; ++i) {
    const Node& nd = g.nodes[size_t(i)];
    const ChannelLayout& in = cg.layout[size_t(nd.inputs[0])];
    ChannelLayout& out = cg.layout[size_t(i)];
    switch (nd.kind) {
      case OpKind::Conv2D:
      case OpKind::Dense: {
        int grp = new_group(nd.out.c);
        out = single(grp, nd.out.c);
        producers[size_t(grp)].push_back(i);
        members[size_t(grp)].push_back(i);
        for (const auto& s : in.segments) consumers[size_t(s.group)].push_back(i);
        break;
      }
      case OpKind::DepthwiseConv2D:
        if (nd.depth_multiplier == 1) {
          out = in;
          add_member(i, out);
        } else {
          int grp = new_group(nd.out.c);
          out = single(grp, nd.out.c);
          members[size_t(grp)].push_back(i);
          mark(grp, "made by a depthwise convolution with multiplier > 1");
          for (const auto& s : in.segments) mark(s.group, "feeds a depthwise convolution with multiplier > 1");
        }
        break;
      case OpKind::Flatten:
        out = in;
        out.repeat = in.repeat * g.nodes[size_t(nd.inputs[0])].out.h * g.nodes[size_t(nd.inputs[0])].out.w;
        add_member(i, out);
        break;
      case OpKind::Add: {
        out = in;
        for (size_t k = 1; k < nd.inputs.size(); ++k) {
          const ChannelLayout& other = cg.layout[size_t(nd.inputs[k])];
          if (same_boundaries(in, other)) {
            for (size_t s = 0; s < in.segments.size(); ++s) {
              int a = find(in.segments[s].group), b = find(other.segments[s].group);
              if (a != b) parent[size_t(b)] = a;
            }
          } else {
            for (const auto& s : in.segments) mark(s.group, "added to differently grouped channels");
            for (const auto& s : other.segments) mark(s.group, "added to differently grouped channels");
          }
        }
        add_member(i, out);
        break;
      }
      case OpKind::Concat: {
        out = ChannelLayout();
        for (int src : nd.inputs) {
          const ChannelLayout& l = cg.layout[size_t(src)];
          if (l.repeat != 1)
            for (const auto& s : l.segments) mark(s.group, "concatenated after a flatten");
          for (ChannelSegment s : l.segments) {
            s.offset += out.channels;
            out.segments.push_back(s);
          }
          out.channels += l.channels * l.repeat;
        }
        add_member(i, out);
        break;
      }
      default:  // BatchNorm, activations, pools, global pool, dropout, softmax
        out = in;
        add_member(i, out);
        break;
    }
  }
  for (const auto& s : cg.layout[size_t(g.output)].segments) mark(s.group, "produces the model output");

  // Merge the union-find sets into final groups, numbered in order of first appearance.
  std::vector<int> final_id(parent.size(), -1);
  for (size_t r = 0; r < parent.size(); ++r) {
    int root = find(int(r));
    if (final_id[size_t(root)] < 0) {
      final_id[size_t(root)] = int(cg.groups.size());
      ChannelGroup grp;
      grp.id = int(cg.groups.size());
      grp.channels = width[size_t(root)];
      cg.groups.push_back(grp);
    }
    ChannelGroup& grp = cg.groups[size_t(final_id[size_t(root)])];
    if (!reason[r].empty() && grp.reason.empty()) grp.reason = reason[r];
    auto merge = [](std::vector<int>& dst, const std::vector<int>& src) {
      for (int v : src)
        if (std::find(dst.begin(), dst.end(), v) == dst.end()) dst.push_back(v);
    };
    merge(grp.producers, producers[r]);
    merge(grp.members, members[r]);
    merge(grp.consumers, consumers[r]);
  }
  for (ChannelGroup& grp : cg.groups) {
    grp.prunable = grp.reason.empty();
    std::sort(grp.producers.begin(), grp.producers.end());
    std::sort(grp.members.begin(), grp.members.end());
    std::sort(grp.consumers.begin(), grp.consumers.end());
    grp.min_channels = std::min(round_up_width(std::max(1, min_width), round_to), grp.channels);
  }
  for (ChannelLayout& l : cg.layout)
    for (ChannelSegment& s : l.segments) s.group = final_id[size_t(find(s.group))];
  return cg;
}

std::vector<int> designed_bottlenecks(const Graph& g, const ChannelGroups& cg) {
  std::vector<int> ids;
  for (const ChannelGroup& grp : cg.groups) {
    if (!grp.prunable || grp.producers.empty() || grp.consumers.empty()) continue;
    bool narrow = true;
    for (int p : grp.producers)
      for (int in : g.nodes[size_t(p)].inputs) {
        const ChannelLayout& l = cg.layout[size_t(in)];
        narrow = narrow && grp.channels < l.channels * l.repeat;  // what the producer reads
      }
    for (int c : grp.consumers) narrow = narrow && grp.channels < cg.layout[size_t(c)].channels;
    if (narrow) ids.push_back(grp.id);
  }
  return ids;
}

void slice_like_parameter(const Graph& g, const ChannelGroups& cg, int group,
                          const std::vector<int>& keep, const std::string& param_name,
                          WeightTensor& t) {
  const ChannelGroup& grp = cg.groups.at(size_t(group));
  std::vector<bool> flags = keep_flags(grp, keep);
  size_t dot = param_name.rfind('.');
  if (dot == std::string::npos) throw UserError("'" + param_name + "' is not a parameter name");
  int node = g.find(param_name.substr(0, dot));
  if (node < 0) throw UserError("parameter '" + param_name + "' names no node of the model");
  for (const auto& [axis, layout] : param_axes(g, cg, node, param_name.substr(dot + 1))) {
    bool touches = false;
    for (const auto& s : layout->segments) touches = touches || s.group == group;
    if (touches) slice_axis(t, axis, kept_mask(*layout, group, flags), param_name);
  }
}

Graph prune_group(const Graph& g, const ChannelGroups& cg, int group, const std::vector<int>& keep,
                  WeightMap* weights) {
  if (group < 0 || group >= int(cg.groups.size()))
    throw UserError("there is no channel group " + std::to_string(group));
  const ChannelGroup& grp = cg.groups[size_t(group)];
  std::vector<bool> flags = keep_flags(grp, keep);
  const int removed = grp.channels - int(keep.size());
  Graph out = g;
  for (int p : grp.producers) out.nodes[size_t(p)].out_channels -= removed;
  if (weights) {
    for (auto& [name, t] : *weights) {
      size_t dot = name.rfind('.');
      int node = dot == std::string::npos ? -1 : g.find(name.substr(0, dot));
      if (node < 0) continue;
      for (const auto& [axis, layout] : param_axes(g, cg, node, name.substr(dot + 1))) {
        bool touches = false;
        for (const auto& s : layout->segments) touches = touches || s.group == group;
        if (touches) slice_axis(t, axis, kept_mask(*layout, group, flags), name);
      }
    }
  }
  out.infer_shapes();
  if (weights) check_weights_match(out, *weights, "pruned weights");
  return out;
}

}  // namespace mcuprune
