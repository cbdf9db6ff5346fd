// Builds a small conv-BN-ReLU + MLP classifier with the C++ builder, runs it on the
// reference interpreter and writes it as ONNX.
//   ./example_builder [OUT.onnx]
#include <iostream>

#include "frontend/builder.h"
#include "frontend/onnx.h"
#include "ir/printer.h"
#include "runtime/interpreter.h"

int main(int argc, char** argv) {
  using namespace nnc;
  Builder b("tiny_cnn", /*seed=*/42);
  Value* x = b.input("image", DType::Float32, {Dim::sym("N"), Dim::fixed(1), Dim::fixed(28), Dim::fixed(28)});
  Value* h = b.relu(b.batch_norm(b.conv2d(x, 1, 8, 3, 1, 1, "conv1"), 8, "bn1"));  // conv-BN-ReLU block
  h = b.flatten(b.max_pool(h, 2, 2));                                                // [N, 8*14*14]
  h = b.relu(b.linear(h, 8 * 14 * 14, 64, "fc1"));                                   // MLP head
  b.output(b.softmax(b.linear(h, 64, 10, "fc2")), "probs");
  std::unique_ptr<Graph> g = b.finish();
  std::cout << print_graph(*g);

  Tensor image(DType::Float32, {2, 1, 28, 28});
  for (int64_t i = 0; i < image.numel(); ++i) image.data<float>()[i] = static_cast<float>(i % 28) / 28.0f;
  Tensor probs = run_reference(*g, {{"image", image}})[0];
  std::cout << "probs " << shape_str(probs.shape()) << ": first row";
  for (int c = 0; c < 10; ++c) std::cout << " " << probs.data<float>()[c];
  std::cout << "\n";
  if (argc > 1) {
    export_onnx_file(*g, argv[1], /*overwrite=*/true);
    std::cout << "wrote " << argv[1] << "\n";
  }
  return 0;
}
