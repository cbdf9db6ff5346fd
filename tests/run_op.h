// Runs one op's reference kernel on given tensors, for the kernel tests.
#pragma once
#include <vector>

#include "runtime/ref/kernel.h"

namespace nnc::test {

inline Tensors run_op(OpKind op, const std::vector<Tensor>& ins, Attributes attrs = {}, int num_outputs = 1) {
  Graph g;
  std::vector<Value*> vals;
  for (size_t i = 0; i < ins.size(); ++i) vals.push_back(g.add_value("in" + std::to_string(i)));
  Node* n = g.add_node(op, vals, num_outputs, "node_under_test", std::move(attrs));
  KernelContext ctx{*n, {}, 17};
  for (const Tensor& t : ins) ctx.inputs.push_back(&t);
  return ref_kernel(op)(ctx);
}

}  // namespace nnc::test
