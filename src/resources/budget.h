// The resources mcuprune models and the one encoding of budgets on them, used alike by
// `profile`, `prune` and every report: a Resource names a quantity (with its report key,
// unit and formatting), ResourceUse is what a model costs, Budgets are the limits in force,
// BudgetCheck compares the two.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mcuprune {

enum class Resource : int { Ram = 0, Flash = 1, Macs = 2, Latency = 3 };
inline constexpr int kResourceCount = 4;
inline constexpr std::array<Resource, kResourceCount> kResources = {Resource::Ram, Resource::Flash, Resource::Macs,
                                                                    Resource::Latency};

const char* resource_name(Resource r);  // "ram", "flash", "macs", "latency" (--minimize, reports)
const char* resource_unit(Resource r);  // "bytes", "bytes", "MACs", "ms"
const char* resource_key(Resource r);   // "ram_bytes", "flash_bytes", "macs", "latency_ms" (JSON keys)
std::optional<Resource> resource_from_name(const std::string& name);
// "12.3 KiB", "5000 MACs", "1.234 ms".
std::string format_resource(Resource r, double value);
std::string format_bytes(int64_t bytes);  // "12.3 KiB"

// What a model costs under the exact resource model (optimal operator order).
struct ResourceUse {
  int64_t ram_bytes = 0, flash_bytes = 0, macs = 0;
  double latency_ms = 0;
  int64_t params = 0;      // deployable parameters (the MCU-unaware objective)
  std::string bottleneck;  // operator at the peak-memory step
  double operator[](Resource r) const;
};
nlohmann::json resource_use_to_json(const ResourceUse& u);
ResourceUse resource_use_from_json(const nlohmann::json& j);  // throws json::exception

// Limits on resources: none, some or all of them.
struct Budgets {
  std::array<std::optional<double>, kResourceCount> limit{};
  std::optional<double>& operator[](Resource r) { return limit[size_t(r)]; }
  const std::optional<double>& operator[](Resource r) const { return limit[size_t(r)]; }
  bool any() const;
};
// {"ram_bytes": ..., ...}: only the budgets that are set.
nlohmann::json budgets_to_json(const Budgets& b);
Budgets budgets_from_json(const nlohmann::json& j);  // throws json::exception
// True when every budget that is set holds.
bool meets(const ResourceUse& use, const Budgets& b);

struct BudgetCheck {
  Resource resource = Resource::Ram;
  double used = 0, budget = 0;
  bool fits = false;
  double margin = 0;   // budget - used (negative: over budget)
  std::string source;  // "option" (given by the user) or "board"
};
// One check per budget in `in_force`, in resource order; a budget is from "option" when
// `given` sets it, else from "board".
std::vector<BudgetCheck> check_budgets(const ResourceUse& use, const Budgets& in_force, const Budgets& given);
nlohmann::json budget_check_to_json(const BudgetCheck& c);

}  // namespace mcuprune
