#include "runtime/memory_plan.h"

#include <algorithm>

#include "ir/checked.h"

namespace nnc {

namespace {
constexpr int64_t kAlign = 64;
int64_t align_up(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

struct Interval {
  int slot;
  int first, last;  // steps
  int64_t size;
};
}  // namespace

void plan_memory(Program& p) {
  const int n = static_cast<int>(p.slots.size());
  std::vector<int> first(n, -1), last(n, -1);
  for (int s = 0; s < static_cast<int>(p.steps.size()); ++s) {
    for (int v : p.steps[s].outputs) if (v >= 0 && first[v] < 0) first[v] = s;
    for (int v : p.steps[s].inputs) if (v >= 0) last[v] = s;
  }
  std::vector<Interval> todo;
  for (int v = 0; v < n; ++v) {
    if (p.slots[v].kind != Slot::Arena) continue;
    if (first[v] < 0) first[v] = 0;
    todo.push_back({v, first[v], std::max(first[v], last[v]), align_up(static_cast<int64_t>(p.slots[v].bytes()))});
  }
  std::stable_sort(todo.begin(), todo.end(), [](const Interval& a, const Interval& b) { return a.size > b.size; });
  std::vector<Interval> placed;
  int64_t peak = 0;
  for (const Interval& it : todo) {
    // Offsets taken by slots live at the same time, in increasing order.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (const Interval& o : placed)
      if (o.first <= it.last && it.first <= o.last) busy.push_back({p.slots[o.slot].offset, o.size});
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (auto [start, size] : busy) {
      if (offset + it.size <= start) break;
      offset = std::max(offset, start + size);
    }
    p.slots[it.slot].offset = offset;
    peak = std::max(peak, checked_add(offset, it.size, "the memory plan"));
    placed.push_back(it);
  }
  p.arena_bytes = peak;
}

}  // namespace nnc
