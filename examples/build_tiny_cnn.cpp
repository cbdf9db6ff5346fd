// Builds a small CNN with the C++ builder (two conv-BN-ReLU blocks and a linear head for
// 28x28 grey images), runs it on the reference interpreter and writes it as ONNX.
// This is how examples/models/tiny_cnn.onnx was made:
//   build/example_build_tiny_cnn examples/models/tiny_cnn.onnx
#include <iostream>

#include "frontend/builder.h"
#include "frontend/onnx.h"
#include "ir/printer.h"
#include "runtime/interpreter.h"

int main(int argc, char** argv) {
  using namespace nnc;
  Builder b("tiny_cnn", /*seed=*/42);
  Value* x = b.input("image", DType::Float32, {Dim::sym("N"), Dim::fixed(1), Dim::fixed(28), Dim::fixed(28)});
  Value* h = b.relu(b.batch_norm(b.conv2d(x, 1, 8, 3, 1, 1, "conv1"), 8, "bn1"));   // [N,8,28,28]
  h = b.max_pool(h, 2, 2);                                                           // [N,8,14,14]
  h = b.relu(b.batch_norm(b.conv2d(h, 8, 16, 3, 2, 1, "conv2"), 16, "bn2"));        // [N,16,7,7]
  h = b.flatten(b.global_avg_pool(h));                                               // [N,16]
  b.output(b.softmax(b.linear(h, 16, 10, "fc")), "probs");                           // [N,10]
  std::unique_ptr<Graph> g = b.finish();
  std::cout << print_graph(*g);

  Tensor image(DType::Float32, {2, 1, 28, 28});
  for (int64_t i = 0; i < image.numel(); ++i) image.data<float>()[i] = static_cast<float>(i % 28) / 28.0f;
  Tensor probs = run_reference(*g, {{"image", image}})[0];
  std::cout << "probs " << shape_str(probs.shape()) << ", first row:";
  for (int c = 0; c < 10; ++c) std::cout << " " << probs.data<float>()[c];
  std::cout << "\n";
  if (argc > 1) {
    export_onnx_file(*g, argv[1], /*overwrite=*/false);
    std::cout << "wrote " << argv[1] << "\n";
  }
  return 0;
}
