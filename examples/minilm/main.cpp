// examples/minilm/main.cpp — sentence embeddings with all-MiniLM-L6-v2 (or any BERT encoder with a
// WordPiece tokenizer.json), computed by qsparse. See docs/transformer.md.
//
//   bash scripts/fetch_minilm.sh                                 # once: the model into build/minilm-cache
//   build/examples/minilm "A man is eating food." "A man eats." "The sky is blue."
//   build/examples/minilm --variant all --threads 2 < sentences.txt   # one sentence per line
//
// With --ids, only tokenizes (tests/data/check_minilm_tokenizer.py compares that with Hugging Face's).
// Otherwise prints each sentence's token count and first embedding values (the first 10 sentences), the
// cosine similarity of every pair (up to 10 sentences) and, with several variants, each variant's cosine
// to float32 and its time. With --report, measures every variant on a corpus (quality against float32, size,
// latency; with --peers, speed-ups against the peer runtimes) and writes report.md and two SVG charts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bert.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "report.hpp"
#include "tokenizer.hpp"

namespace {

void usage() {
  std::printf(
      "usage: minilm [--model DIR] [--variant V|all] [--threads N] [--max-tokens N] [SENTENCE...]\n"
      "       minilm --report [--corpus PATH] [--corpus-size N] [--queries N] [--calibration N] [--peers FILE]\n"
      "              [--out DIR] [--threads-list 1,2] [--rounds N] [--variants V,V,...] [--float-attention]\n"
      "              [--mixed-keep N] [--smooth-alpha A]\n"
      "  --model DIR       config.json, model.safetensors and tokenizer.json (default %s)\n"
      "  --variant V       how the linear layers run (default f32; all: each, compared with f32): f32, f16,\n"
      "                    int8-dynamic, int8-smooth, int8-static-minmax, int8-static-pct, 16x8, q4-g32,\n"
      "                    q4-g32-clip, q4-g128-clip, prune50-int8, prune24-int8, prune4x16-int8, int8-mixed,\n"
      "                    q4-mixed (static variants and int8-smooth calibrate, mixed ones select their sensitive\n"
      "                    layers, on the given sentences)\n"
      "  --mixed-keep N    linear slots a mixed variant keeps in higher precision (default: int8-mixed a sixth,\n"
      "                    4 of MiniLM's 24; q4-mixed half)\n"
      "  --smooth-alpha A  int8-smooth's SmoothQuant migration strength in [0, 1] (default 0.5)\n"
      "  --threads N       threads of the qsparse GEMMs (default 1)\n"
      "  --max-tokens N    truncate to N tokens, [CLS] and [SEP] included (default 128)\n"
      "  --ids             only tokenize: print each sentence's token ids on a line (needs only tokenizer.json)\n"
      "Without sentences, reads one per line from standard input.\n"
      "Report mode (docs/transformer.md): --corpus a fortune directory or file (default /usr/share/games/fortunes,\n"
      "Debian's fortunes package), --corpus-size sentences drawn from it (default 2000, 0: all), --queries for\n"
      "recall@10 (default 1000), --calibration sentences for the static variants (default 100, disjoint from the\n"
      "queries), --peers the peer script's JSON, --out the folder of report.md, quality.svg, latency.svg and\n"
      "latency_ids.txt (default minilm-report), --threads-list (default 1,2), --rounds of the latency (default 5).\n",
      QSPARSE_MINILM_CACHE);
}

std::string fmt_mb(std::size_t bytes) { return minilm::fmt("%.2f", static_cast<double>(bytes) / 1e6); }

double cosine(const float* a, const float* b, std::size_t n) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}


std::vector<int> parse_int_list(const std::string& s, const char* what) {
  std::vector<int> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    const int v = std::atoi(item.c_str());
    if (v < 1 || v > 256) throw std::runtime_error(std::string("minilm: ") + what + " takes numbers in [1, 256], got \"" + item + "\"");
    out.push_back(v);
  }
  if (out.empty()) throw std::runtime_error(std::string("minilm: ") + what + " is empty");
  return out;
}

struct report_options {
  std::string model_dir;
  std::string corpus = "/usr/share/games/fortunes";
  std::size_t corpus_size = 2000;
  std::size_t queries = 1000;
  std::size_t calibration = 100;
  std::string peers;
  std::string out = "minilm-report";
  std::vector<int> threads = {1, 2};
  int rounds = 5;
  std::vector<minilm::variant> variants = minilm::all_variants();
  bool float_attention = false;
  long mixed_keep = -1;  // -1: default_mixed_keep
  double smooth_alpha = minilm::default_smooth_alpha;
};

std::string with_commas(std::size_t v) {
  std::string s = std::to_string(v), o;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) o += ',';
    o += s[i];
  }
  return o;
}

std::string eigen_flags() {
#if defined(__AVX512F__)
  return "AVX-512 (-march)";
#elif defined(__AVX2__)
  return "AVX2 (-march)";
#elif defined(__x86_64__)
  return "SSE2 only: compiled without -march, as the project builds its examples";
#else
  return "the compiler's default target";
#endif
}

/// The slots a mixed model keeps in its higher precision, each with its sensitivity, most sensitive first.
std::string mixed_selection(const minilm::bert_model& m) {
  std::vector<std::size_t> kept;
  for (std::size_t s = 0; s < m.slot_variants().size(); ++s) {
    if (m.slot_variants()[s] == minilm::mixed_high(m.kind())) kept.push_back(s);
  }
  const std::vector<double>& e = m.sensitivity();
  std::stable_sort(kept.begin(), kept.end(), [&](std::size_t a, std::size_t b) { return e.at(a) > e.at(b); });
  std::string out;
  for (const std::size_t s : kept) out += (out.empty() ? "" : ", ") + minilm::slot_name(s) + " " + minilm::fmt("%.2e", e.at(s));
  return out.empty() ? std::string("none") : out;
}

double elapsed_ms(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

int run_report(const report_options& o) {
  namespace fs = std::filesystem;
  using clock = std::chrono::steady_clock;
  const auto t_start = clock::now();
  const auto tok = minilm::wordpiece_tokenizer::load(o.model_dir + "/tokenizer.json");
  std::string corpus_desc;
  std::vector<std::string> corpus = minilm::load_corpus(o.corpus, &corpus_desc);
  const std::size_t available = corpus.size();
  // A fixed sample of the corpus (the same sentences on every machine with the same package).
  std::mt19937 shuffle_gen(2023);
  for (std::size_t i = corpus.size(); i > 1; --i) std::swap(corpus[i - 1], corpus[shuffle_gen() % i]);
  if (o.corpus_size != 0 && o.corpus_size < corpus.size()) corpus.resize(o.corpus_size);
  const std::size_t n = corpus.size();
  if (o.queries + o.calibration > n) {
    throw std::runtime_error("minilm: --queries " + std::to_string(o.queries) + " + --calibration " + std::to_string(o.calibration) +
                             " exceed the " + std::to_string(n) + " corpus sentences");
  }
  std::vector<std::vector<std::int32_t>> ids(n);
  std::size_t tokens = 0, truncated = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ids[i] = tok.encode(corpus[i], 128);
    tokens += ids[i].size();
    if (ids[i].size() == 128 && tok.encode(corpus[i], 0).size() > 128) ++truncated;
  }
  std::vector<std::size_t> queries(o.queries);
  std::iota(queries.begin(), queries.end(), std::size_t{0});
  const std::vector<std::vector<std::int32_t>> calibration(ids.end() - static_cast<std::ptrdiff_t>(o.calibration), ids.end());
  std::fprintf(stderr, "minilm report: corpus %s; %zu sentences drawn, %s tokens (%zu truncated to 128); %zu queries, %zu calibration sentences\n",
               corpus_desc.c_str(), n, with_commas(tokens).c_str(), truncated, queries.size(), calibration.size());
  fs::create_directories(o.out);

  const int max_threads = *std::max_element(o.threads.begin(), o.threads.end());
  const qsparse::context quality_ctx{qsparse::threads{max_threads}};
  struct row {
    minilm::variant v;
    std::unique_ptr<minilm::bert_model> model;
    std::vector<float> emb;
    double embed_s = 0.0;
    minilm::cosine_stats cos;
    double recall = 0.0;
    std::map<std::pair<int, int>, double> ms;  // (batch, threads) -> median ms
  };
  std::vector<row> rows;
  std::size_t dim = 0;
  for (std::size_t vi = 0; vi < o.variants.size(); ++vi) {
    row r;
    r.v = o.variants[vi];
    std::fprintf(stderr, "[%zu/%zu] %s: loading", vi + 1, o.variants.size(), minilm::to_string(r.v));
    r.model = std::make_unique<minilm::bert_model>(minilm::bert_model::load(o.model_dir, r.v));
    if (o.float_attention) r.model->set_int8_attention(false);
    if (minilm::is_mixed(r.v) && o.mixed_keep >= 0) r.model->set_mixed_keep(static_cast<std::size_t>(o.mixed_keep));
    if (r.v == minilm::variant::smooth_int8) r.model->set_smooth_alpha(o.smooth_alpha);
    if (minilm::needs_calibration(r.v)) {
      std::fprintf(stderr, minilm::is_mixed(r.v) ? ", measuring each linear slot's sensitivity on %zu sentences"
                                                 : ", calibrating on %zu sentences", calibration.size());
      const auto tc = clock::now();
      r.model->calibrate(calibration, quality_ctx);
      if (minilm::is_mixed(r.v)) {
        std::fprintf(stderr, " (%.1f s; %s kept: %s)", elapsed_ms(tc, clock::now()) / 1000.0,
                     minilm::option_name(minilm::mixed_high(r.v)), mixed_selection(*r.model).c_str());
      }
    }
    std::fprintf(stderr, ", embedding %zu sentences:", n);
    dim = static_cast<std::size_t>(r.model->config().hidden_size);
    r.emb.assign(n * dim, 0.0f);
    const auto t0 = clock::now();
    const std::size_t step = 32;
    std::size_t shown = 0;
    for (std::size_t s = 0; s < n; s += step) {
      const std::size_t e = std::min(n, s + step);
      const std::vector<std::vector<std::int32_t>> b(ids.begin() + static_cast<std::ptrdiff_t>(s), ids.begin() + static_cast<std::ptrdiff_t>(e));
      const std::vector<float> out = r.model->embed_batch(b, quality_ctx);
      std::copy(out.begin(), out.end(), r.emb.begin() + static_cast<std::ptrdiff_t>(s * dim));
      while (shown < 10 && e * 10 >= (shown + 1) * n) std::fprintf(stderr, " %zu%%", 10 * ++shown);
    }
    r.embed_s = elapsed_ms(t0, clock::now()) / 1000.0;
    std::fprintf(stderr, " (%.1f s)\n", r.embed_s);
    rows.push_back(std::move(r));
  }
  // Quality against float32 (the first row when it is float32).
  const row* ref = nullptr;
  for (const row& r : rows) {
    if (r.v == minilm::variant::f32) ref = &r;
  }
  if (ref == nullptr) throw std::runtime_error("minilm: the report needs the f32 variant (the reference)");
  std::fprintf(stderr, "quality: float32's 10 nearest neighbours of %zu queries among %zu sentences\n", queries.size(), n);
  std::vector<std::vector<std::size_t>> ref_nn(queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) ref_nn[i] = minilm::nearest(ref->emb, n, dim, queries[i], 10);
  for (row& r : rows) {
    r.cos = minilm::compare(ref->emb, r.emb, n, dim);
    r.recall = minilm::recall_at_k(ref_nn, r.emb, n, dim, queries, 10);
    std::fprintf(stderr, "  %-26s cosine mean %.6f worst %.6f, recall@10 %.4f\n", minilm::to_string(r.v), r.cos.mean, r.cos.worst, r.recall);
  }

  // Latency: the same 128-token inputs as the peer script (latency_ids.txt).
  std::mt19937 id_gen(23);
  const minilm::bert_config& cfg = rows[0].model->config();
  const std::vector<std::vector<std::int32_t>> b32 =
      minilm::latency_ids(32, std::min<std::size_t>(128, static_cast<std::size_t>(cfg.max_positions)), tok.cls_id(), tok.sep_id(),
                          cfg.vocab_size, id_gen);
  const std::vector<std::vector<std::int32_t>> b1(b32.begin(), b32.begin() + 1);
  {
    std::ofstream f(fs::path(o.out) / "latency_ids.txt");
    for (const auto& s : b32) {
      for (std::size_t i = 0; i < s.size(); ++i) f << (i ? " " : "") << s[i];
      f << "\n";
    }
  }
  std::mt19937 order_gen(7);
  for (const int th : o.threads) {
    const qsparse::context ctx{qsparse::threads{th}};
    for (const int batch : {1, 32}) {
      const auto& in = batch == 1 ? b1 : b32;
      std::fprintf(stderr, "latency: batch %d x 128 tokens, %d thread%s, %d rounds:", batch, th, th == 1 ? "" : "s", o.rounds);
      for (row& r : rows) r.model->embed_batch(in, ctx);  // warm-up
      std::vector<std::vector<double>> times(rows.size());
      std::vector<std::size_t> order(rows.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      for (int round = 0; round < o.rounds; ++round) {
        std::shuffle(order.begin(), order.end(), order_gen);
        for (const std::size_t i : order) {
          const auto t0 = clock::now();
          const std::vector<float> e = rows[i].model->embed_batch(in, ctx);
          times[i].push_back(elapsed_ms(t0, clock::now()));
        }
        std::fprintf(stderr, " %d", round + 1);
      }
      std::fprintf(stderr, "\n");
      for (std::size_t i = 0; i < rows.size(); ++i) rows[i].ms[{batch, th}] = minilm::median(times[i]);
    }
  }

  minilm::peer_timings peers;
  if (!o.peers.empty()) peers = minilm::read_peers(o.peers);
  const std::vector<std::string> peer_list = minilm::peer_names(peers);

  // The report.
  std::ostringstream md;
  md << "# all-MiniLM-L6-v2 on qsparse: quality, size and latency\n\n";
  md << "Corpus: " << corpus_desc << " (Debian's `fortunes` package when it is /usr/share/games/fortunes); split on `%` lines, "
     << "white space collapsed, deduplicated; a fixed sample of " << n << " sentences (mt19937 seed 2023), "
     << with_commas(tokens) << " tokens after truncation to 128 (" << truncated << " truncated), of " << available
     << " available. Quality: cosine of each sentence's embedding to float32's (mean and worst over the " << n
     << " sentences); recall@10: of float32's 10 nearest neighbours (cosine, the query itself excluded) of the first "
     << queries.size() << " sentences as queries against all " << n << ", the share the variant also ranks in its 10. "
     << "The static variants calibrate on the last " << calibration.size() << " sentences of the sample (never queries);"
     << " the mixed variants measure each linear slot's sensitivity on them (1 - cosine to the all-high-precision model"
     << " when only that slot is in the low precision) and keep the most sensitive slots in the higher precision."
     << (o.float_attention ? " --float-attention: every variant runs the attention products in float32." : "") << "\n\n";
  md << "Latency: one forward pass to normalized embeddings of batch 1 x 128 tokens and batch 32 x 128 tokens (the ids of "
     << "latency_ids.txt: [CLS], 126 ids 1000 + (mt19937(23) mod 29000), [SEP]); median of " << o.rounds
     << " interleaved rounds (each round times every variant once in a fresh random order) after one warm-up. "
     << "Machine: " << std::thread::hardware_concurrency() << " hardware threads; qsparse kernels for "
     << qsparse::to_string(qsparse::best_isa()) << "; the float32 baseline is Eigen with " << eigen_flags() << ".\n\n";
  md << "Sizes: the linear layers' weights and biases as each variant stores them (scales included; 2:4 and block "
     << "formats with their indices or bit masks); every variant keeps the embeddings and layer "
     << "norms in float32 (" << fmt_mb(rows[0].model->other_bytes()) << " MB), included in the total.\n\n";
  md << "| variant | linear weights (MB) | model (MB) | cosine mean | cosine worst | recall@10 |";
  for (const int th : o.threads) md << " b1 " << th << "T (ms) |";
  for (const int th : o.threads) md << " b32 " << th << "T (ms) |";
  md << "\n|---|---:|---:|---:|---:|---:|";
  for (std::size_t i = 0; i < 2 * o.threads.size(); ++i) md << "---:|";
  md << "\n";
  for (const row& r : rows) {
    md << "| " << minilm::to_string(r.v) << " | " << fmt_mb(r.model->linear_bytes()) << " | "
       << fmt_mb(r.model->linear_bytes() + r.model->other_bytes()) << " | " << minilm::fmt("%.6f", r.cos.mean) << " | "
       << minilm::fmt("%.6f", r.cos.worst) << " | " << minilm::fmt("%.4f", r.recall) << " |";
    for (const int batch : {1, 32}) {
      for (const int th : o.threads) md << " " << minilm::fmt("%.2f", r.ms.at({batch, th})) << " |";
    }
    md << "\n";
  }
  if (!peer_list.empty()) {
    md << "\nPeers (" << o.peers << ", " << peers.tokens << " tokens per sequence):\n\n| peer |";
    std::vector<std::pair<int, int>> configs;
    for (const int batch : {1, 32})
      for (const int th : o.threads) configs.emplace_back(batch, th);
    for (const auto& c : configs) md << " b" << c.first << " " << c.second << "T (ms) |";
    md << "\n|---|";
    for (std::size_t i = 0; i < configs.size(); ++i) md << "---:|";
    md << "\n";
    for (const std::string& p : peer_list) {
      md << "| " << p << " |";
      for (const auto& c : configs) {
        const double ms = minilm::peer_ms(peers, p, c.first, c.second);
        md << " " << (ms > 0 ? minilm::fmt("%.2f", ms) : std::string("-")) << " |";
      }
      md << "\n";
    }
    for (const auto& c : configs) {
      md << "\nSpeed-up (peer time / variant time), batch " << c.first << " x 128, " << c.second << " thread"
         << (c.second == 1 ? "" : "s") << ":\n\n| variant |";
      for (const std::string& p : peer_list) md << " vs " << p << " |";
      md << "\n|---|";
      for (std::size_t i = 0; i < peer_list.size(); ++i) md << "---:|";
      md << "\n";
      for (const row& r : rows) {
        md << "| " << minilm::to_string(r.v) << " |";
        for (const std::string& p : peer_list) {
          const double ms = minilm::peer_ms(peers, p, c.first, c.second);
          md << " " << (ms > 0 ? minilm::fmt("%.2fx", ms / r.ms.at(c)) : std::string("-")) << " |";
        }
        md << "\n";
      }
    }
  }
  bool any_mixed = false;
  for (const row& r : rows) any_mixed = any_mixed || minilm::is_mixed(r.v);
  if (any_mixed) {
    md << "\nMixed precision: the slots kept in the higher precision, most sensitive first (sensitivity: mean 1 - cosine "
       << "on the calibration sentences when only that slot is in the low precision):\n\n";
    for (const row& r : rows) {
      if (!minilm::is_mixed(r.v)) continue;
      md << "- " << minilm::to_string(r.v) << " (" << minilm::option_name(minilm::mixed_low(r.v)) << ", sensitive slots "
         << minilm::option_name(minilm::mixed_high(r.v)) << "): " << mixed_selection(*r.model) << "; every slot's sensitivity:";
      for (std::size_t s = 0; s < r.model->sensitivity().size(); ++s) {
        md << (s ? ", " : " ") << minilm::slot_name(s) << " " << minilm::fmt("%.2e", r.model->sensitivity()[s]);
      }
      md << "\n";
    }
  }
  // Goals (issue 23).
  md << "\nGoals:\n\n";
  const auto pass = [](bool b) { return b ? "**pass**" : "**FAIL**"; };
  const auto is_int8 = [](minilm::variant v) {
    return v == minilm::variant::dynamic_int8 || v == minilm::variant::static_int8_minmax || v == minilm::variant::static_int8_percentile ||
           v == minilm::variant::mixed_int8 || v == minilm::variant::smooth_int8;
  };
  const auto is_q4 = [](minilm::variant v) {
    return v == minilm::variant::q4_g32 || v == minilm::variant::q4_g32_clip || v == minilm::variant::q4_g128_clip ||
           v == minilm::variant::mixed_q4;
  };
  for (const row& r : rows) {
    if (is_int8(r.v)) {
      md << "- " << minilm::to_string(r.v) << ": mean cosine " << minilm::fmt("%.6f", r.cos.mean) << " >= 0.99 " << pass(r.cos.mean >= 0.99)
         << "; recall@10 " << minilm::fmt("%.4f", r.recall) << " >= 0.95 " << pass(r.recall >= 0.95) << "\n";
    } else if (is_q4(r.v)) {
      md << "- " << minilm::to_string(r.v) << ": mean cosine " << minilm::fmt("%.6f", r.cos.mean) << " >= 0.98 " << pass(r.cos.mean >= 0.98) << "\n";
    }
  }
  for (const int th : o.threads) {
    const row* best = nullptr;
    for (const row& r : rows) {
      if (is_int8(r.v) && (best == nullptr || r.ms.at({1, th}) < best->ms.at({1, th}))) best = &r;
    }
    if (best == nullptr) continue;
    const double ours = best->ms.at({1, th});
    const double ort = minilm::peer_ms(peers, "ONNX Runtime int8", 1, th), pt = minilm::peer_ms(peers, "PyTorch fp32", 1, th);
    md << "- batch 1, " << th << " thread" << (th == 1 ? "" : "s") << ", fastest int8 (" << minilm::to_string(best->v) << ", "
       << minilm::fmt("%.2f", ours) << " ms): ";
    if (ort > 0) {
      md << minilm::fmt("%.2fx", ort / ours) << " ONNX Runtime int8 (goal 1.3x) " << pass(ort / ours >= 1.3) << "; ";
    } else {
      md << "ONNX Runtime int8 not measured (no --peers row); ";
    }
    if (pt > 0) {
      md << minilm::fmt("%.2fx", pt / ours) << " PyTorch fp32 (goal 3x) " << pass(pt / ours >= 3.0) << "\n";
    } else {
      md << "PyTorch fp32 not measured (no --peers row)\n";
    }
  }
  // The four int8 goals at once, variant by variant (the issue asks them of one int8 variant).
  for (const int th : o.threads) {
    const double ort = minilm::peer_ms(peers, "ONNX Runtime int8", 1, th), pt = minilm::peer_ms(peers, "PyTorch fp32", 1, th);
    if (!(ort > 0) || !(pt > 0)) continue;
    std::string all;
    for (const row& r : rows) {
      if (!is_int8(r.v)) continue;
      const double ours = r.ms.at({1, th});
      if (r.cos.mean >= 0.99 && r.recall >= 0.95 && ort / ours >= 1.3 && pt / ours >= 3.0) {
        all += std::string(all.empty() ? "" : ", ") + minilm::to_string(r.v) + " (" + minilm::fmt("%.2fx", ort / ours) + " ONNX Runtime int8, " +
               minilm::fmt("%.2fx", pt / ours) + " PyTorch fp32, cosine " + minilm::fmt("%.6f", r.cos.mean) + ", recall@10 " +
               minilm::fmt("%.4f", r.recall) + ")";
      }
    }
    md << "- batch 1, " << th << " thread" << (th == 1 ? "" : "s") << ", int8 variants meeting all four goals at once: "
       << (all.empty() ? "none **FAIL**" : all + " **pass**") << "\n";
  }
  md << "\nCharts: [quality vs size](quality.svg), [latency](latency.svg). Total run time "
     << minilm::fmt("%.0f", elapsed_ms(t_start, clock::now()) / 1000.0) << " s.\n";

  // Charts.
  std::vector<minilm::scatter_point> pts;
  for (const row& r : rows) {
    // 1 - mean cosine on a log scale (float32 itself, 0, is drawn at 1e-7).
    pts.push_back({minilm::to_string(r.v), static_cast<double>(r.model->linear_bytes()) / 1e6, std::max(1.0 - r.cos.mean, 1e-7)});
  }
  std::ofstream(fs::path(o.out) / "quality.svg")
      << minilm::scatter_svg("all-MiniLM-L6-v2: quality vs size (lower is better)", "linear-layer weights (MB)",
                             "1 - mean cosine to float32", pts);
  std::vector<std::string> series;
  for (const int th : o.threads) series.push_back(std::to_string(th) + " thread" + (th == 1 ? "" : "s"));
  std::vector<std::vector<minilm::bar_group>> panels(2);
  for (std::size_t p = 0; p < 2; ++p) {
    const int batch = p == 0 ? 1 : 32;
    for (const row& r : rows) {
      minilm::bar_group g{minilm::to_string(r.v), {}, false};
      for (const int th : o.threads) g.values.push_back(r.ms.at({batch, th}));
      panels[p].push_back(g);
    }
    for (const std::string& name : peer_list) {
      minilm::bar_group g{name, {}, true};
      for (const int th : o.threads) g.values.push_back(minilm::peer_ms(peers, name, batch, th));
      panels[p].push_back(g);
    }
  }
  std::ofstream(fs::path(o.out) / "latency.svg")
      << minilm::bars_svg("all-MiniLM-L6-v2 latency (ms, lower is better; peers in italics)",
                          {"batch 1 x 128 tokens", "batch 32 x 128 tokens"}, series, panels);
  std::ofstream(fs::path(o.out) / "report.md") << md.str();
  std::printf("%s", md.str().c_str());
  std::fflush(stdout);  // all of the report before the line on stderr, which may go to the same place
  std::fprintf(stderr, "wrote %s/report.md, quality.svg, latency.svg, latency_ids.txt\n", o.out.c_str());
  return 0;
}

int run(int argc, char** argv) {
  std::string dir = QSPARSE_MINILM_CACHE;
  std::string variant_name = "f32";
  int threads = 1;
  long max_tokens = 128;
  bool ids_only = false;
  bool report = false;
  report_options ro;
  std::vector<std::string> sentences;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("minilm: " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--model") {
      dir = value();
    } else if (a == "--variant") {
      variant_name = value();
    } else if (a == "--threads") {
      threads = std::atoi(value().c_str());
      if (threads < 1 || threads > 256) throw std::runtime_error("minilm: --threads must be in [1, 256]");
    } else if (a == "--max-tokens") {
      max_tokens = std::atol(value().c_str());
      if (max_tokens < 2 || max_tokens > 512) throw std::runtime_error("minilm: --max-tokens must be in [2, 512]");
    } else if (a == "--ids") {
      ids_only = true;
    } else if (a == "--report") {
      report = true;
    } else if (a == "--mixed-keep") {
      const long k = std::atol(value().c_str());
      if (k < 0 || k > 10000) throw std::runtime_error("minilm: --mixed-keep must be in [0, 10000]");
      ro.mixed_keep = k;
    } else if (a == "--smooth-alpha") {
      const std::string t = value();
      char* end = nullptr;
      const double al = std::strtod(t.c_str(), &end);
      if (end == t.c_str() || *end != '\0' || !(al >= 0.0 && al <= 1.0)) {
        throw std::runtime_error("minilm: --smooth-alpha must be a number in [0, 1], got \"" + t + "\"");
      }
      ro.smooth_alpha = al;
    } else if (a == "--float-attention") {
      ro.float_attention = true;
    } else if (a == "--corpus") {
      ro.corpus = value();
    } else if (a == "--corpus-size") {
      ro.corpus_size = static_cast<std::size_t>(std::max(0L, std::atol(value().c_str())));
    } else if (a == "--queries") {
      const long q = std::atol(value().c_str());
      if (q < 1) throw std::runtime_error("minilm: --queries must be at least 1");
      ro.queries = static_cast<std::size_t>(q);
    } else if (a == "--calibration") {
      const long c = std::atol(value().c_str());
      if (c < 1) throw std::runtime_error("minilm: --calibration must be at least 1");
      ro.calibration = static_cast<std::size_t>(c);
    } else if (a == "--peers") {
      ro.peers = value();
    } else if (a == "--out") {
      ro.out = value();
    } else if (a == "--threads-list") {
      ro.threads = parse_int_list(value(), "--threads-list");
    } else if (a == "--rounds") {
      ro.rounds = std::atoi(value().c_str());
      if (ro.rounds < 1 || ro.rounds > 1000) throw std::runtime_error("minilm: --rounds must be in [1, 1000]");
    } else if (a == "--variants") {
      ro.variants.clear();
      std::stringstream ss(value());
      for (std::string item; std::getline(ss, item, ',');) ro.variants.push_back(minilm::parse_variant(item));
      if (std::find(ro.variants.begin(), ro.variants.end(), minilm::variant::f32) == ro.variants.end()) {
        ro.variants.insert(ro.variants.begin(), minilm::variant::f32);
      }
    } else if (a.rfind("--", 0) == 0) {
      throw std::runtime_error("minilm: unknown option " + a + " (--help lists them)");
    } else {
      sentences.push_back(a);
    }
  }
  if (!std::filesystem::exists(dir + (ids_only ? "/tokenizer.json" : "/model.safetensors"))) {
    std::fprintf(stderr,
                 "minilm: no %s in %s\n"
                 "minilm: fetch all-MiniLM-L6-v2 with `bash scripts/fetch_minilm.sh`, or pass --model DIR\n",
                 ids_only ? "tokenizer.json" : "model.safetensors", dir.c_str());
    return 2;
  }
  if (report) {
    if (!ro.peers.empty()) minilm::read_peers(ro.peers);  // a bad file fails now, not after minutes
    ro.model_dir = dir;
    return run_report(ro);
  }
  if (sentences.empty()) {
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty()) sentences.push_back(line);
    }
  }
  if (sentences.empty()) throw std::runtime_error("minilm: no sentences (give them as arguments or on standard input)");

  std::vector<minilm::variant> variants;
  if (variant_name == "all") {
    variants = minilm::all_variants();
  } else {
    variants = {minilm::parse_variant(variant_name)};
  }

  const auto tok = minilm::wordpiece_tokenizer::load(dir + "/tokenizer.json");
  if (ids_only) {
    for (const std::string& s : sentences) {
      const std::vector<std::int32_t> ids = tok.encode(s, static_cast<std::size_t>(max_tokens));
      for (std::size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
      std::printf("\n");
    }
    return 0;
  }
  std::vector<std::vector<std::int32_t>> batch;
  std::size_t tokens = 0;
  for (const std::string& s : sentences) {
    batch.push_back(tok.encode(s, static_cast<std::size_t>(max_tokens)));
    tokens += batch.back().size();
  }
  const qsparse::context ctx{qsparse::threads{threads}};

  std::vector<float> reference;
  std::size_t h = 0;
  for (const minilm::variant v : variants) {
    const auto t0 = std::chrono::steady_clock::now();
    auto model = minilm::bert_model::load(dir, v);
    if (minilm::is_mixed(v) && ro.mixed_keep >= 0) model.set_mixed_keep(static_cast<std::size_t>(ro.mixed_keep));
    if (v == minilm::variant::smooth_int8) model.set_smooth_alpha(ro.smooth_alpha);
    model.calibrate(batch, ctx);  // static variants and int8-smooth calibrate, mixed ones select their layers, on the sentences themselves
    const auto t1 = std::chrono::steady_clock::now();
    const std::vector<float> e = model.embed_batch(batch, ctx);
    const auto t2 = std::chrono::steady_clock::now();
    h = static_cast<std::size_t>(model.config().hidden_size);
    const double load_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    const double run_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    std::printf("%-26s linear weights %.1f MB, load %.0f ms, %zu sentences (%zu tokens) in %.1f ms, %d thread%s\n",
                minilm::to_string(v), static_cast<double>(model.linear_bytes()) / 1e6, load_ms, batch.size(), tokens,
                run_ms, threads, threads == 1 ? "" : "s");
    if (reference.empty()) {
      reference = e;
      const std::size_t shown = std::min<std::size_t>(batch.size(), 10);
      for (std::size_t s = 0; s < shown; ++s) {
        std::printf("  [%zu] %3zu tokens  [", s, batch[s].size());
        for (std::size_t c = 0; c < std::min<std::size_t>(h, 6); ++c) std::printf("%s%+.5f", c ? " " : "", e[s * h + c]);
        std::printf(" ...]  %.60s\n", sentences[s].c_str());
      }
      if (shown < batch.size()) std::printf("  (%zu more sentences)\n", batch.size() - shown);
      if (batch.size() > 1 && batch.size() <= 10) {
        std::printf("  cosine similarity:\n");
        for (std::size_t a = 0; a < batch.size(); ++a) {
          std::printf("   ");
          for (std::size_t b = 0; b < batch.size(); ++b) std::printf(" %6.3f", cosine(&e[a * h], &e[b * h], h));
          std::printf("\n");
        }
      }
    } else {
      double mean = 0.0, worst = 1.0;
      for (std::size_t s = 0; s < batch.size(); ++s) {
        const double c = cosine(&e[s * h], &reference[s * h], h);
        mean += c;
        worst = std::min(worst, c);
      }
      mean /= static_cast<double>(batch.size());
      std::printf("  cosine to %s: mean %.6f, worst %.6f\n", minilm::to_string(variants[0]), mean, worst);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
