// Channel groups: maximal sets of channel dimensions that structured pruning must keep or
// remove together (METHOD.md section 2), and surgery that removes channels from a group.
//
// Every node's output channel axis is described as a layout: a list of segments, each a
// run of channels of one group. A conv/dense starts a new group; BatchNorm, activations,
// pools, dropout, softmax and depthwise (multiplier 1) pass their input's layout through;
// Add ties its inputs' groups segment by segment (residual coupling); Concat places its
// inputs' layouts one after another (offsets); Flatten repeats its input's layout once per
// spatial position (HWC order: feature = position * C + channel), which is how a pruned
// channel reaches the Dense after it. Groups that touch the model input or the output are
// not prunable.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/weights.h"

namespace mcuprune {

struct ChannelSegment {
  int group = 0;
  int offset = 0;  // first channel of the segment within the node's channel axis
  int count = 0;
};

struct ChannelLayout {
  std::vector<ChannelSegment> segments;  // cover [0, channels) in order
  int channels = 0;                      // channels per spatial position
  int repeat = 1;                        // > 1 only after a flatten: positions
};

struct ChannelGroup {
  int id = 0;
  int channels = 0;
  bool prunable = true;
  std::string reason;               // why not, when not prunable
  std::vector<int> producers;       // conv/dense nodes whose outputs are this group
  std::vector<int> members;         // every node whose output holds the group
  std::vector<int> consumers;       // conv/dense nodes reading the group as input channels
  int min_channels = 1;             // the smallest width pruning may leave
};

struct ChannelGroups {
  std::vector<ChannelGroup> groups;
  std::vector<ChannelLayout> layout;  // per node: its output channels
  int prunable_count() const;
};

// w rounded up to a multiple of round_to (w itself when round_to <= 1): the widths --round-to allows.
int round_up_width(int w, int round_to);

// Finds the groups. min_width: the narrowest a group may become; round_to: widths kept at
// multiples of this (SIMD kernels), never below min_width.
ChannelGroups find_channel_groups(const Graph& g, int min_width = 1, int round_to = 1);

// The prunable groups narrower than every tensor their producers read and every tensor their
// consumers write: a bottleneck the designer put there on purpose (MobileNetV2's block
// outputs, the linear bottlenecks between its wide expansions), through which everything
// after it passes. Ids of `groups`, ascending. Needs at least one producer and one consumer.
std::vector<int> designed_bottlenecks(const Graph& g, const ChannelGroups& groups);

// Removes every channel of `group` not listed in `keep` (indices in [0, channels), any
// order, no duplicates, at least one): returns the smaller graph; `weights` (if non-null)
// are sliced to match. Throws UserError for an unprunable group or a bad keep list.
Graph prune_group(const Graph& g, const ChannelGroups& groups, int group,
                  const std::vector<int>& keep, WeightMap* weights);

// The same slicing for any tensor shaped like parameter `param_name` (e.g. an optimizer's
// moment buffers): applies the axis cuts that prune_group applies to that parameter.
void slice_like_parameter(const Graph& g, const ChannelGroups& groups, int group,
                          const std::vector<int>& keep, const std::string& param_name,
                          WeightTensor& t);

}  // namespace mcuprune
