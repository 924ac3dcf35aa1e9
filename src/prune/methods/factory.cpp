// The methods by name (--method): one file per method in this folder, one line here.
#include "prune/internal.h"

namespace mcuprune::prune_detail {

std::unique_ptr<Method> make_method(const PruneConfig& c, const Target& t) {
  if (c.method == "diff") return make_diff_method(c, t, true);
  if (c.method == "unaware") return make_diff_method(c, t, false);
  if (c.method == "uniform") return make_uniform_method(c, t);
  if (c.method == "magnitude") return make_magnitude_method(c, t);
  if (c.method == "dpf") return make_dpf_method(c, t);
  throw UserError("--method must be one of diff, uniform, magnitude, dpf, unaware; got '" + c.method + "'");
}

}  // namespace mcuprune::prune_detail
