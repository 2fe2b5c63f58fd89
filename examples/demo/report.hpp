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
  std::string group;    // float | post-training | QAT | pruned float | pruned + int8 PTQ | pruned + int8 QAT
  std::string kernel;   // what runs it
  std::string file;     // file name in the output directory
  double accuracy = 0;  // percent, on the re-loaded file
  double delta = 0;     // points vs the float baseline
  std::size_t bytes = 0;
  double ratio = 1;       // float32 file bytes / this file's bytes
  double latency_1 = 0;   // µs, batch 1, median
  double latency_256 = 0; // ms, batch 256, median
  double sparsity = 0;    // fraction of zero weights
};

inline std::string format_bytes(std::size_t b) {
  std::string s = std::to_string(b);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

/// Rows of cells: header first.
inline std::vector<std::vector<std::string>> table_cells(const std::vector<result>& rs) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"variant", "accuracy %", "Δ vs float", "file bytes", "ratio", "batch 1 µs", "batch 256 ms", "kernel"});
  for (const result& r : rs) {
    rows.push_back({r.name, fmt("%.2f", r.accuracy), fmt("%+.2f", r.delta), format_bytes(r.bytes), fmt("%.1fx", r.ratio),
                    fmt("%.1f", r.latency_1), fmt("%.3f", r.latency_256), r.kernel});
  }
  return rows;
}

/// Display width of a UTF-8 string (counts code points; the table's symbols are one column wide).
inline std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

inline std::string text_table(const std::vector<result>& rs) {
  const auto rows = table_cells(rs);
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], display_width(r[c]));
  std::ostringstream out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t c = 0; c < rows[i].size(); ++c) {
      const std::string& cell = rows[i][c];
      const std::string pad(width[c] - display_width(cell), ' ');
      const bool left = c == 0 || c + 1 == rows[i].size();
      out << (c == 0 ? "" : "  ") << (left ? cell + pad : pad + cell);
    }
    out << "\n";
    if (i == 0) {
      std::size_t total = 0;
      for (std::size_t w : width) total += w + 2;
      out << std::string(total - 2, '-') << "\n";
    }
  }
  return out.str();
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
      for (std::size_t c = 0; c < rows[i].size(); ++c) out << (c == 0 || c + 1 == rows[i].size() ? " --- |" : " ---: |");
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

/// Accuracy against file size (log scale), one colour per group, every point labelled by its row number.
inline std::string svg_chart(const std::vector<result>& rs, const std::string& title) {
  const double W = 960, H = 600, left = 70, right = 300, top = 50, bottom = 60;
  const double pw = W - left - right, ph = H - top - bottom;
  double bmin = 1e300, bmax = 0, amin = 100, amax = 0;
  for (const result& r : rs) {
    bmin = std::min(bmin, static_cast<double>(r.bytes));
    bmax = std::max(bmax, static_cast<double>(r.bytes));
    amin = std::min(amin, r.accuracy);
    amax = std::max(amax, r.accuracy);
  }
  if (rs.empty()) bmin = 1, bmax = 10, amin = 0, amax = 100;
  const double lx0 = std::floor(std::log10(std::max(bmin, 1.0)) * 4) / 4, lx1 = std::ceil(std::log10(std::max(bmax, 10.0)) * 4) / 4 + 1e-9;
  const double y0 = std::floor(amin - 0.5), y1 = std::ceil(amax + 0.5);
  auto X = [&](double bytes) { return left + (std::log10(std::max(bytes, 1.0)) - lx0) / (lx1 - lx0) * pw; };
  auto Y = [&](double acc) { return top + (y1 - acc) / (y1 - y0) * ph; };
  const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  std::map<std::string, std::string> colour;
  for (const result& r : rs)
    if (!colour.count(r.group)) colour[r.group] = palette[colour.size() % 8];
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << left << "\" y=\"28\" font-size=\"16\">" << xml_escape(title) << "</text>\n";
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph << "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (double e = std::ceil(lx0); e <= lx1; e += 1) {
    for (int m = 1; m < 10; ++m) {
      const double v = std::pow(10.0, e) * m;
      if (std::log10(v) < lx0 || std::log10(v) > lx1) continue;
      const double x = X(v);
      o << "<line x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x << "\" y2=\"" << top + ph << "\" stroke=\"" << (m == 1 ? "#bbb" : "#eee") << "\"/>\n";
      if (m == 1 || m == 2 || m == 5) {
        std::string label = v >= 1e6 ? fmt("%.0f MB", v / 1e6) : v >= 1e3 ? fmt("%.0f kB", v / 1e3) : fmt("%.0f B", v);
        o << "<text x=\"" << x << "\" y=\"" << top + ph + 16 << "\" text-anchor=\"middle\">" << label << "</text>\n";
      }
    }
  }
  for (double a = y0; a <= y1 + 1e-9; a += (y1 - y0 > 8 ? 2 : 1)) {
    o << "<line x1=\"" << left << "\" y1=\"" << Y(a) << "\" x2=\"" << left + pw << "\" y2=\"" << Y(a) << "\" stroke=\"#eee\"/>\n";
    o << "<text x=\"" << left - 6 << "\" y=\"" << Y(a) + 4 << "\" text-anchor=\"end\">" << fmt("%.0f", a) << "</text>\n";
  }
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << H - 18 << "\" text-anchor=\"middle\">file size (bytes, log scale)</text>\n";
  o << "<text transform=\"translate(18," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">test accuracy (%)</text>\n";
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const result& r = rs[i];
    const double x = X(static_cast<double>(r.bytes)), y = Y(r.accuracy);
    o << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"5\" fill=\"" << colour[r.group] << "\" fill-opacity=\"0.8\"><title>"
      << xml_escape(r.name) << ": " << fmt("%.2f", r.accuracy) << " %, " << format_bytes(r.bytes) << " bytes</title></circle>\n";
    o << "<text x=\"" << x + 7 << "\" y=\"" << y - 5 << "\" font-size=\"10\">" << i + 1 << "</text>\n";
  }
  double ly = top;
  for (const auto& [group, c] : colour) {
    o << "<circle cx=\"" << left + pw + 20 << "\" cy=\"" << ly + 6 << "\" r=\"5\" fill=\"" << c << "\"/>";
    o << "<text x=\"" << left + pw + 30 << "\" y=\"" << ly + 10 << "\">" << xml_escape(group) << "</text>\n";
    ly += 18;
  }
  ly += 8;
  for (std::size_t i = 0; i < rs.size() && ly < H - 10; ++i) {
    o << "<text x=\"" << left + pw + 14 << "\" y=\"" << ly + 10 << "\" font-size=\"10\">" << i + 1 << ". " << xml_escape(rs[i].name) << "</text>\n";
    ly += 13;
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
