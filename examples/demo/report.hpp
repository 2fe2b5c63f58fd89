// examples/demo/report.hpp — the results table (stdout and Markdown) and the accuracy-vs-size SVG chart.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace demo {

struct result {
  std::string name;     // e.g. "int8 static, minmax, 500 samples"
  std::string group;    // float | float control | post-training | QAT | pruned float | pruned + int8 PTQ | …
  std::string kernel;   // what runs it
  std::string file;     // file name in the output directory
  double accuracy = 0;  // percent, on the re-loaded file
  std::size_t ref = 0;  // index of the float row trained as long as this one (Δ is measured against it)
  double delta = 0;     // points vs results[ref]
  std::size_t bytes = 0;
  double ratio = 1;             // float32 file bytes / this file's bytes
  std::size_t gzip_bytes = 0;   // the file after gzip (level 6); 0: not measured
  double gzip_ratio = 0;        // float32 file after gzip / this file after gzip
  double latency_1 = 0;         // µs, batch 1, median over interleaved rounds
  double latency_1_spread = 0;  // µs, half the interquartile range
  double latency_256 = 0;       // ms, batch 256, median
  double latency_256_spread = 0;
  double sparsity = 0;          // fraction of zero weights
};

/// The group of the float rows trained for the same extra epochs as the fine-tuned rows, uncompressed.
inline const char* control_group = "float control";

inline std::string format_bytes(std::size_t b) {
  // Built front to back: GCC 12's -Wrestrict misreads std::string::insert at -O2 on aarch64 (GCC PR 105329).
  const std::string digits = std::to_string(b);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

/// Rows of cells: header first. "#" is the number of the point in the chart; "vs" the row Δ is against.
inline std::vector<std::vector<std::string>> table_cells(const std::vector<result>& rs) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"#", "variant", "accuracy %", "Δ", "vs", "file bytes", "ratio", "gzip bytes", "gzip ratio", "batch 1 µs",
                  "batch 256 ms", "kernel"});
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const result& r = rs[i];
    rows.push_back({std::to_string(i + 1), r.name, fmt("%.2f", r.accuracy), fmt("%+.2f", r.delta), "#" + std::to_string(r.ref + 1),
                    format_bytes(r.bytes), fmt("%.1fx", r.ratio), r.gzip_bytes == 0 ? "-" : format_bytes(r.gzip_bytes),
                    r.gzip_bytes == 0 ? "-" : fmt("%.1fx", r.gzip_ratio), fmt("%.1f", r.latency_1) + fmt(" ±%.1f", r.latency_1_spread),
                    fmt("%.3f", r.latency_256) + fmt(" ±%.3f", r.latency_256_spread), r.kernel});
  }
  return rows;
}

/// Display width of a UTF-8 string (counts code points; the table's symbols are one column wide).
inline std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

/// Left-aligned columns: the variant and kernel names.
inline bool left_aligned_column(std::size_t c, std::size_t columns) { return c == 1 || c + 1 == columns; }

inline std::string text_table(const std::vector<result>& rs) {
  const auto rows = table_cells(rs);
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], display_width(r[c]));
  std::ostringstream out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::string line;
    for (std::size_t c = 0; c < rows[i].size(); ++c) {
      const std::string& cell = rows[i][c];
      const std::string pad(width[c] - display_width(cell), ' ');
      line += (c == 0 ? "" : "  ") + (left_aligned_column(c, rows[i].size()) ? cell + pad : pad + cell);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
    if (i == 0) {
      std::size_t total = 0;
      for (std::size_t w : width) total += w + 2;
      out << std::string(total - 2, '-') << "\n";
    }
  }
  return out.str();
}

/// One speed goal as a line of the report: "goal: TEXT: 1.58x at batch 1, 1.60x at batch BIG: met", or
/// "MISSED" when a ratio is on the wrong side of `bound` (below it when `at_least`, above it otherwise).
inline std::string goal_line(const std::string& text, double at_1, double at_big, int big, double bound, bool at_least) {
  const auto ok = [&](double r) { return at_least ? r >= bound : r <= bound; };
  return "goal: " + text + ": " + fmt("%.2fx at batch 1, ", at_1) + fmt("%.2fx at batch ", at_big) + std::to_string(big) + ": " +
         (ok(at_1) && ok(at_big) ? "met" : "MISSED");
}

inline std::string markdown_table(const std::vector<result>& rs) {
  const auto rows = table_cells(rs);
  std::ostringstream out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out << "|";
    for (const auto& cell : rows[i]) out << " " << cell << " |";
    out << "\n";
    if (i == 0) {
      out << "|";
      for (std::size_t c = 0; c < rows[i].size(); ++c) out << (left_aligned_column(c, rows[i].size()) ? " --- |" : " ---: |");
      out << "\n";
    }
  }
  return out.str();
}

inline std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

// ---- the chart ------------------------------------------------------------------------------------------

struct box {
  double x = 0, y = 0, w = 0, h = 0;  // top-left corner, size (SVG pixels)
  bool overlaps(const box& o, double gap = 0) const {
    return x < o.x + o.w + gap && o.x < x + w + gap && y < o.y + o.h + gap && o.y < y + h + gap;
  }
  bool inside(const box& o) const { return x >= o.x && y >= o.y && x + w <= o.x + o.w && y + h <= o.y + o.h; }
};

/// Whether the segment (x0, y0)–(x1, y1) passes through box b (Liang–Barsky clipping).
inline bool segment_crosses(double x0, double y0, double x1, double y1, const box& b) {
  double t0 = 0, t1 = 1;
  const double dx = x1 - x0, dy = y1 - y0;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {x0 - b.x, b.x + b.w - x0, y0 - b.y, b.y + b.h - y0};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
    } else {
      const double t = q[i] / p[i];
      if (p[i] < 0) t0 = std::max(t0, t);
      else t1 = std::min(t1, t);
      if (t0 > t1) return false;
    }
  }
  return true;
}

/// A point's number as placed in the chart: its box, and a leader line when it sits away from the point.
struct chart_label {
  box where;
  bool leader = false;
  double lx0 = 0, ly0 = 0, lx1 = 0, ly1 = 0;  // the leader line, from the marker's edge to the box's edge
};

/// Everything the SVG draws, computed apart from the drawing so that the tests can check it.
struct chart_layout {
  double width = 0, height = 0;
  box plot;                          // the axes' rectangle
  double lx0 = 0, lx1 = 1;           // log10(bytes) at the left and right edges
  double y0 = 0, y1 = 100, y_step = 1;  // accuracy at the bottom and top edges, grid step
  std::vector<double> x_labelled;    // bytes: every decade and its 2x and 5x multiples in range
  std::vector<double> x_minor;       // bytes: the other multiples (grid lines only)
  std::vector<double> y_ticks;
  std::vector<double> px, py;        // each result's marker centre
  std::vector<chart_label> labels;   // each result's number
  double key_x = 0, key_y = 0;       // where the key (groups, then the numbered names) starts
  static constexpr double marker_r = 5, label_h = 13, font = 11, key_row = 15;

  double x_of(double bytes) const { return plot.x + (std::log10(std::max(bytes, 1.0)) - lx0) / (lx1 - lx0) * plot.w; }
  double y_of(double acc) const { return plot.y + (y1 - acc) / (y1 - y0) * plot.h; }
  static double label_w(std::size_t number) { return 6.5 * static_cast<double>(std::to_string(number).size()) + 4; }
  box marker_box(std::size_t i) const {
    return {px[i] - marker_r - 1, py[i] - marker_r - 1, 2 * marker_r + 2, 2 * marker_r + 2};
  }
};

/// Groups in order of first appearance.
inline std::vector<std::string> chart_groups(const std::vector<result>& rs) {
  std::vector<std::string> g;
  for (const result& r : rs)
    if (std::find(g.begin(), g.end(), r.group) == g.end()) g.push_back(r.group);
  return g;
}

inline chart_layout layout_chart(const std::vector<result>& rs) {
  chart_layout c;
  const double left = 80, top = 64, plot_w = 660, plot_h = 520, bottom = 62, gap = 36, key_w = 330;
  double bmin = 1e300, bmax = 0, amin = 100, amax = 0;
  for (const result& r : rs) {
    bmin = std::min(bmin, static_cast<double>(std::max<std::size_t>(r.bytes, 1)));
    bmax = std::max(bmax, static_cast<double>(std::max<std::size_t>(r.bytes, 1)));
    amin = std::min(amin, r.accuracy);
    amax = std::max(amax, r.accuracy);
  }
  if (rs.empty()) bmin = 1e4, bmax = 1e6, amin = 0, amax = 100;
  // Margins: no marker on the frame. At least half a decade wide, so a 2x or 5x tick is always in range.
  double l0 = std::log10(bmin), l1 = std::log10(bmax);
  const double xpad = std::max(0.08, 0.06 * (l1 - l0));
  l0 -= xpad;
  l1 += xpad;
  if (l1 - l0 < 0.5) {
    const double mid = (l0 + l1) / 2;
    l0 = mid - 0.25;
    l1 = mid + 0.25;
  }
  c.lx0 = l0;
  c.lx1 = l1;
  const double ypad = std::max(0.4, 0.05 * (amax - amin));
  const double lo = amin - ypad, hi = amax + ypad;
  for (double step : {0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0}) {
    c.y_step = step;
    if ((hi - lo) / step <= 12) break;
  }
  c.y0 = std::floor(lo / c.y_step) * c.y_step;
  c.y1 = std::ceil(hi / c.y_step) * c.y_step;
  for (double a = c.y0; a <= c.y1 + 1e-9; a += c.y_step) c.y_ticks.push_back(a);
  for (double e = std::floor(l0); e <= std::ceil(l1); e += 1) {
    for (int m = 1; m < 10; ++m) {
      const double v = std::pow(10.0, e) * m, lv = std::log10(v);
      if (lv < l0 || lv > l1) continue;
      (m == 1 || m == 2 || m == 5 ? c.x_labelled : c.x_minor).push_back(v);
    }
  }
  c.plot = {left, top, plot_w, plot_h};
  c.key_x = left + plot_w + gap;
  c.key_y = top;
  const double key_h = static_cast<double>(chart_groups(rs).size() + rs.size()) * chart_layout::key_row + 12;
  // The key is as wide as its longest name needs (~6.3 px a character at the key's 11 px font).
  std::size_t longest = 0;
  for (const result& r : rs) longest = std::max(longest, display_width(r.name));
  c.width = c.key_x + std::max(key_w, 48 + 6.3 * static_cast<double>(longest));
  c.height = std::max(top + plot_h + bottom, top + key_h + 16);
  for (const result& r : rs) {
    c.px.push_back(c.x_of(static_cast<double>(r.bytes)));
    c.py.push_back(c.y_of(r.accuracy));
  }

  // Numbers: each at the first free spot on rings of growing radius around its marker (right first, then
  // above, below, left), inside the plot, clear of every marker, number and leader line placed so far; a
  // number away from its marker gets a leader line.
  const box inner{c.plot.x + 2, c.plot.y + 2, c.plot.w - 4, c.plot.h - 4};
  std::vector<box> markers;
  for (std::size_t i = 0; i < rs.size(); ++i) markers.push_back(c.marker_box(i));
  std::vector<box> placed;
  struct segment { double x0, y0, x1, y1; };
  std::vector<segment> leaders;
  const double pi = 3.14159265358979323846;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const double w = chart_layout::label_w(i + 1), h = chart_layout::label_h;
    const double x = c.px[i], y = c.py[i];
    chart_label best;
    bool found = false;
    for (double r : {0.0, 12.0, 24.0, 38.0, 54.0, 72.0, 92.0, 115.0, 140.0, 170.0, 205.0, 245.0}) {
      const int directions = r == 0 ? 4 : 16;
      for (int d = 0; d < directions && !found; ++d) {
        chart_label l;
        if (r == 0) {  // touching the marker: right, above, below, left
          const double o = chart_layout::marker_r + 2;
          const box spots[4] = {{x + o, y - h / 2, w, h}, {x - w / 2, y - o - h, w, h}, {x - w / 2, y + o, w, h},
                                {x - o - w, y - h / 2, w, h}};
          l.where = spots[d];
        } else {
          // 0, ±22.5°, ±45°, … alternating around "right", so a label prefers the side it started on.
          const double k = (d + 1) / 2, sign = d % 2 == 0 ? 1 : -1;
          const double a = sign * k * pi / 8;
          const double cx = x + std::cos(a) * (r + chart_layout::marker_r + w / 2);
          const double cy = y + std::sin(a) * (r + chart_layout::marker_r + h / 2);
          l.where = {cx - w / 2, cy - h / 2, w, h};
          // The leader: from the marker's edge towards the box, stopping at the box's edge.
          const double dx = cx - x, dy = cy - y, len = std::hypot(dx, dy);
          const double tx = std::abs(dx) > 1e-9 ? (w / 2) / std::abs(dx) : 1e9, ty = std::abs(dy) > 1e-9 ? (h / 2) / std::abs(dy) : 1e9;
          const double t_box = 1 - std::min(tx, ty);
          l.leader = true;
          l.lx0 = x + dx / len * (chart_layout::marker_r + 1);
          l.ly0 = y + dy / len * (chart_layout::marker_r + 1);
          l.lx1 = x + dx * t_box;
          l.ly1 = y + dy * t_box;
        }
        if (!l.where.inside(inner)) continue;
        bool clear = true;
        for (std::size_t j = 0; j < markers.size() && clear; ++j) clear = !l.where.overlaps(markers[j], 1);
        for (const box& b : placed) clear = clear && !l.where.overlaps(b, 2);
        for (const segment& s : leaders) clear = clear && !segment_crosses(s.x0, s.y0, s.x1, s.y1, l.where);
        if (l.leader) {
          for (const box& b : placed) clear = clear && !segment_crosses(l.lx0, l.ly0, l.lx1, l.ly1, b);
          for (std::size_t j = 0; j < markers.size() && clear; ++j)  // markers on top of this one do not count
            if (!markers[j].overlaps(markers[i])) clear = !segment_crosses(l.lx0, l.ly0, l.lx1, l.ly1, markers[j]);
        }
        if (clear) {
          best = l;
          found = true;
        }
      }
      if (found) break;
    }
    if (!found) best.where = {x + chart_layout::marker_r + 2, y - h / 2, w, h};  // nowhere free: beside it
    placed.push_back(best.where);
    if (best.leader) leaders.push_back({best.lx0, best.ly0, best.lx1, best.ly1});
    c.labels.push_back(best);
  }
  return c;
}

/// Accuracy against file size (log scale): one colour per group, the float controls as diamonds, every
/// point numbered as its table row (leader lines where the numbers had to move away), a key beside the plot.
inline std::string svg_chart(const std::vector<result>& rs, const std::string& title) {
  const chart_layout c = layout_chart(rs);
  const char* palette[] = {"#1f77b4", "#7f7f7f", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                           "#bcbd22", "#393b79", "#ad494a"};
  const std::vector<std::string> groups = chart_groups(rs);
  std::map<std::string, std::string> colour;
  for (std::size_t g = 0; g < groups.size(); ++g) colour[groups[g]] = palette[g % 12];
  const auto marker = [&](double x, double y, const std::string& group, const std::string& tip) {
    std::ostringstream m;
    const double r = chart_layout::marker_r;
    if (group == control_group) {
      m << "<path d=\"M" << x << "," << y - r - 1 << " L" << x + r + 1 << "," << y << " L" << x << "," << y + r + 1 << " L" << x - r - 1
        << "," << y << " Z\" fill=\"white\" stroke=\"" << colour[group] << "\" stroke-width=\"2\">";
    } else {
      m << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"" << r << "\" fill=\"" << colour[group] << "\" fill-opacity=\"0.85\">";
    }
    m << "<title>" << xml_escape(tip) << "</title>" << (group == control_group ? "</path>" : "</circle>") << "\n";
    return m.str();
  };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << c.width << "\" height=\"" << c.height << "\" viewBox=\"0 0 " << c.width << " "
    << c.height << "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << c.plot.x << "\" y=\"26\" font-size=\"16\">" << xml_escape(title) << "</text>\n";
  o << "<text x=\"" << c.plot.x << "\" y=\"46\" font-size=\"11\" fill=\"#555\">numbers are the table's rows; "
       "diamonds: float controls trained as long as the fine-tuned variants, uncompressed</text>\n";
  const box& p = c.plot;
  for (double v : c.x_minor)
    o << "<line x1=\"" << c.x_of(v) << "\" y1=\"" << p.y << "\" x2=\"" << c.x_of(v) << "\" y2=\"" << p.y + p.h << "\" stroke=\"#f0f0f0\"/>\n";
  for (double a : c.y_ticks) {
    o << "<line x1=\"" << p.x << "\" y1=\"" << c.y_of(a) << "\" x2=\"" << p.x + p.w << "\" y2=\"" << c.y_of(a) << "\" stroke=\"#e4e4e4\"/>\n";
    o << "<line x1=\"" << p.x - 5 << "\" y1=\"" << c.y_of(a) << "\" x2=\"" << p.x << "\" y2=\"" << c.y_of(a) << "\" stroke=\"#444\"/>\n";
    o << "<text x=\"" << p.x - 8 << "\" y=\"" << c.y_of(a) + 4 << "\" text-anchor=\"end\">" << fmt(c.y_step < 1 ? "%.1f" : "%.0f", a) << "</text>\n";
  }
  for (double v : c.x_labelled) {
    const double x = c.x_of(v);
    const bool decade = std::abs(std::log10(v) - std::round(std::log10(v))) < 1e-9;
    o << "<line x1=\"" << x << "\" y1=\"" << p.y << "\" x2=\"" << x << "\" y2=\"" << p.y + p.h << "\" stroke=\"" << (decade ? "#c8c8c8" : "#e4e4e4") << "\"/>\n";
    o << "<line x1=\"" << x << "\" y1=\"" << p.y + p.h << "\" x2=\"" << x << "\" y2=\"" << p.y + p.h + 5 << "\" stroke=\"#444\"/>\n";
    const std::string label = v >= 1e6 ? fmt("%g MB", v / 1e6) : v >= 1e3 ? fmt("%g kB", v / 1e3) : fmt("%g B", v);
    o << "<text x=\"" << x << "\" y=\"" << p.y + p.h + 19 << "\" text-anchor=\"middle\">" << label << "</text>\n";
  }
  o << "<rect x=\"" << p.x << "\" y=\"" << p.y << "\" width=\"" << p.w << "\" height=\"" << p.h << "\" fill=\"none\" stroke=\"#444\"/>\n";
  o << "<text x=\"" << p.x + p.w / 2 << "\" y=\"" << p.y + p.h + 44 << "\" text-anchor=\"middle\">file size (bytes, log scale)</text>\n";
  o << "<text transform=\"translate(24," << p.y + p.h / 2 << ") rotate(-90)\" text-anchor=\"middle\">test accuracy (%)</text>\n";
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const chart_label& l = c.labels[i];
    if (l.leader) o << "<line x1=\"" << l.lx0 << "\" y1=\"" << l.ly0 << "\" x2=\"" << l.lx1 << "\" y2=\"" << l.ly1 << "\" stroke=\"#888\" stroke-width=\"0.8\"/>\n";
  }
  for (std::size_t k = rs.size(); k-- > 0;) {  // the first rows (float32, the controls) on top
    const std::size_t i = k;
    const result& r = rs[i];
    o << marker(c.px[i], c.py[i], r.group, std::to_string(i + 1) + ". " + r.name + ": " + fmt("%.2f", r.accuracy) + " %, " + format_bytes(r.bytes) + " bytes" +
                                   (r.gzip_bytes == 0 ? std::string() : ", " + format_bytes(r.gzip_bytes) + " after gzip"));
  }
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const box& b = c.labels[i].where;
    o << "<text x=\"" << b.x + b.w / 2 << "\" y=\"" << b.y + b.h - 3 << "\" font-size=\"" << chart_layout::font << "\" text-anchor=\"middle\">"
      << i + 1 << "</text>\n";
  }
  // The key: groups, then every row's number and name with its group's marker.
  double ky = c.key_y;
  for (const std::string& g : groups) {
    o << marker(c.key_x + 6, ky + 7, g, g);
    o << "<text x=\"" << c.key_x + 18 << "\" y=\"" << ky + 11 << "\" font-weight=\"bold\">" << xml_escape(g) << "</text>\n";
    ky += chart_layout::key_row;
  }
  ky += 12;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    o << marker(c.key_x + 6, ky + 7, rs[i].group, rs[i].group);
    o << "<text x=\"" << c.key_x + 36 << "\" y=\"" << ky + 11 << "\" font-size=\"" << chart_layout::font << "\" text-anchor=\"end\">" << i + 1 << "</text>";
    o << "<text x=\"" << c.key_x + 42 << "\" y=\"" << ky + 11 << "\" font-size=\"" << chart_layout::font << "\">" << xml_escape(rs[i].name) << "</text>\n";
    ky += chart_layout::key_row;
  }
  o << "</svg>\n";
  return o.str();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace demo
