// Test helpers shared by every suite: run code that must fail with a UserError and check
// what its message says.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "graph/graph.h"

namespace mcuprune::test {

// Runs f, which must throw UserError; returns the message ("" and a test failure otherwise).
inline std::string user_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected UserError, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected UserError, nothing was thrown";
  return "";
}

inline ::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message \"" << text << "\" does not contain \"" << part
                                       << "\"";
}

}  // namespace mcuprune::test
