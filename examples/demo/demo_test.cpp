// Tests of the demo's own logic that is not training: latency statistics and their interleaving, the
// progress estimate, the output-folder check, the table and the chart's layout (ticks, margins, numbers
// that overlap nothing). The end-to-end run is the example_qsparse_demo_smoke test.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "latency.hpp"
#include "progress.hpp"
#include "report.hpp"

namespace {

/// A table like the full MLP run's: clusters of equal file size, accuracies within tenths of a point.
std::vector<demo::result> full_run_like() {
  struct row {
    const char* name;
    const char* group;
    double acc;
    std::size_t bytes;
  };
  const row rows[] = {
      {"float32", "float", 88.73, 941616},
      {"float32 control: +2 epochs at lr 1e-4", demo::control_group, 89.02, 941648},
      {"float32 control: +10 epochs", demo::control_group, 88.95, 941632},
      {"float32 control: +10 epochs, +2 at lr 1e-4", demo::control_group, 89.41, 941648},
      {"float16 weights", "post-training", 88.72, 472152},
      {"int8 dynamic range", "post-training", 88.70, 239304},
      {"int8 static, minmax, 100 samples", "post-training", 88.61, 239880},
      {"int8 static, minmax, 500 samples", "post-training", 88.66, 239880},
      {"int8 static, entropy, 100 samples", "post-training", 88.52, 239880},
      {"int8 static, entropy, 500 samples", "post-training", 88.64, 239880},
      {"int8 QAT", "QAT", 88.95, 239856},
      {"pruned 80% unstructured, float32", "pruned float", 89.30, 941640},
      {"pruned 80% unstructured + int8 PTQ", "pruned + int8 PTQ", 89.22, 81687},
      {"pruned 80% unstructured + int8 QAT", "pruned + int8 QAT", 89.45, 81687},
      {"pruned 90% unstructured, float32", "pruned float", 88.90, 941640},
      {"pruned 90% unstructured + int8 PTQ", "pruned + int8 PTQ", 88.81, 58211},
      {"pruned 90% unstructured + int8 QAT", "pruned + int8 QAT", 88.99, 58211},
      {"pruned 95% unstructured, float32", "pruned float", 87.80, 941640},
      {"pruned 95% unstructured + int8 PTQ", "pruned + int8 PTQ", 87.62, 46473},
      {"pruned 95% unstructured + int8 QAT", "pruned + int8 QAT", 87.91, 46473},
      {"pruned 80% block 4x16, float32", "pruned float", 88.70, 941640},
      {"pruned 80% block 4x16 + int8 PTQ", "pruned + int8 PTQ", 88.52, 57440},
      {"pruned 80% block 4x16 + int8 QAT", "pruned + int8 QAT", 88.80, 57440},
      {"pruned 90% block 4x16, float32", "pruned float", 87.75, 941640},
      {"pruned 90% block 4x16 + int8 PTQ", "pruned + int8 PTQ", 87.50, 32480},
      {"pruned 90% block 4x16 + int8 QAT", "pruned + int8 QAT", 87.77, 32480},
      {"pruned 95% block 4x16, float32", "pruned float", 85.90, 941640},
      {"pruned 95% block 4x16 + int8 PTQ", "pruned + int8 PTQ", 85.71, 20000},
      {"pruned 95% block 4x16 + int8 QAT", "pruned + int8 QAT", 85.98, 20000},
      {"pruned 2:4, float32", "pruned float", 89.12, 941624},
      {"pruned 2:4 + int8 PTQ", "pruned + int8 PTQ", 89.05, 154656},
      {"pruned 2:4 + int8 QAT", "pruned + int8 QAT", 89.21, 154656},
  };
  std::vector<demo::result> rs;
  for (const row& r : rows) {
    demo::result x;
    x.name = r.name;
    x.group = r.group;
    x.accuracy = r.acc;
    x.bytes = r.bytes;
    rs.push_back(x);
  }
  return rs;
}

void check_layout(const std::vector<demo::result>& rs) {
  const demo::chart_layout c = demo::layout_chart(rs);
  REQUIRE(c.labels.size() == rs.size());
  for (std::size_t i = 0; i < rs.size(); ++i) {
    INFO("row " << i + 1 << ": " << rs[i].name);
    // Margins: every marker wholly inside the frame.
    CHECK(c.marker_box(i).inside(c.plot));
    CHECK(c.labels[i].where.inside(c.plot));
    for (std::size_t j = 0; j < rs.size(); ++j) {
      CHECK_FALSE(c.labels[i].where.overlaps(c.marker_box(j)));
      if (j != i) CHECK_FALSE(c.labels[i].where.overlaps(c.labels[j].where));
      if (j != i && c.labels[j].leader)
        CHECK_FALSE(demo::segment_crosses(c.labels[j].lx0, c.labels[j].ly0, c.labels[j].lx1, c.labels[j].ly1, c.labels[i].where));
    }
    // A number away from its marker has a leader line that starts at the marker.
    const demo::box& b = c.labels[i].where;
    const double dist = std::hypot(b.x + b.w / 2 - c.px[i], b.y + b.h / 2 - c.py[i]);
    if (!c.labels[i].leader) CHECK(dist < demo::chart_layout::marker_r + b.w + 4);
    if (c.labels[i].leader)
      CHECK(std::hypot(c.labels[i].lx0 - c.px[i], c.labels[i].ly0 - c.py[i]) == Approx(demo::chart_layout::marker_r + 1));
  }
  // The key fits in the picture.
  const double key_bottom = c.key_y + static_cast<double>(demo::chart_groups(rs).size() + rs.size()) * demo::chart_layout::key_row + 12;
  CHECK(key_bottom <= c.height);
}

}  // namespace

TEST_CASE("summarize: median and quartiles interpolate between ranks", "[demo][latency]") {
  const demo::sample_stats s = demo::summarize({5, 1, 4, 2, 3});
  CHECK(s.median == 3);
  CHECK(s.p25 == 2);
  CHECK(s.p75 == 4);
  CHECK(s.half_iqr() == 1);
  const demo::sample_stats e = demo::summarize({1, 2, 3, 10});
  CHECK(e.median == 2.5);
  CHECK(e.p25 == Approx(1.75));
  CHECK(e.p75 == Approx(4.75));
  CHECK(demo::summarize({}).median == 0);
}

TEST_CASE("interleaved_samples: every round times every variant once, in changing orders", "[demo][latency]") {
  const std::size_t n = 6;
  const int rounds = 20;
  std::vector<std::size_t> calls;
  int rounds_seen = 0;
  const auto samples = demo::interleaved_samples(n, rounds, 7, [&](std::size_t i) {
    calls.push_back(i);
    return static_cast<double>(i);
  }, [&](int done) { rounds_seen = done; });
  REQUIRE(calls.size() == n * static_cast<std::size_t>(rounds));
  CHECK(rounds_seen == rounds);
  std::set<std::vector<std::size_t>> orders;
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::size_t> order(calls.begin() + r * static_cast<long>(n), calls.begin() + (r + 1) * static_cast<long>(n));
    CHECK(std::set<std::size_t>(order.begin(), order.end()).size() == n);  // a permutation
    orders.insert(order);
  }
  CHECK(orders.size() > 10);  // not one fixed order: load cannot follow a variant around
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(samples[i].size() == static_cast<std::size_t>(rounds));
    for (double v : samples[i]) CHECK(v == static_cast<double>(i));
  }
}

TEST_CASE("paired_ratio: the median of each round's ratio, rounds without a time left out", "[demo][latency]") {
  // Round 2's burst of load doubles both rows: the rounds' ratios are 2, 2, 2, 4, 1.
  CHECK(demo::paired_ratio({10, 20, 40, 12, 5}, {5, 10, 20, 3, 5}) == 2);
  // The ratio of the medians would be 12 / 5 = 2.4 here; the rounds' ratios are 0.5, 4, 3.
  CHECK(demo::paired_ratio({1, 12, 30}, {2, 3, 10}) == 3);
  CHECK(demo::paired_ratio({1, 2, 3}, {0, 1, 1}) == 2.5);  // the round where b took 0 is left out
  CHECK(demo::paired_ratio({4, 6, 8}, {2, 2}) == 2.5);     // rounds in both only
  CHECK(demo::paired_ratio({}, {}) == 0);
}

TEST_CASE("goal_line: both ratios on the bound's side, or MISSED", "[demo][report]") {
  CHECK(demo::goal_line("A / B >= 1.5x", 1.58, 1.5, 256, 1.5, true) == "goal: A / B >= 1.5x: 1.58x at batch 1, 1.50x at batch 256: met");
  CHECK(demo::goal_line("A / B >= 1.5x", 1.62, 1.49, 256, 1.5, true) == "goal: A / B >= 1.5x: 1.62x at batch 1, 1.49x at batch 256: MISSED");
  CHECK(demo::goal_line("A / B >= 1.5x", 1.2, 1.7, 100, 1.5, true) == "goal: A / B >= 1.5x: 1.20x at batch 1, 1.70x at batch 100: MISSED");
  CHECK(demo::goal_line("C / D <= 1.3x", 1.3, 0.9, 256, 1.3, false) == "goal: C / D <= 1.3x: 1.30x at batch 1, 0.90x at batch 256: met");
  CHECK(demo::goal_line("C / D <= 1.3x", 1.31, 0.9, 256, 1.3, false) == "goal: C / D <= 1.3x: 1.31x at batch 1, 0.90x at batch 256: MISSED");
}

TEST_CASE("progress_meter: the time left is extrapolated from the rate so far", "[demo][progress]") {
  const auto t0 = std::chrono::steady_clock::now();
  demo::progress_meter m(100, t0);
  CHECK(m.seconds_left(t0 + std::chrono::seconds(5)) < 0);  // no estimate before any work
  CHECK(m.status(t0 + std::chrono::seconds(5)) == "0 % done");
  CHECK(m.add(25) == 0.25);
  CHECK(m.seconds_left(t0 + std::chrono::seconds(10)) == Approx(30));
  CHECK(m.status(t0 + std::chrono::seconds(10)) == "25 % done, ~30 s left");
  m.add(75);
  CHECK(m.seconds_left(t0 + std::chrono::seconds(40)) == 0);
  CHECK(demo::format_duration(44.6) == "45 s");
  CHECK(demo::format_duration(130) == "2 min 10 s");
  CHECK(demo::format_duration(3900) == "1 h 05 min");
}

TEST_CASE("ensure_writable_dir: creates the folder, or says why it cannot, before any work", "[demo][progress]") {
  char tmpl[] = "/tmp/qsparse_demo_test_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string root = tmpl;
  const std::string nested = root + "/a/b/";
  CHECK_NOTHROW(demo::ensure_writable_dir(nested));
  struct stat st{};
  CHECK(stat((root + "/a/b").c_str(), &st) == 0);
  CHECK(stat((root + "/a/b/.qsparse_demo_write_test").c_str(), &st) != 0);  // the probe is gone
  CHECK_THROWS_WITH(demo::ensure_writable_dir("/dev/null/out"), Catch::Contains("/dev/null/out (--out)"));
  CHECK_THROWS_WITH(demo::ensure_writable_dir(""), Catch::Contains("--out"));
  rmdir((root + "/a/b").c_str());
  rmdir((root + "/a").c_str());
  rmdir(root.c_str());
}

TEST_CASE("text_table: row numbers, Δ against the row named in vs, latency with its spread", "[demo][report]") {
  std::vector<demo::result> rs = full_run_like();
  rs.resize(4);
  rs[3].ref = 0;
  rs[3].delta = rs[3].accuracy - rs[0].accuracy;
  rs[3].latency_1 = 8.14;
  rs[3].latency_1_spread = 0.23;
  rs[3].latency_256 = 0.9721;
  rs[3].latency_256_spread = 0.0114;
  const std::string t = demo::text_table(rs);
  CHECK_THAT(t, Catch::StartsWith("#  variant"));
  CHECK_THAT(t, Catch::Contains("accuracy %      Δ  vs"));
  CHECK_THAT(t, Catch::Contains("\n4  float32 control: +10 epochs, +2 at lr 1e-4       89.41  +0.68  #1"));
  CHECK_THAT(t, Catch::Contains("8.1 ±0.2"));
  CHECK_THAT(t, Catch::Contains("0.972 ±0.011"));
  CHECK_THAT(demo::markdown_table(rs), Catch::Contains("| 4 | float32 control: +10 epochs, +2 at lr 1e-4 | 89.41 | +0.68 | #1 |"));
  // The gzip columns: "-" where not measured, else the bytes and the ratio against the float32 row's.
  rs[3].gzip_bytes = 123456;
  rs[3].gzip_ratio = 3.14;
  const std::string md = demo::markdown_table(rs);
  CHECK_THAT(md, Catch::Contains("| gzip bytes | gzip ratio |"));
  CHECK_THAT(md, Catch::Contains(" | 123,456 | 3.1x | 8.1 ±0.2 | 0.972 ±0.011 |"));
  CHECK_THAT(md, Catch::Contains("x | - | - | "));
}

TEST_CASE("layout_chart: log ticks at every decade and its 2x and 5x, minor lines between", "[demo][chart]") {
  const demo::chart_layout c = demo::layout_chart(full_run_like());
  std::vector<double> labelled;
  for (double v : c.x_labelled) labelled.push_back(std::round(v));
  CHECK(labelled == std::vector<double>{20000, 50000, 100000, 200000, 500000, 1000000});
  for (double v : c.x_minor) CHECK(std::set<double>{3e4, 4e4, 6e4, 7e4, 8e4, 9e4, 3e5, 4e5, 6e5, 7e5, 8e5, 9e5}.count(std::round(v)) == 1);
  // Margins on both axes: the extreme points sit inside, not on the frame.
  CHECK(c.lx0 < std::log10(20000.0) - 0.05);
  CHECK(c.lx1 > std::log10(941648.0) + 0.05);
  CHECK(c.y0 < 85.71 - 0.3);
  CHECK(c.y1 > 89.45 + 0.3);
  CHECK(c.y_ticks.front() == c.y0);
  CHECK(c.y_ticks.size() <= 13);
}

TEST_CASE("layout_chart: numbers overlap no marker, number or leader line", "[demo][chart]") {
  SECTION("the full run's clusters") { check_layout(full_run_like()); }
  SECTION("a smoke run's spread of accuracies") {
    std::vector<demo::result> rs = full_run_like();
    for (std::size_t i = 11; i < rs.size(); ++i) rs[i].accuracy -= static_cast<double>(i % 7) * 9;
    check_layout(rs);
  }
  SECTION("twelve variants on one spot") {
    std::vector<demo::result> rs(12);
    for (demo::result& r : rs) {
      r.group = "post-training";
      r.accuracy = 88.5;
      r.bytes = 239880;
    }
    rs[0].bytes = 941616;
    check_layout(rs);
  }
}

TEST_CASE("svg_chart: a well-formed picture with the control marker and every row in the key", "[demo][chart]") {
  const std::vector<demo::result> rs = full_run_like();
  const std::string svg = demo::svg_chart(rs, "title <&>");
  CHECK_THAT(svg, Catch::StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK_THAT(svg, Catch::EndsWith("</svg>\n"));
  CHECK_THAT(svg, Catch::Contains("title &lt;&amp;&gt;"));
  CHECK_THAT(svg, Catch::Contains(">1 MB<"));
  CHECK_THAT(svg, Catch::Contains(">20 kB<"));
  CHECK_THAT(svg, Catch::Contains("<path d=\"M"));  // the controls' diamonds
  for (const demo::result& r : rs) CHECK_THAT(svg, Catch::Contains(">" + demo::xml_escape(r.name) + "</text>"));
}
