// The static memory plan: every Arena slot gets an offset into one arena, reusing the
// memory of values that are dead. A value is live from the step that writes it to the
// last step that reads it; slots are placed in order of decreasing size at the lowest
// offset that does not overlap any slot live at the same time (greedy by size, the
// heuristic TFLite and ONNX Runtime use). Offsets are 64-byte aligned for SIMD loads.
#pragma once
#include "runtime/program.h"

namespace nnc {

// Assigns Slot::offset for the program's Arena slots and sets Program::arena_bytes.
void plan_memory(Program& p);

}  // namespace nnc
