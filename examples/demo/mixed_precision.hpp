// examples/demo/mixed_precision.hpp — choosing a storage format per layer under a budget (issue 26).
//
// Each weighted layer has a few candidate formats (float16 weights, 16x8, int8, 4-bit groups), each with a
// measured sensitivity — the accuracy drop, in points, when only that layer is in that format and every
// other layer stays float32 (debugger.hpp measures it on the validation split) — and a size in bytes. The
// selection assumes the drops add up (a first-order model: the debugger's "accumulated" columns show how
// far that holds) and runs a greedy upgrade:
//
//   1. Every layer starts in its smallest candidate. If that already exceeds the byte budget, the
//      selection is infeasible (returned as is, feasible = false).
//   2. While the predicted drop Σ drop[layer][format] is above the accuracy budget (or, with a byte budget
//      alone, while any upgrade fits): among all upgrades (layer j from its current format to any larger
//      candidate) that recover accuracy (gain = drop now - drop after > 0) and keep the total within the
//      byte budget, take the one with the most points recovered per extra byte. Ties: the larger gain,
//      then the lower layer, then the smaller candidate.
//   3. Stop when the accuracy budget is met, or when no upgrade qualifies (feasible = false if the
//      accuracy budget is still not met).
// "Sensitive layers stay in higher precision" (the first and the last layer, as TF-MOT's guides advise)
// is a restriction of the candidates: pass only float16 / 16x8 for those layers; pin_sensitive_layers
// (at the end) fixes them instead and adds what QAT needs to leave them untrained.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "model.hpp"

namespace demo {

/// One candidate of one layer: its format, measured drop (points) and stored size (bytes).
struct format_option {
  weight_format format = weight_format::int8;
  double drop = 0;
  std::size_t bytes = 0;
};

struct precision_budget {
  double max_drop = std::numeric_limits<double>::infinity();         // points vs float
  std::size_t max_bytes = std::numeric_limits<std::size_t>::max();  // weights, scales and biases
};

struct precision_selection {
  std::vector<std::size_t> choice;  // index into each layer's candidates
  double predicted_drop = 0;        // Σ of the chosen drops
  std::size_t bytes = 0;            // Σ of the chosen sizes
  bool feasible = true;
};

/// The greedy rule of the header comment. `layers[j]` are layer j's candidates (any order, at least one).
inline precision_selection select_precision(const std::vector<std::vector<format_option>>& layers, const precision_budget& budget) {
  precision_selection s;
  for (std::size_t j = 0; j < layers.size(); ++j) {
    const auto& opts = layers[j];
    if (opts.empty()) throw std::invalid_argument("select_precision: layer " + std::to_string(j) + " has no candidate format");
    std::size_t smallest = 0;
    for (std::size_t o = 1; o < opts.size(); ++o)
      if (opts[o].bytes < opts[smallest].bytes) smallest = o;
    s.choice.push_back(smallest);
    s.predicted_drop += opts[smallest].drop;
    s.bytes += opts[smallest].bytes;
  }
  if (s.bytes > budget.max_bytes) {
    s.feasible = false;
    return s;
  }
  for (;;) {
    if (s.predicted_drop <= budget.max_drop && budget.max_drop != std::numeric_limits<double>::infinity()) return s;
    bool found = false;
    std::size_t best_j = 0, best_o = 0;
    double best_eff = 0, best_gain = 0;
    for (std::size_t j = 0; j < layers.size(); ++j) {
      const format_option& now = layers[j][s.choice[j]];
      for (std::size_t o = 0; o < layers[j].size(); ++o) {
        const format_option& up = layers[j][o];
        if (up.bytes <= now.bytes) continue;
        const double gain = now.drop - up.drop;
        if (!(gain > 0)) continue;
        if (s.bytes - now.bytes + up.bytes > budget.max_bytes) continue;
        const double eff = gain / static_cast<double>(up.bytes - now.bytes);
        const bool better = !found || eff > best_eff || (eff == best_eff && (gain > best_gain ||
                            (gain == best_gain && (j < best_j || (j == best_j && up.bytes < layers[best_j][best_o].bytes)))));
        if (better) {
          found = true;
          best_j = j;
          best_o = o;
          best_eff = eff;
          best_gain = gain;
        }
      }
    }
    if (!found) {
      s.feasible = s.predicted_drop <= budget.max_drop;
      return s;
    }
    const format_option& now = layers[best_j][s.choice[best_j]];
    const format_option& up = layers[best_j][best_o];
    s.predicted_drop += up.drop - now.drop;
    s.bytes = s.bytes - now.bytes + up.bytes;
    s.choice[best_j] = best_o;
  }
}

/// The bytes a weighted layer's tensors take in format f (weights, scales, bias, quantization parameters;
/// the safetensors header and the graph are not counted). int4: groups of `group` along K (as make_int4).
inline std::size_t layer_bytes(const layer_spec& s, weight_format f, int group) {
  const std::size_t k = static_cast<std::size_t>(s.k()), n = static_cast<std::size_t>(s.out_c);
  switch (f) {
    case weight_format::f32: return 4 * k * n + 4 * n;
    case weight_format::f16: return 2 * k * n + 4 * n;
    case weight_format::dynamic_int8: return k * n + 4 * n + 4 * n;
    case weight_format::int8: return k * n + 4 * n + 4 * n + 16;       // + input and output scale / zero point
    case weight_format::int16x8: return k * n + 4 * n + 8 * n + 4;     // int64 bias, the int16 input scale
    case weight_format::int4_group: {
      const int g = std::min(group, padded_depth(s.k(), 8));
      const std::size_t kp = static_cast<std::size_t>(padded_depth(s.k(), g));
      return (kp * n + 1) / 2 + 4 * n * (kp / static_cast<std::size_t>(g)) + 4 * n;
    }
    case weight_format::mixed: break;
  }
  throw std::invalid_argument("layer_bytes: a layer has no \"mixed\" format");
}

/// "int4/int8/16x8": the formats of the weighted layers, in order, short.
inline std::string short_name(weight_format f) {
  switch (f) {
    case weight_format::f32: return "f32";
    case weight_format::f16: return "f16";
    case weight_format::dynamic_int8: return "dyn8";
    case weight_format::int8: return "int8";
    case weight_format::int4_group: return "int4";
    case weight_format::int16x8: return "16x8";
    case weight_format::mixed: return "mixed";
  }
  return "?";
}

inline std::string assignment_name(const std::vector<weight_format>& fs) {
  std::string s;
  for (std::size_t i = 0; i < fs.size(); ++i) s += (i == 0 ? "" : "/") + short_name(fs[i]);
  return s;
}

/// The seeds' advice for the sensitive layers (issue 26, item 6), as one plan for conversion and QAT: the
/// first and the last weighted layer in `keep` (f32 or f16: float weights, int8 activations around them;
/// int16x8: int8 weights, int16 input), every other layer in int8. For QAT: `layer_lr` multiplies each
/// layer's learning rate — `sensitive_lr` for the first and last (0: frozen, they keep the float model's
/// weights bit for bit), 1 for the rest — and `float_weights` says which layers train without
/// fake-quantized weights (those stored as float). With one weighted layer, it is both first and last.
struct sensitive_plan {
  std::vector<weight_format> formats;
  std::vector<float> layer_lr;
  std::vector<bool> float_weights;
};

inline sensitive_plan pin_sensitive_layers(std::size_t layers, weight_format keep, float sensitive_lr = 0.0f) {
  if (layers == 0) throw std::invalid_argument("pin_sensitive_layers: layers must be >= 1, got 0");
  if (keep != weight_format::f32 && keep != weight_format::f16 && keep != weight_format::int16x8 && keep != weight_format::int8)
    throw std::invalid_argument("pin_sensitive_layers: keep must be f32, f16, int16x8 or int8, got " + short_name(keep));
  if (!(std::isfinite(sensitive_lr) && sensitive_lr >= 0.0f))
    throw std::invalid_argument("pin_sensitive_layers: sensitive_lr must be finite and >= 0, got " + std::to_string(sensitive_lr));
  sensitive_plan p;
  p.formats.assign(layers, weight_format::int8);
  p.layer_lr.assign(layers, 1.0f);
  p.float_weights.assign(layers, false);
  for (std::size_t j : {std::size_t{0}, layers - 1}) {
    p.formats[j] = keep;
    p.layer_lr[j] = sensitive_lr;
    p.float_weights[j] = keep == weight_format::f32 || keep == weight_format::f16;
  }
  return p;
}

}  // namespace demo
