// The gradient table: for each differentiable op, its input gradients written as IR ops in
// terms of the node's inputs x, outputs y and output gradient dy (see passes/autodiff.h).
// Element-wise binary ops broadcast, so their operands' gradients are unbroadcast. The
// activations, softmaxes and movement ops are in passes/gradient_table_nn.cpp, the layers
// (Gemm, Conv, pools, LayerNormalization, Gather, Slice) and reductions in gradient_table_layers.cpp.
#include "ir/error.h"
#include "passes/autodiff.h"
#include "passes/gradient_table_parts.h"
#include "passes/pattern.h"

namespace nnc {

std::vector<Value*> gradient_of(GradientBuilder& b, const Node& n, const std::vector<Value*>& output_grads) {
  if (auto moved = movement_gradient(b, n, output_grads)) return *moved;  // Split has several outputs
  Value* dy = output_grads.empty() ? nullptr : output_grads[0];
  if (!dy) return {};
  if (auto act = activation_gradient(b, n, dy)) return *act;
  if (auto layer = layer_gradient(b, n, dy)) return *layer;
  Value* y = n.outputs[0];
  Value* x = n.input(0);
  Value* x1 = n.input(1);
  switch (n.op) {
    case OpKind::Identity: return {dy};
    case OpKind::Neg: return {b.op(OpKind::Neg, {dy}, x)};
    // d(a+b) = da + db;  d(a-b) = da - db
    case OpKind::Add: return {b.unbroadcast(dy, y, x), b.unbroadcast(dy, y, x1)};
    case OpKind::Sub: return {b.unbroadcast(dy, y, x), b.unbroadcast(b.op(OpKind::Neg, {dy}, y), y, x1)};
    // d(a·b) = b·da + a·db
    case OpKind::Mul: return {b.unbroadcast(b.mul(dy, x1, y), y, x), b.unbroadcast(b.mul(dy, x, y), y, x1)};
    // d(a/b) = da/b − (a/b)·db/b
    case OpKind::Div: {
      Value* da = b.div(dy, x1, y);
      Value* db = b.op(OpKind::Neg, {b.mul(da, y, y)}, y);
      return {b.unbroadcast(da, y, x), b.unbroadcast(db, y, x1)};
    }
    // relu'(x) = [x > 0]
    case OpKind::Relu:
      return {b.op(OpKind::Where, {b.op(OpKind::Greater, {x, b.scalar(0, x)}, DType::Bool), dy, b.scalar(0, x)}, x)};
    // σ' = σ(1 − σ);  tanh' = 1 − tanh²;  exp' = exp;  log' = 1/x;  sqrt' = 1/(2·sqrt)
    case OpKind::Sigmoid: return {b.mul(dy, b.mul(y, b.sub(b.scalar(1, y), y, y), y), x)};
    case OpKind::Tanh: return {b.mul(dy, b.sub(b.scalar(1, y), b.mul(y, y, y), y), x)};
    case OpKind::Exp: return {b.mul(dy, y, x)};
    case OpKind::Log: return {b.div(dy, x, x)};
    case OpKind::Sqrt: return {b.div(dy, b.mul(b.scalar(2, y), y, y), x)};
    // (1/x)' = −1/x² = −y²
    case OpKind::Reciprocal: return {b.op(OpKind::Neg, {b.mul(dy, b.mul(y, y, y), y)}, x)};
    // Y = A·B:  dA = dY·Bᵀ,  dB = Aᵀ·dY (batch axes unbroadcast)
    case OpKind::MatMul: {
      Value* da = b.op(OpKind::MatMul, {dy, b.transpose_last2(x1, x1)}, y->dtype);
      Value* db = b.op(OpKind::MatMul, {b.transpose_last2(x, x), dy}, y->dtype);
      return {b.unbroadcast(da, y, x), b.unbroadcast(db, y, x1)};
    }
    // d(a^b) = b·a^(b−1)·da + a^b·ln(a)·db
    case OpKind::Pow: {
      Value* da = b.mul(dy, b.mul(x1, b.op(OpKind::Pow, {x, b.sub(x1, b.scalar(1, x1), x1)}, y), y), y);
      Value* db = b.mul(dy, b.mul(y, b.op(OpKind::Log, {x}, x), y), y);
      return {b.unbroadcast(da, y, x), b.unbroadcast(db, y, x1)};
    }
    default:
      throw Error("autodiff: " + n.label() + ": op " + n.op_type + " has no gradient rule yet");
  }
}

}  // namespace nnc
