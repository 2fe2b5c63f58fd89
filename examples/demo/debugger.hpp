// examples/demo/debugger.hpp — the quantization debugger (issue 26): where does int8 hurt, layer by layer?
//
// For the full-integer int8 model built from a float network (make_int8 with the given activation
// parameters), every weighted layer gets, on calibration images:
//   weight SQNR    the int8 weights (dequantized) against the float weights
//   alone          the layer's output when it alone is quantized: the float model's input to the layer,
//                  quantized with the layer's input parameters, through the int8 layer, dequantized with
//                  its output parameters (the last layer's float logits as they are), against the float
//                  layer's output
//   accumulated    the layer's output in the int8 model run from the image (every layer up to it
//                  quantized), dequantized, against the float model's output of the same layer
// each as SQNR (dB), RMSE and max abs error (qsparse::error_stats), and, on the validation split, the
// accuracy with only that layer in int8 (every other layer float32: a mixed model) and the drop against
// float32. Everything runs on the demo's runtime (runtime.hpp run_layers), the kernels the int8 model
// runs. Output: a Markdown table, a CSV and an SVG bar chart (report.hpp's conventions).
//
// measure_options extends the last column to every candidate format of the mixed-precision selection
// (mixed_precision.hpp): the drop when only layer j is float16 / 16x8 / int8 / 4-bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "compress.hpp"
#include "data.hpp"
#include "mixed_precision.hpp"
#include "model.hpp"
#include "nn.hpp"
#include "qsparse/calibrate/error_metrics.hpp"
#include "report.hpp"
#include "runtime.hpp"

namespace demo {

struct layer_debug {
  std::size_t layer = 0;  // position in the graph
  std::string label;      // e.g. "dense 784→256"
  qsparse::error_stats weights, alone, accumulated;
  double accuracy_only = 0;  // validation accuracy with only this layer in int8
  double drop = 0;           // float32 validation accuracy minus accuracy_only (points)
};

struct debug_report {
  int samples = 0;               // calibration images the error columns are measured on
  int validation = 0;            // images of the validation split
  double float_accuracy = 0;     // validation, float32
  double quantized_accuracy = 0; // validation, every layer int8
  std::vector<layer_debug> layers;
};

inline std::string layer_label(const layer_spec& s) {
  if (s.kind == layer_kind::conv)
    return "conv2d " + std::to_string(s.kh) + "x" + std::to_string(s.kw) + " " + std::to_string(s.in_c) + "→" + std::to_string(s.out_c);
  return std::string(to_string(s.kind)) + " " + std::to_string(s.in_c * s.in_h * s.in_w) + "→" + std::to_string(s.out_c);
}

/// Validation accuracy of the float network with weighted layer j (0-based among weighted layers) in
/// format f and every other layer float32.
inline double accuracy_with_one(const qsparse::context& ctx, const network& net, const std::string& arch, const activation_params& act,
                                std::size_t j, weight_format f, const dataset& val, int group = 32) {
  std::vector<weight_format> fs(net.params().size(), weight_format::f32);
  fs[j] = f;
  qmodel m = make_mixed(net, "probe", arch, act, fs, group);
  prepare(m);
  return accuracy(ctx, m, val.x, val.y);
}

inline debug_report debug_quantization(const qsparse::context& ctx, const network& net, const std::string& arch,
                                       const activation_params& act, const matrix& calib, int samples, const dataset& val) {
  debug_report r;
  qmodel f32 = make_weight_only(net, "float32", arch, weight_format::f32);
  qmodel q = make_int8(net, "int8", arch, act);
  prepare(f32);
  prepare(q);
  const std::size_t nl = f32.layers.size();
  samples = std::min<int>(samples, static_cast<int>(calib.rows()));
  r.samples = samples;
  r.validation = static_cast<int>(val.x.rows());
  std::size_t wi = 0;
  for (std::size_t i = 0; i < nl; ++i) {
    if (!f32.layers[i].spec.has_weights()) continue;
    layer_debug d;
    d.layer = i;
    d.label = layer_label(f32.layers[i].spec);
    // Weights: int8 dequantized against float (K×N, per output channel scale).
    const qlayer& ql = q.layers[i];
    const matrix& w = net.params()[wi].w;
    std::vector<float> deq(static_cast<std::size_t>(w.size()));
    for (Eigen::Index kk = 0; kk < w.rows(); ++kk)
      for (Eigen::Index n = 0; n < w.cols(); ++n) {
        const std::size_t at = static_cast<std::size_t>(kk * w.cols() + n);
        deq[at] = static_cast<float>(ql.wq[at]) * ql.w_scale[static_cast<std::size_t>(n)];
      }
    d.weights.add(w.data(), deq.data(), deq.size());
    r.layers.push_back(d);
    ++wi;
  }
  workspace ws;
  std::vector<std::vector<float>> acts(nl + 1);  // the float model's activation points of one batch
  std::vector<float> out;
  for (int s0 = 0; s0 < samples; s0 += 250) {
    const int rows = std::min(250, samples - s0);
    const float* x = calib.row(s0).data();
    acts[0].assign(x, x + static_cast<std::size_t>(rows) * static_cast<std::size_t>(f32.input_size()));
    for (std::size_t i = 0; i < nl; ++i) {
      acts[i + 1].resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(f32.layers[i].spec.out_size()));
      run_layers(ctx, f32, i, i + 1, acts[i].data(), rows, acts[i + 1].data(), ws);
    }
    for (layer_debug& d : r.layers) {
      const std::size_t i = d.layer;
      const std::size_t count = acts[i + 1].size();
      out.resize(count);
      run_layers(ctx, q, i, i + 1, acts[i].data(), rows, out.data(), ws);
      d.alone.add(acts[i + 1].data(), out.data(), count);
      run_layers(ctx, q, 0, i + 1, acts[0].data(), rows, out.data(), ws);
      d.accumulated.add(acts[i + 1].data(), out.data(), count);
    }
  }
  r.float_accuracy = accuracy(ctx, f32, val.x, val.y);
  r.quantized_accuracy = accuracy(ctx, q, val.x, val.y);
  for (std::size_t j = 0; j < r.layers.size(); ++j) {
    r.layers[j].accuracy_only = accuracy_with_one(ctx, net, arch, act, j, weight_format::int8, val);
    r.layers[j].drop = r.float_accuracy - r.layers[j].accuracy_only;
  }
  return r;
}

/// The selection's candidates for every weighted layer: drop (validation, only that layer in the format)
/// and bytes (layer_bytes). The int8 drops are the debugger's. `allowed(j)` lists layer j's formats.
template <class Allowed>
std::vector<std::vector<format_option>> measure_options(const qsparse::context& ctx, const network& net, const std::string& arch,
                                                        const activation_params& act, const debug_report& dbg, const dataset& val,
                                                        Allowed&& allowed, int group = 32) {
  std::vector<std::vector<format_option>> out;
  std::size_t j = 0;
  for (const layer_spec& s : net.layers()) {
    if (!s.has_weights()) continue;
    std::vector<format_option> opts;
    for (weight_format f : allowed(j)) {
      format_option o;
      o.format = f;
      o.bytes = layer_bytes(s, f, group);
      o.drop = f == weight_format::int8 ? dbg.layers[j].drop : dbg.float_accuracy - accuracy_with_one(ctx, net, arch, act, j, f, val, group);
      opts.push_back(o);
    }
    out.push_back(opts);
    ++j;
  }
  return out;
}

// ---- output -------------------------------------------------------------------------------------------

inline std::string db_text(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt("%.1f", v);
}

inline std::vector<std::vector<std::string>> debug_cells(const debug_report& r) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"layer", "op", "weight SQNR dB", "alone SQNR dB", "alone RMSE", "alone max abs", "accum. SQNR dB", "accum. RMSE",
                  "accum. max abs", "accuracy, only this layer int8 %", "drop (points)"});
  for (const layer_debug& d : r.layers) {
    rows.push_back({std::to_string(d.layer), d.label, db_text(d.weights.sqnr_db()), db_text(d.alone.sqnr_db()), fmt("%.4g", d.alone.rmse()),
                    fmt("%.4g", d.alone.max_abs()), db_text(d.accumulated.sqnr_db()), fmt("%.4g", d.accumulated.rmse()),
                    fmt("%.4g", d.accumulated.max_abs()), fmt("%.2f", d.accuracy_only), fmt("%+.2f", d.drop)});
  }
  return rows;
}

inline std::string debug_markdown(const debug_report& r) {
  const auto rows = debug_cells(r);
  std::ostringstream o;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    o << "|";
    for (const auto& c : rows[i]) o << " " << c << " |";
    o << "\n";
    if (i == 0) {
      o << "|";
      for (std::size_t c = 0; c < rows[i].size(); ++c) o << (c == 1 ? " --- |" : " ---: |");
      o << "\n";
    }
  }
  return o.str();
}

/// CSV: one header line, then one line per weighted layer; full precision (%.17g), "inf" for an infinite SQNR.
inline std::string debug_csv(const debug_report& r) {
  std::ostringstream o;
  o << "layer,op,weight_sqnr_db,alone_sqnr_db,alone_rmse,alone_max_abs,accumulated_sqnr_db,accumulated_rmse,accumulated_max_abs,"
       "accuracy_only_this_layer_int8,drop_points\n";
  const auto num = [](double v) { return std::isinf(v) ? std::string(v > 0 ? "inf" : "-inf") : fmt("%.17g", v); };
  for (const layer_debug& d : r.layers) {
    o << d.layer << "," << d.label << "," << num(d.weights.sqnr_db()) << "," << num(d.alone.sqnr_db()) << "," << num(d.alone.rmse()) << ","
      << num(d.alone.max_abs()) << "," << num(d.accumulated.sqnr_db()) << "," << num(d.accumulated.rmse()) << ","
      << num(d.accumulated.max_abs()) << "," << num(d.accuracy_only) << "," << num(d.drop) << "\n";
  }
  return o.str();
}

/// Two horizontal bar panels, one row per weighted layer: SQNR of its output (alone and accumulated, dB;
/// higher is better) and the accuracy drop when only it is int8 (points; lower is better).
inline std::string debug_svg(const debug_report& r, const std::string& title) {
  const double left = 150, top = 78, row_h = 44, panel_w = 300, gap = 70, bottom = 70;
  const std::size_t n = r.layers.size();
  const double plot_h = row_h * static_cast<double>(std::max<std::size_t>(n, 1));
  const double width = left + 2 * panel_w + gap + 40, height = top + plot_h + bottom;
  double smax = 1, dmin = 0, dmax = 0.1;
  for (const layer_debug& d : r.layers) {
    for (double v : {d.alone.sqnr_db(), d.accumulated.sqnr_db()})
      if (std::isfinite(v)) smax = std::max(smax, v);
    dmin = std::min(dmin, d.drop);
    dmax = std::max(dmax, d.drop);
  }
  smax = std::ceil(smax / 10) * 10;
  // The drop axis: round steps, bounds on multiples of the step, zero always on it.
  double dstep = 10;
  for (double st : {0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0}) {
    dstep = st;
    if ((dmax - dmin) * 1.1 / st <= 6) break;
  }
  dmin = std::floor(dmin / dstep - 0.1) * dstep;
  dmax = std::ceil(dmax / dstep + 0.1) * dstep;
  if (dmin > 0) dmin = 0;
  const double x1 = left + panel_w + gap;
  const auto sx = [&](double v) { return left + std::clamp(v, 0.0, smax) / smax * panel_w; };
  const auto dx = [&](double v) { return x1 + (v - dmin) / (dmax - dmin) * panel_w; };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << " " << height
    << "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"16\" y=\"26\" font-size=\"16\">" << xml_escape(title) << "</text>\n";
  o << "<text x=\"16\" y=\"46\" font-size=\"11\" fill=\"#555\">" << r.samples << " calibration images; accuracy on " << r.validation
    << " validation images: float32 " << fmt("%.2f", r.float_accuracy) << " %, int8 " << fmt("%.2f", r.quantized_accuracy) << " %</text>\n";
  o << "<text x=\"" << left << "\" y=\"" << top - 10 << "\" font-weight=\"bold\">output SQNR, dB (higher is better)</text>\n";
  o << "<text x=\"" << x1 << "\" y=\"" << top - 10 << "\" font-weight=\"bold\">accuracy drop, only this layer int8 (points)</text>\n";
  o << "<text x=\"" << x1 << "\" y=\"" << top + plot_h + 54 << "\" font-size=\"11\" fill=\"#555\">below 0: more accurate than float32 (noise)</text>\n";
  // grids and axes
  for (double v = 0; v <= smax + 1e-9; v += smax / 5) {
    o << "<line x1=\"" << sx(v) << "\" y1=\"" << top << "\" x2=\"" << sx(v) << "\" y2=\"" << top + plot_h << "\" stroke=\"#e4e4e4\"/>\n";
    o << "<text x=\"" << sx(v) << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"middle\">" << fmt("%.0f", v) << "</text>\n";
  }
  for (double v = dmin; v <= dmax + dstep / 2; v += dstep) {
    if (std::abs(v) < dstep / 1000) v = 0;
    o << "<line x1=\"" << dx(v) << "\" y1=\"" << top << "\" x2=\"" << dx(v) << "\" y2=\"" << top + plot_h << "\" stroke=\"#e4e4e4\"/>\n";
    o << "<text x=\"" << dx(v) << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"middle\">" << fmt("%.2f", v) << "</text>\n";
  }
  o << "<line x1=\"" << dx(0) << "\" y1=\"" << top << "\" x2=\"" << dx(0) << "\" y2=\"" << top + plot_h << "\" stroke=\"#444\"/>\n";
  o << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << top + plot_h << "\" stroke=\"#444\"/>\n";
  const char* c_alone = "#1f77b4";
  const char* c_acc = "#ff7f0e";
  const char* c_drop = "#d62728";
  for (std::size_t i = 0; i < n; ++i) {
    const layer_debug& d = r.layers[i];
    const double y = top + row_h * static_cast<double>(i);
    o << "<text x=\"" << left - 8 << "\" y=\"" << y + row_h / 2 + 4 << "\" text-anchor=\"end\">" << xml_escape("#" + std::to_string(d.layer) + " " + d.label)
      << "</text>\n";
    const double bh = (row_h - 12) / 2;
    const double vals[2] = {d.alone.sqnr_db(), d.accumulated.sqnr_db()};
    const char* cols[2] = {c_alone, c_acc};
    for (int b = 0; b < 2; ++b) {
      const double by = y + 6 + bh * b;
      const double w = sx(vals[b]) - left;
      o << "<rect x=\"" << left << "\" y=\"" << by << "\" width=\"" << w << "\" height=\"" << bh - 1 << "\" fill=\"" << cols[b] << "\"><title>"
        << (b == 0 ? "alone" : "accumulated") << ": " << db_text(vals[b]) << " dB</title></rect>\n";
      o << "<text x=\"" << left + w + 4 << "\" y=\"" << by + bh - 4 << "\" font-size=\"10\">" << db_text(vals[b]) << "</text>\n";
    }
    const double a = dx(std::min(0.0, d.drop)), b2 = dx(std::max(0.0, d.drop));
    o << "<rect x=\"" << a << "\" y=\"" << y + 10 << "\" width=\"" << b2 - a << "\" height=\"" << row_h - 20 << "\" fill=\"" << c_drop
      << "\"><title>drop " << fmt("%+.2f", d.drop) << " points</title></rect>\n";
    if (d.drop < 0) {
      o << "<text x=\"" << a - 4 << "\" y=\"" << y + row_h / 2 + 4 << "\" font-size=\"10\" text-anchor=\"end\">" << fmt("%+.2f", d.drop) << "</text>\n";
    } else {
      o << "<text x=\"" << b2 + 4 << "\" y=\"" << y + row_h / 2 + 4 << "\" font-size=\"10\">" << fmt("%+.2f", d.drop) << "</text>\n";
    }
  }
  // key
  const double ky = top + plot_h + 34;
  o << "<rect x=\"" << left << "\" y=\"" << ky << "\" width=\"12\" height=\"10\" fill=\"" << c_alone << "\"/><text x=\"" << left + 16 << "\" y=\"" << ky + 9
    << "\">layer alone quantized (float input)</text>\n";
  o << "<rect x=\"" << left + 250 << "\" y=\"" << ky << "\" width=\"12\" height=\"10\" fill=\"" << c_acc << "\"/><text x=\"" << left + 266 << "\" y=\""
    << ky + 9 << "\">accumulated through the int8 model</text>\n";
  o << "</svg>\n";
  return o.str();
}

}  // namespace demo
