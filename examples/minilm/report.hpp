// examples/minilm/report.hpp — the pieces of `minilm --report` (docs/transformer.md): the corpus, the
// quality measures, the latency inputs, the peers' timings and the SVG charts.
//
//   auto corpus = minilm::load_corpus("/usr/share/games/fortunes");   // fortune files: entries split on "%"
//   minilm::cosine_stats c = minilm::compare(reference, variant, rows, dim);
//   double r = minilm::recall_at_k(reference, variant, rows, dim, queries, 10);
//   auto peers = minilm::read_peers("peers.json");                   // the peer script's timings
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace minilm {

// ---------------------------------------------------------------------------------------------- corpus

/// Collapses every run of white space (space, tab, CR, LF, FF, VT) to one space and trims both ends.
inline std::string collapse_whitespace(const std::string& s) {
  std::string out;
  bool space = false;
  for (const char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = true;
    } else {
      if (space && !out.empty()) out += ' ';
      space = false;
      out += c;
    }
  }
  return out;
}

/// The entries of a fortune file's text: split on lines that are exactly "%", white space collapsed.
/// Text without any "%" line is one entry per line. Empty entries are dropped (not deduplicated here).
inline std::vector<std::string> split_fortunes(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  const bool fortune = std::find(lines.begin(), lines.end(), "%") != lines.end();
  std::vector<std::string> out;
  std::string cur;
  const auto flush = [&] {
    std::string e = collapse_whitespace(cur);
    if (!e.empty()) out.push_back(std::move(e));
    cur.clear();
  };
  for (const std::string& l : lines) {
    if (fortune && l == "%") {
      flush();
    } else {
      cur += l;
      cur += '\n';
      if (!fortune) flush();
    }
  }
  flush();
  return out;
}

/// Keeps the first occurrence of each entry, in order.
inline std::vector<std::string> deduplicate(const std::vector<std::string>& entries) {
  std::unordered_set<std::string> seen;
  std::vector<std::string> out;
  for (const std::string& e : entries) {
    if (seen.insert(e).second) out.push_back(e);
  }
  return out;
}

/// The corpus of the report: a directory of fortune files (every regular file not ending in .dat or .u8,
/// sorted by name — the layout of Debian's `fortunes` package) or one file; entries split, collapsed,
/// deduplicated. A missing path is an error naming the Debian package when it is the default one.
inline std::vector<std::string> load_corpus(const std::string& path, std::string* description = nullptr) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw std::runtime_error("minilm: no corpus at " + path +
                             (path == "/usr/share/games/fortunes"
                                  ? " (the default corpus is Debian's fortunes package: apt-get install fortunes)"
                                  : ""));
  }
  std::vector<fs::path> files;
  if (fs::is_directory(path)) {
    for (const auto& e : fs::directory_iterator(path)) {
      const std::string ext = e.path().extension().string();
      if (ext == ".dat" || ext == ".u8" || !e.is_regular_file() || e.is_symlink()) continue;
      files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::vector<std::string> all;
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) throw std::runtime_error("minilm: cannot read the corpus file " + f.string());
    std::stringstream ss;
    ss << in.rdbuf();
    for (std::string& e : split_fortunes(ss.str())) all.push_back(std::move(e));
  }
  std::vector<std::string> out = deduplicate(all);
  if (out.empty()) throw std::runtime_error("minilm: the corpus at " + path + " has no entries");
  if (description != nullptr) {
    *description = std::to_string(out.size()) + " distinct entries of " + std::to_string(files.size()) +
                   (files.size() == 1 ? " file" : " files") + " in " + path;
  }
  return out;
}

// --------------------------------------------------------------------------------------------- quality

/// The cosine similarity of two vectors (in double); 0 when either is all zeros.
inline double cosine(const float* a, const float* b, std::size_t n) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return aa > 0.0 && bb > 0.0 ? ab / std::sqrt(aa * bb) : 0.0;
}

struct cosine_stats {
  double mean = 0.0;
  double worst = 1.0;
  std::size_t worst_row = 0;
};

/// Row-wise cosine of b's rows to a's (rows × dim each): the mean and the worst row.
inline cosine_stats compare(const std::vector<float>& a, const std::vector<float>& b, std::size_t rows, std::size_t dim) {
  if (a.size() != rows * dim || b.size() != rows * dim) throw std::runtime_error("minilm: compare: sizes differ from rows x dim");
  cosine_stats s;
  if (rows == 0) return s;
  double sum = 0.0;
  for (std::size_t r = 0; r < rows; ++r) {
    const double c = cosine(&a[r * dim], &b[r * dim], dim);
    sum += c;
    if (c < s.worst) {
      s.worst = c;
      s.worst_row = r;
    }
  }
  s.mean = sum / static_cast<double>(rows);
  return s;
}

/// The k rows of e (rows × dim, unit vectors) nearest to row q by dot product, q itself excluded; ties go
/// to the lower index. Fewer than k when the corpus has fewer other rows.
inline std::vector<std::size_t> nearest(const std::vector<float>& e, std::size_t rows, std::size_t dim, std::size_t q,
                                        std::size_t k) {
  std::vector<std::pair<double, std::size_t>> scored;
  scored.reserve(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    if (r == q) continue;
    double d = 0.0;
    for (std::size_t c = 0; c < dim; ++c) d += static_cast<double>(e[q * dim + c]) * e[r * dim + c];
    scored.emplace_back(-d, r);
  }
  const std::size_t kk = std::min(k, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(kk), scored.end());
  std::vector<std::size_t> out(kk);
  for (std::size_t i = 0; i < kk; ++i) out[i] = scored[i].second;
  return out;
}

/// Mean over the queries of |reference's k nearest ∩ variant's k nearest| / k (each query excluded from
/// its own neighbours): how well the variant keeps the float model's retrieval.
inline double recall_at_k(const std::vector<float>& reference, const std::vector<float>& variant, std::size_t rows,
                          std::size_t dim, const std::vector<std::size_t>& queries, std::size_t k) {
  if (reference.size() != rows * dim || variant.size() != rows * dim) {
    throw std::runtime_error("minilm: recall_at_k: sizes differ from rows x dim");
  }
  if (queries.empty() || k == 0 || rows < 2) throw std::runtime_error("minilm: recall_at_k needs queries, k >= 1 and two rows");
  double sum = 0.0;
  for (const std::size_t q : queries) {
    if (q >= rows) throw std::runtime_error("minilm: recall_at_k: query " + std::to_string(q) + " is not a row");
    const std::vector<std::size_t> a = nearest(reference, rows, dim, q, k);
    std::vector<std::size_t> b = nearest(variant, rows, dim, q, k);
    std::sort(b.begin(), b.end());
    std::size_t hit = 0;
    for (const std::size_t r : a) hit += std::binary_search(b.begin(), b.end(), r) ? 1u : 0u;
    sum += static_cast<double>(hit) / static_cast<double>(a.size());
  }
  return sum / static_cast<double>(queries.size());
}

/// recall_at_k from the reference's neighbour lists (nearest(reference, ..., queries[i], k) for each i).
inline double recall_at_k(const std::vector<std::vector<std::size_t>>& reference_neighbours, const std::vector<float>& variant,
                          std::size_t rows, std::size_t dim, const std::vector<std::size_t>& queries, std::size_t k) {
  if (reference_neighbours.size() != queries.size()) throw std::runtime_error("minilm: recall_at_k: one neighbour list per query");
  if (variant.size() != rows * dim) throw std::runtime_error("minilm: recall_at_k: sizes differ from rows x dim");
  double sum = 0.0;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const std::vector<std::size_t>& a = reference_neighbours[i];
    std::vector<std::size_t> b = nearest(variant, rows, dim, queries[i], k);
    std::sort(b.begin(), b.end());
    std::size_t hit = 0;
    for (const std::size_t r : a) hit += std::binary_search(b.begin(), b.end(), r) ? 1u : 0u;
    sum += a.empty() ? 1.0 : static_cast<double>(hit) / static_cast<double>(a.size());
  }
  return sum / static_cast<double>(queries.size());
}

// --------------------------------------------------------------------------------------------- latency

/// The latency inputs: `count` sequences of `length` tokens, [CLS], then ids 1000 + (r mod 29000) for r
/// the successive outputs of one std::mt19937 seeded 23 (clipped to the vocabulary: r mod (vocab - lo) + lo
/// with lo = min(1000, vocab / 2) for a smaller vocabulary), then [SEP].
inline std::vector<std::vector<std::int32_t>> latency_ids(std::size_t count, std::size_t length, std::int32_t cls,
                                                          std::int32_t sep, std::int32_t vocab_size,
                                                          std::mt19937& gen) {
  if (length < 2) throw std::runtime_error("minilm: latency sequences need at least 2 tokens");
  const std::uint32_t lo = vocab_size >= 30000 ? 1000u : static_cast<std::uint32_t>(std::min(1000, vocab_size / 2));
  const std::uint32_t span = vocab_size >= 30000 ? 29000u : static_cast<std::uint32_t>(vocab_size) - lo;
  std::vector<std::vector<std::int32_t>> out(count);
  for (auto& s : out) {
    s.push_back(cls);
    for (std::size_t i = 0; i + 2 < length; ++i) s.push_back(static_cast<std::int32_t>(lo + gen() % span));
    s.push_back(sep);
  }
  return out;
}

/// The median of a non-empty list.
inline double median(std::vector<double> v) {
  if (v.empty()) throw std::runtime_error("minilm: median of nothing");
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// ----------------------------------------------------------------------------------------------- peers

struct peer_row {
  std::string peer;
  int batch = 0;
  int threads = 0;
  double ms = 0.0;
};

struct peer_timings {
  int tokens = 0;
  std::vector<peer_row> rows;
};

/// Parses the peer script's JSON: {"tokens": 128, "rows": [{"peer": "...", "batch": 1, "threads": 1,
/// "ms": 12.3}, ...]}. A missing or mistyped field is an error naming it ("rows[2].ms").
inline peer_timings parse_peers(const std::string& text, const std::string& where = "peers") {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("minilm: " + where + ": not JSON (" + e.what() + ")");
  }
  const auto fail = [&](const std::string& field, const std::string& what) {
    throw std::runtime_error("minilm: " + where + ": " + field + " " + what);
  };
  if (!j.is_object()) fail("the document", "must be an object");
  peer_timings p;
  if (!j.contains("tokens") || !j["tokens"].is_number_integer()) fail("tokens", "must be an integer");
  p.tokens = j["tokens"].get<int>();
  if (p.tokens < 1) fail("tokens", "must be positive, got " + std::to_string(p.tokens));
  if (!j.contains("rows") || !j["rows"].is_array()) fail("rows", "must be an array");
  for (std::size_t i = 0; i < j["rows"].size(); ++i) {
    const nlohmann::json& r = j["rows"][i];
    const std::string at = "rows[" + std::to_string(i) + "]";
    if (!r.is_object()) fail(at, "must be an object");
    peer_row row;
    if (!r.contains("peer") || !r["peer"].is_string() || r["peer"].get<std::string>().empty()) {
      fail(at + ".peer", "must be a non-empty string");
    }
    row.peer = r["peer"].get<std::string>();
    for (const char* f : {"batch", "threads"}) {
      if (!r.contains(f) || !r[f].is_number_integer() || r[f].get<long long>() < 1 || r[f].get<long long>() > 1 << 20) {
        fail(at + "." + f, "must be a positive integer");
      }
    }
    row.batch = r["batch"].get<int>();
    row.threads = r["threads"].get<int>();
    if (!r.contains("ms") || !r["ms"].is_number() || !(r["ms"].get<double>() > 0.0) || !std::isfinite(r["ms"].get<double>())) {
      fail(at + ".ms", "must be a positive number");
    }
    row.ms = r["ms"].get<double>();
    p.rows.push_back(row);
  }
  return p;
}

inline peer_timings read_peers(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("minilm: cannot open the peers file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_peers(ss.str(), path);
}

/// The peers' names in first-seen order.
inline std::vector<std::string> peer_names(const peer_timings& p) {
  std::vector<std::string> names;
  for (const peer_row& r : p.rows) {
    if (std::find(names.begin(), names.end(), r.peer) == names.end()) names.push_back(r.peer);
  }
  return names;
}

/// A peer's time at (batch, threads), or a negative value when the file has none.
inline double peer_ms(const peer_timings& p, const std::string& peer, int batch, int threads) {
  for (const peer_row& r : p.rows) {
    if (r.peer == peer && r.batch == batch && r.threads == threads) return r.ms;
  }
  return -1.0;
}

// ------------------------------------------------------------------------------------------------- SVG

/// Escapes text for SVG.
inline std::string xml_escape(const std::string& s) {
  std::string o;
  for (const char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

struct scatter_point {
  std::string label;
  double x = 0.0;  // MB
  double y = 0.0;  // quality
};

/// A scatter chart, each point labelled; y on a log scale (decade ticks), x linear from 0.
inline std::string scatter_svg(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                               const std::vector<scatter_point>& pts) {
  const double w = 760, h = 480, l = 70, r = 200, t = 40, b = 50;
  double x0 = 0.0, x1 = 1e-3, y0 = 0.0, y1 = -1.0;
  for (const auto& p : pts) {
    x1 = std::max(x1, p.x);
    y0 = std::min(y0, std::floor(std::log10(p.y)));
    y1 = std::max(y1, std::ceil(std::log10(p.y)));
  }
  x1 *= 1.08;
  if (y1 <= y0) y1 = y0 + 1;
  const auto px = [&](double x) { return l + (x - x0) / (x1 - x0) * (w - l - r); };
  const auto py = [&](double y) { return t + (y1 - std::log10(y)) / (y1 - y0) * (h - t - b); };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", w) + "\" height=\"" + fmt("%.0f", h) +
                  "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + fmt("%.0f", w / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + xml_escape(title) + "</text>\n";
  s += "<line x1=\"" + fmt("%.1f", l) + "\" y1=\"" + fmt("%.1f", h - b) + "\" x2=\"" + fmt("%.1f", w - r) + "\" y2=\"" +
       fmt("%.1f", h - b) + "\" stroke=\"black\"/>\n";
  s += "<line x1=\"" + fmt("%.1f", l) + "\" y1=\"" + fmt("%.1f", t) + "\" x2=\"" + fmt("%.1f", l) + "\" y2=\"" + fmt("%.1f", h - b) +
       "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 5; ++i) {
    const double xv = x0 + (x1 - x0) * i / 5.0;
    s += "<text x=\"" + fmt("%.1f", px(xv)) + "\" y=\"" + fmt("%.1f", h - b + 16) + "\" text-anchor=\"middle\">" +
         fmt("%.1f", xv) + "</text>\n";
  }
  for (double d = y0; d <= y1 + 0.5; d += 1.0) {
    const double yv = std::pow(10.0, d);
    s += "<text x=\"" + fmt("%.1f", l - 6) + "\" y=\"" + fmt("%.1f", py(yv) + 4) + "\" text-anchor=\"end\">1e" + fmt("%.0f", d) +
         "</text>\n";
    s += "<line x1=\"" + fmt("%.1f", l) + "\" y1=\"" + fmt("%.1f", py(yv)) + "\" x2=\"" + fmt("%.1f", w - r) + "\" y2=\"" +
         fmt("%.1f", py(yv)) + "\" stroke=\"#ddd\"/>\n";
  }
  s += "<text x=\"" + fmt("%.0f", (l + w - r) / 2) + "\" y=\"" + fmt("%.0f", h - 10) + "\" text-anchor=\"middle\">" +
       xml_escape(xlabel) + "</text>\n";
  s += "<text transform=\"translate(16," + fmt("%.0f", (t + h - b) / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       xml_escape(ylabel) + "</text>\n";
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const auto& p = pts[i];
    s += "<circle cx=\"" + fmt("%.1f", px(p.x)) + "\" cy=\"" + fmt("%.1f", py(p.y)) + "\" r=\"4\" fill=\"#1f77b4\"/>\n";
    s += "<text x=\"" + fmt("%.1f", px(p.x) + 6) + "\" y=\"" + fmt("%.1f", py(p.y) + (i % 2 == 0 ? 4.0 : 13.0)) +
         "\" font-size=\"10\">" + xml_escape(p.label) + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

struct bar_group {
  std::string label;
  std::vector<double> values;  // one per series; negative: absent
  bool peer = false;
};

/// Horizontal grouped bars (one group per row, one bar per series), each panel its own scale.
inline std::string bars_svg(const std::string& title, const std::vector<std::string>& panels,
                            const std::vector<std::string>& series, const std::vector<std::vector<bar_group>>& data) {
  const double label_w = 190, panel_w = 330, bar_h = 7, gap = 6, t = 60;
  const std::size_t groups = data.empty() ? 0 : data[0].size();
  const double group_h = static_cast<double>(series.size()) * bar_h + gap;
  const double w = label_w + static_cast<double>(panels.size()) * (panel_w + 20), h = t + static_cast<double>(groups) * group_h + 30;
  const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", w) + "\" height=\"" + fmt("%.0f", h) +
                  "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + fmt("%.0f", w / 2) + "\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">" + xml_escape(title) + "</text>\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    s += "<rect x=\"" + fmt("%.0f", label_w + static_cast<double>(k) * 110) + "\" y=\"30\" width=\"10\" height=\"10\" fill=\"" +
         colors[k % 4] + "\"/><text x=\"" + fmt("%.0f", label_w + static_cast<double>(k) * 110 + 14) + "\" y=\"39\">" +
         xml_escape(series[k]) + "</text>\n";
  }
  for (std::size_t g = 0; g < groups; ++g) {
    const double y = t + static_cast<double>(g) * group_h;
    s += std::string("<text x=\"") + fmt("%.0f", label_w - 6) + "\" y=\"" + fmt("%.1f", y + group_h / 2) +
         "\" text-anchor=\"end\"" + (data[0][g].peer ? " font-style=\"italic\"" : "") + ">" + xml_escape(data[0][g].label) +
         "</text>\n";
  }
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const double x0 = label_w + static_cast<double>(p) * (panel_w + 20);
    double mx = 0.0;
    for (const auto& g : data[p]) {
      for (double v : g.values) mx = std::max(mx, v);
    }
    if (mx <= 0.0) mx = 1.0;
    s += "<text x=\"" + fmt("%.0f", x0 + panel_w / 2) + "\" y=\"54\" text-anchor=\"middle\">" + xml_escape(panels[p]) + "</text>\n";
    for (std::size_t g = 0; g < data[p].size(); ++g) {
      for (std::size_t k = 0; k < data[p][g].values.size(); ++k) {
        const double v = data[p][g].values[k];
        if (v < 0.0) continue;
        const double y = t + static_cast<double>(g) * group_h + static_cast<double>(k) * bar_h;
        const double bw = v / mx * (panel_w - 60);
        s += "<rect x=\"" + fmt("%.1f", x0) + "\" y=\"" + fmt("%.1f", y) + "\" width=\"" + fmt("%.1f", bw) + "\" height=\"" +
             fmt("%.1f", bar_h - 1) + "\" fill=\"" + colors[k % 4] + "\"/>\n";
        s += "<text x=\"" + fmt("%.1f", x0 + bw + 3) + "\" y=\"" + fmt("%.1f", y + bar_h - 1) + "\" font-size=\"8\">" +
             fmt(v < 10 ? "%.2f" : "%.0f", v) + "</text>\n";
      }
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace minilm
