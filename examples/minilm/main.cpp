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
// to float32 and its time.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bert.hpp"
#include "qsparse/core/context.hpp"
#include "tokenizer.hpp"

namespace {

void usage() {
  std::printf(
      "usage: minilm [--model DIR] [--variant f32|f16|int8-dynamic|all] [--threads N] [--max-tokens N] [SENTENCE...]\n"
      "  --model DIR       config.json, model.safetensors and tokenizer.json (default %s)\n"
      "  --variant V       how the linear layers run (default f32; all: each, compared with f32)\n"
      "  --threads N       threads of the qsparse GEMMs (default 1)\n"
      "  --max-tokens N    truncate to N tokens, [CLS] and [SEP] included (default 128)\n"
      "  --ids             only tokenize: print each sentence's token ids on a line (needs only tokenizer.json)\n"
      "Without sentences, reads one per line from standard input.\n",
      QSPARSE_MINILM_CACHE);
}

double cosine(const float* a, const float* b, std::size_t n) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

int run(int argc, char** argv) {
  std::string dir = QSPARSE_MINILM_CACHE;
  std::string variant_name = "f32";
  int threads = 1;
  long max_tokens = 128;
  bool ids_only = false;
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
  if (sentences.empty()) {
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty()) sentences.push_back(line);
    }
  }
  if (sentences.empty()) throw std::runtime_error("minilm: no sentences (give them as arguments or on standard input)");

  std::vector<minilm::variant> variants;
  if (variant_name == "all") {
    variants = {minilm::variant::f32, minilm::variant::f16, minilm::variant::dynamic_int8};
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
    const auto model = minilm::bert_model::load(dir, v);
    const auto t1 = std::chrono::steady_clock::now();
    const std::vector<float> e = model.embed_batch(batch, ctx);
    const auto t2 = std::chrono::steady_clock::now();
    h = static_cast<std::size_t>(model.config().hidden_size);
    const double load_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    const double run_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    std::printf("%-22s linear weights %.1f MB, load %.0f ms, %zu sentences (%zu tokens) in %.1f ms, %d thread%s\n",
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
