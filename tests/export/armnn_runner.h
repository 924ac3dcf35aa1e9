// Runs a .tflite file with Arm NN's TFLite parser on its reference CPU backend (CpuRef):
// a TFLite implementation nobody in this project wrote. Test-only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mcuprune::test {

struct ArmnnOutputs {
  std::map<std::string, std::vector<int8_t>> int8;  // int8 outputs by tensor name
  std::map<std::string, std::vector<float>> f32;    // float outputs by tensor name
};

class ArmnnModel {
 public:
  explicit ArmnnModel(const std::string& tflite_bytes);
  ~ArmnnModel();
  ArmnnModel(const ArmnnModel&) = delete;
  ArmnnModel& operator=(const ArmnnModel&) = delete;
  // One inference. The input is int8 or float32 bytes, as the model's input tensor is.
  ArmnnOutputs run(const void* input, size_t bytes);
  std::vector<std::string> output_names() const;
  // The input tensor: float32, or int8 with these quantisation parameters.
  bool input_is_float() const;
  float input_scale() const;
  int input_zero_point() const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace mcuprune::test
