// Sizes and counts given on the command line (parse_size / parse_count in profile.h).
#include <gtest/gtest.h>

#include <string>

#include "common/expect_error.h"
#include "resources/profile.h"

namespace mcuprune {
namespace {

using test::Contains;
using test::user_error_of;

TEST(ParseSize, AcceptedForms) {
  EXPECT_EQ(parse_size("64KiB", "--ram"), 65536);       // 64 * 1024
  EXPECT_EQ(parse_size("64KB", "--ram"), 64000);        // 64 * 1000
  EXPECT_EQ(parse_size("0.5MiB", "--ram"), 524288);     // 0.5 * 1048576
  EXPECT_EQ(parse_size("2MB", "--flash"), 2000000);
  EXPECT_EQ(parse_size("5M", "--flash"), 5000000);
  EXPECT_EQ(parse_size("200k", "--ram"), 200000);
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

TEST(FormatBytes, Units) {
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(3 * 1024 * 1024 / 2), "1.50 MiB");
}

}  // namespace
}  // namespace mcuprune
