// Values given on the command line (cli/parse.h): sizes, counts, budgets, shapes; and the one
// budget encoding they produce (resources/budget.h).
#include <gtest/gtest.h>

#include <cmath>

#include <string>

#include <nlohmann/json.hpp>

#include "common/expect_error.h"
#include "cli/parse.h"
#include "resources/budget.h"

namespace mcuprune {
namespace {

using test::Contains;
using test::user_error_of;

TEST(ParseSize, AcceptedForms) {
  EXPECT_EQ(parse_size("64KiB", "--ram"), 65536);       // 64 * 1024
  EXPECT_EQ(parse_size("0.5MiB", "--ram"), 524288);     // 0.5 * 1048576
  EXPECT_EQ(parse_size("512B", "--flash"), 512);
  EXPECT_EQ(parse_size("12", "--ram"), 12);
  EXPECT_EQ(parse_size("1MiB", "--flash"), 1048576);
  EXPECT_EQ(parse_size("1.5GiB", "--flash"), 1610612736);  // 1.5 * 2^30
  EXPECT_EQ(parse_size(" 64 KiB ", "--ram"), 65536);     // blanks around are allowed
}

TEST(ParseCount, AcceptedForms) {
  EXPECT_EQ(parse_count("5M", "--macs"), 5000000);
  EXPECT_EQ(parse_count("200k", "--macs"), 200000);
  EXPECT_EQ(parse_count("200K", "--macs"), 200000);
  EXPECT_EQ(parse_count("1.5G", "--macs"), 1500000000);
  EXPECT_EQ(parse_count("12", "--macs"), 12);
  EXPECT_EQ(parse_count("2.5k", "--macs"), 2500);
}

TEST(ParseSize, ErrorsShowTheAcceptedFormsAndTheOption) {
  for (const char* bad : {"12XB", "abc", "", "-5"}) {
    SCOPED_TRACE(std::string("'") + bad + "'");
    std::string msg = user_error_of([&] { parse_size(bad, "--ram"); });
    EXPECT_TRUE(Contains(msg, "--ram"));
    EXPECT_TRUE(Contains(msg, "64KiB"));
    EXPECT_TRUE(Contains(msg, "0.5MiB"));
    EXPECT_TRUE(Contains(msg, std::string("'") + bad + "'"));
  }
  EXPECT_TRUE(Contains(user_error_of([] { parse_size("12XB", "--ram"); }), "'XB'"));
  // Byte units are not counts.
  EXPECT_TRUE(Contains(user_error_of([] { parse_count("64KiB", "--macs"); }), "KiB"));
  for (const char* bad : {"12XB", "abc", "", "-5", "64KiB"}) {
    SCOPED_TRACE(std::string("'") + bad + "'");
    std::string msg = user_error_of([&] { parse_count(bad, "--macs"); });
    EXPECT_TRUE(Contains(msg, "--macs"));
    EXPECT_TRUE(Contains(msg, "1.5G"));
  }
}

// Regression (fixed): a value that parses but is below 1 ("0", "0.2") is rejected with
// "--ram '0' must be at least 1 and finite", the one parse error that does not show the
// accepted forms (parse_scaled's range check omits `forms`).
TEST(ParseSize, ZeroIsRejectedWithTheAcceptedForms) {
  std::string msg = user_error_of([] { parse_size("0", "--ram"); });
  EXPECT_TRUE(Contains(msg, "--ram"));
  EXPECT_TRUE(Contains(msg, "'0'"));
  EXPECT_TRUE(Contains(msg, "64KiB"));
  std::string cmsg = user_error_of([] { parse_count("0", "--macs"); });
  EXPECT_TRUE(Contains(cmsg, "--macs"));
  EXPECT_TRUE(Contains(cmsg, "1.5G"));
}

// "64 KB" means 65,536 bytes in an MCU datasheet and 64,000 in SI: refused, with both readings.
TEST(ParseSize, DecimalLookingUnitsAreRefusedWithBothReadings) {
  std::string msg = user_error_of([] { parse_size("64KB", "--ram"); });
  EXPECT_TRUE(Contains(msg, "--ram '64KB' is ambiguous")) << msg;
  EXPECT_TRUE(Contains(msg, "65,536 bytes")) << msg;
  EXPECT_TRUE(Contains(msg, "64,000 bytes")) << msg;
  EXPECT_TRUE(Contains(msg, "64KiB")) << msg;
  EXPECT_TRUE(Contains(msg, "64000")) << msg;
  for (const char* bad : {"64K", "64k", "64kB", "2MB", "2M", "1GB"}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(Contains(user_error_of([&] { parse_size(bad, "--flash"); }), "ambiguous"));
  }
  EXPECT_TRUE(Contains(user_error_of([] { parse_size("2MB", "--flash"); }), "2,097,152 bytes"));
}

TEST(ParseSize, OutOfRangeAndOverlongNumbersAreNamed) {
  for (const char* bad : {"1e400", "99999999999999999999999", "nan", "inf", "0.5"}) {
    SCOPED_TRACE(bad);
    std::string msg = user_error_of([&] { parse_size(bad, "--ram"); });
    EXPECT_TRUE(Contains(msg, "--ram")) << msg;
  }
  EXPECT_TRUE(Contains(user_error_of([] { parse_size("10000000GiB", "--ram"); }), "at most"));
}

TEST(ParseBudgets, OneEncodingForEveryResource) {
  BudgetOptions o;
  o.ram = "64KiB";
  o.macs = "5M";
  o.latency_ms = 12.5;
  Budgets b = parse_budgets(o);
  ASSERT_TRUE(b[Resource::Ram]);
  EXPECT_EQ(*b[Resource::Ram], 65536.0);
  EXPECT_FALSE(b[Resource::Flash]);
  EXPECT_EQ(*b[Resource::Macs], 5e6);
  EXPECT_EQ(*b[Resource::Latency], 12.5);
  EXPECT_TRUE(b.any());
  EXPECT_FALSE(Budgets().any());
  // The JSON form keeps only what is set, under the report keys, and reads back equal.
  nlohmann::json j = budgets_to_json(b);
  EXPECT_EQ(j.size(), 3u);
  EXPECT_EQ(j.at("ram_bytes"), 65536);
  Budgets back = budgets_from_json(j);
  for (Resource r : kResources) EXPECT_EQ(back[r], b[r]) << resource_name(r);
  o.latency_ms = -1;
  EXPECT_TRUE(Contains(user_error_of([&] { parse_budgets(o); }), "--latency-ms"));
}

TEST(ParseBudgets, AGivenButEmptyOrZeroBudgetIsAnErrorNotNoBudget) {
  BudgetOptions o;
  o.ram = "";
  EXPECT_TRUE(Contains(user_error_of([&] { parse_budgets(o); }), "--ram"));
  o = BudgetOptions();
  o.flash = "";
  EXPECT_TRUE(Contains(user_error_of([&] { parse_budgets(o); }), "--flash"));
  o = BudgetOptions();
  o.latency_ms = 0.0;
  const std::string msg = user_error_of([&] { parse_budgets(o); });
  EXPECT_TRUE(Contains(msg, "--latency-ms")) << msg;
  EXPECT_TRUE(Contains(msg, "> 0")) << msg;
  o.latency_ms = std::nan("");
  EXPECT_TRUE(Contains(user_error_of([&] { parse_budgets(o); }), "--latency-ms"));
  EXPECT_FALSE(parse_budgets(BudgetOptions()).any());  // nothing given: no budget
}

TEST(Budgets, MeetsAndChecksCompareEverySetBudget) {
  ResourceUse use;
  use.ram_bytes = 1000;
  use.flash_bytes = 5000;
  use.macs = 70;
  use.latency_ms = 0.25;
  Budgets b;
  EXPECT_TRUE(meets(use, b));  // nothing to meet
  b[Resource::Flash] = 5000;   // exactly at the budget: fits
  b[Resource::Macs] = 69;      // over by one
  EXPECT_FALSE(meets(use, b));
  Budgets given;
  given[Resource::Macs] = 69;
  std::vector<BudgetCheck> c = check_budgets(use, b, given);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].resource, Resource::Flash);
  EXPECT_TRUE(c[0].fits);
  EXPECT_EQ(c[0].source, "board");
  EXPECT_EQ(c[1].resource, Resource::Macs);
  EXPECT_FALSE(c[1].fits);
  EXPECT_EQ(c[1].margin, -1.0);
  EXPECT_EQ(c[1].source, "option");
  EXPECT_EQ(budget_check_to_json(c[1]).at("unit"), "MACs");
  b[Resource::Macs] = 70;
  EXPECT_TRUE(meets(use, b));
  for (Resource r : kResources) EXPECT_EQ(resource_from_name(resource_name(r)), r);
  EXPECT_FALSE(resource_from_name("energy"));
  EXPECT_EQ(format_resource(Resource::Latency, 0.25), "0.250 ms");
}

TEST(ParseShape, FormsAndErrors) {
  Shape s = parse_shape("28x28x1", "--input");
  EXPECT_EQ(s.h, 28);
  EXPECT_EQ(s.c, 1);
  EXPECT_EQ(parse_shape(" 49,10,1 ", "--input").h, 49);
  for (const char* bad : {"28x28", "0x28x1", "28x28x99999999999", "axbxc"}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(Contains(user_error_of([&] { parse_shape(bad, "--input"); }), "--input"));
  }
}

TEST(ParseChannelValues, OneOrOnePerChannel) {
  EXPECT_EQ(parse_channel_values("0.5", "--input-mean", 3, false), (std::vector<float>{0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(parse_channel_values("0.1,-0.2,0.3", "--input-mean", 3, false), (std::vector<float>{0.1f, -0.2f, 0.3f}));
  for (const char* bad : {"", "0.1,0.2", "0.1,,0.3", "a", "nan", "1e400", "0.1,0.2,0.3,0.4", "0.5x"}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(Contains(user_error_of([&] { parse_channel_values(bad, "--input-mean", 3, false); }), "--input-mean"));
  }
  EXPECT_TRUE(Contains(user_error_of([&] { parse_channel_values("0.2,0,0.2", "--input-std", 3, true); }), "> 0"));
}

TEST(FormatBytes, Units) {
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(3 * 1024 * 1024 / 2), "1.50 MiB");
}

}  // namespace
}  // namespace mcuprune
