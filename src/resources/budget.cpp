#include "resources/budget.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace mcuprune {

using nlohmann::json;

namespace {
const char* const kNames[kResourceCount] = {"ram", "flash", "macs", "latency"};
const char* const kUnits[kResourceCount] = {"bytes", "bytes", "MACs", "ms"};
const char* const kKeys[kResourceCount] = {"ram_bytes", "flash_bytes", "macs", "latency_ms"};
}  // namespace

const char* resource_name(Resource r) { return kNames[int(r)]; }
const char* resource_unit(Resource r) { return kUnits[int(r)]; }
const char* resource_key(Resource r) { return kKeys[int(r)]; }

std::optional<Resource> resource_from_name(const std::string& name) {
  for (Resource r : kResources)
    if (name == kNames[int(r)]) return r;
  return std::nullopt;
}

std::string format_bytes(int64_t b) {
  char buf[32];
  if (b < 1024) std::snprintf(buf, sizeof buf, "%lld B", (long long)b);
  else if (b < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.2f MiB", double(b) / (1024.0 * 1024.0));
  return buf;
}

std::string format_resource(Resource r, double v) {
  char buf[64];
  if (r == Resource::Ram || r == Resource::Flash) return format_bytes(int64_t(v));
  if (r == Resource::Macs) std::snprintf(buf, sizeof buf, "%.0f MACs", v);
  else std::snprintf(buf, sizeof buf, "%.3f ms", v);
  return buf;
}

double ResourceUse::operator[](Resource r) const {
  switch (r) {
    case Resource::Ram: return double(ram_bytes);
    case Resource::Flash: return double(flash_bytes);
    case Resource::Macs: return double(macs);
    case Resource::Latency: return latency_ms;
  }
  return 0;
}

json resource_use_to_json(const ResourceUse& u) {
  return {{"ram_bytes", u.ram_bytes}, {"flash_bytes", u.flash_bytes}, {"macs", u.macs},
          {"latency_ms", u.latency_ms}, {"params", u.params}, {"bottleneck", u.bottleneck}};
}

ResourceUse resource_use_from_json(const json& j) {
  ResourceUse u;
  u.ram_bytes = j.at("ram_bytes");
  u.flash_bytes = j.at("flash_bytes");
  u.macs = j.at("macs");
  u.latency_ms = j.at("latency_ms");
  u.params = j.value("params", int64_t(0));
  u.bottleneck = j.value("bottleneck", std::string());
  return u;
}

bool Budgets::any() const {
  for (const auto& l : limit)
    if (l) return true;
  return false;
}

json budgets_to_json(const Budgets& b) {
  json j = json::object();
  for (Resource r : kResources)
    if (b[r]) {
      if (r == Resource::Latency) j[resource_key(r)] = *b[r];
      else j[resource_key(r)] = int64_t(*b[r]);
    }
  return j;
}

Budgets budgets_from_json(const json& j) {
  Budgets b;
  for (Resource r : kResources)
    if (j.contains(resource_key(r))) b[r] = j.at(resource_key(r)).get<double>();
  return b;
}

bool meets(const ResourceUse& use, const Budgets& b) {
  for (Resource r : kResources)
    if (b[r] && use[r] > *b[r]) return false;
  return true;
}

std::vector<BudgetCheck> check_budgets(const ResourceUse& use, const Budgets& in_force, const Budgets& given) {
  std::vector<BudgetCheck> out;
  for (Resource r : kResources)
    if (in_force[r]) {
      const double used = use[r], budget = *in_force[r];
      out.push_back({r, used, budget, used <= budget, budget - used, given[r] ? "option" : "board"});
    }
  return out;
}

json budget_check_to_json(const BudgetCheck& c) {
  return {{"resource", resource_name(c.resource)}, {"unit", resource_unit(c.resource)}, {"used", c.used},
          {"budget", c.budget}, {"fits", c.fits}, {"margin", c.margin}, {"source", c.source}};
}

}  // namespace mcuprune
