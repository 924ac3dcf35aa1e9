#include "export/armnn_runner.h"

#include <armnn/ArmNN.hpp>
#include <armnnTfLiteParser/ITfLiteParser.hpp>

#include <cstring>
#include <stdexcept>

namespace mcuprune::test {

struct ArmnnModel::Impl {
  armnnTfLiteParser::ITfLiteParserPtr parser = armnnTfLiteParser::ITfLiteParser::Create();
  armnn::IRuntimePtr runtime{nullptr, &armnn::IRuntime::Destroy};
  armnn::NetworkId id = 0;
  armnn::BindingPointInfo input;
  std::vector<std::pair<std::string, armnn::BindingPointInfo>> outputs;
};

ArmnnModel::ArmnnModel(const std::string& bytes) : impl_(new Impl) {
  try {
    std::vector<uint8_t> data(bytes.begin(), bytes.end());
    armnn::INetworkPtr net = impl_->parser->CreateNetworkFromBinary(data);
    armnn::IRuntime::CreationOptions opts;
    impl_->runtime = armnn::IRuntime::Create(opts);
    std::vector<std::string> messages;
    armnn::IOptimizedNetworkPtr opt =
        armnn::Optimize(*net, {armnn::Compute::CpuRef}, impl_->runtime->GetDeviceSpec(), armnn::OptimizerOptions(),
                        armnn::Optional<std::vector<std::string>&>(messages));
    if (!opt) {
      std::string all;
      for (auto& m : messages) all += m + "; ";
      throw std::runtime_error("Arm NN could not optimise the network for CpuRef: " + all);
    }
    std::string err;
    armnn::INetworkProperties props;
    if (impl_->runtime->LoadNetwork(impl_->id, std::move(opt), err, props) != armnn::Status::Success)
      throw std::runtime_error("Arm NN could not load the network: " + err);
    auto in_names = impl_->parser->GetSubgraphInputTensorNames(0);
    if (in_names.size() != 1) throw std::runtime_error("expected one input tensor");
    impl_->input = impl_->parser->GetNetworkInputBindingInfo(0, in_names[0]);
    for (const auto& name : impl_->parser->GetSubgraphOutputTensorNames(0))
      impl_->outputs.emplace_back(name, impl_->parser->GetNetworkOutputBindingInfo(0, name));
  } catch (...) {
    delete impl_;
    throw;
  }
}

ArmnnModel::~ArmnnModel() { delete impl_; }

std::vector<std::string> ArmnnModel::output_names() const {
  std::vector<std::string> r;
  for (const auto& o : impl_->outputs) r.push_back(o.first);
  return r;
}

bool ArmnnModel::input_is_float() const { return impl_->input.second.GetDataType() == armnn::DataType::Float32; }
float ArmnnModel::input_scale() const { return impl_->input.second.GetQuantizationScale(); }
int ArmnnModel::input_zero_point() const { return impl_->input.second.GetQuantizationOffset(); }

ArmnnOutputs ArmnnModel::run(const void* input, size_t bytes) {
  const armnn::TensorInfo& in_info = impl_->input.second;
  if (bytes != in_info.GetNumBytes())
    throw std::runtime_error("input has " + std::to_string(bytes) + " bytes, the network expects " +
                             std::to_string(in_info.GetNumBytes()));
  armnn::InputTensors inputs{{impl_->input.first, armnn::ConstTensor(in_info, input)}};
  std::vector<std::vector<uint8_t>> storage;
  armnn::OutputTensors outputs;
  for (const auto& o : impl_->outputs) {
    storage.emplace_back(o.second.second.GetNumBytes());
    outputs.emplace_back(o.second.first, armnn::Tensor(o.second.second, storage.back().data()));
  }
  if (impl_->runtime->EnqueueWorkload(impl_->id, inputs, outputs) != armnn::Status::Success)
    throw std::runtime_error("Arm NN inference failed");
  ArmnnOutputs r;
  for (size_t k = 0; k < impl_->outputs.size(); ++k) {
    const auto& [name, info] = impl_->outputs[k];
    const auto& buf = storage[k];
    if (info.second.GetDataType() == armnn::DataType::Float32) {
      std::vector<float> v(buf.size() / 4);
      std::memcpy(v.data(), buf.data(), buf.size());
      r.f32[name] = v;
    } else {
      r.int8[name] = std::vector<int8_t>(buf.begin(), buf.end());
    }
  }
  return r;
}

}  // namespace mcuprune::test
