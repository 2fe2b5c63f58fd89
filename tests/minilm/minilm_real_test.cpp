// The transformer runner of examples/minilm/ on the real all-MiniLM-L6-v2, against sentence-transformers'
// embeddings of 8 sentences (tests/data/minilm_reference.inc, tests/data/gen_minilm_reference.py).
// Runs only when the model is in the cache (scripts/fetch_minilm.sh; $QSPARSE_MINILM_DIR overrides the
// folder): otherwise it says so and exits with 77, which CTest reports as skipped.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bert.hpp"
#include "minilm/minilm_case.hpp"
#include "tokenizer.hpp"

namespace {

#include "data/minilm_reference.inc"

std::string model_dir() {
  const char* env = std::getenv("QSPARSE_MINILM_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(QSPARSE_MINILM_CACHE);
}

}  // namespace

TEST_CASE("minilm real: tokenizer ids and float32 embeddings equal sentence-transformers'", "[minilm]") {
  const std::string dir = model_dir();
  const auto tok = minilm::wordpiece_tokenizer::load(dir + "/tokenizer.json");
  const auto model = minilm::bert_model::load(dir, minilm::variant::f32);
  CHECK(model.config().hidden_size == 384);
  CHECK(model.config().num_layers == 6);
  double worst = 0.0, worst_cos = 1.0;
  std::vector<std::vector<std::int32_t>> batch;
  for (const minilm_case& c : minilm_reference_cases) {
    INFO("text: " << c.text);
    const std::vector<std::int32_t> ids = tok.encode(c.text);
    CHECK(ids == c.ids);
    const std::vector<float> want = minilm_floats(c.embedding);
    const std::vector<float> got = model.embed(c.ids);
    REQUIRE(got.size() == want.size());
    const double d = minilm_max_abs_diff(got.data(), want.data(), got.size());
    const double cs = minilm_cosine(got.data(), want.data(), got.size());
    CHECK(d <= 1e-5);
    CHECK(cs >= 0.99999);
    worst = std::max(worst, d);
    worst_cos = std::min(worst_cos, cs);
    batch.push_back(c.ids);
  }
  std::printf("minilm all-MiniLM-L6-v2 float32 vs sentence-transformers: max abs difference %.3g, worst cosine %.9f "
              "(%zu sentences)\n", worst, worst_cos, batch.size());
  const std::vector<float> all = model.embed_batch(batch);
  for (std::size_t b = 0; b < batch.size(); ++b) {
    const std::vector<float> want = minilm_floats(minilm_reference_cases[b].embedding);
    CHECK(minilm_max_abs_diff(all.data() + b * 384, want.data(), 384) <= 1e-5);
  }
}

TEST_CASE("minilm real: tokenizer ids equal Hugging Face's on texts that stress it", "[minilm]") {
  const auto tok = minilm::wordpiece_tokenizer::load(model_dir() + "/tokenizer.json");
  CHECK(tok.vocab_size() == 30522);
  for (const minilm_case& c : minilm_reference_token_cases) {
    INFO("text: " << c.text);
    CHECK(tok.encode(c.text) == c.ids);
  }
}

TEST_CASE("minilm real: float16 weights and int8 dynamic stay close to sentence-transformers", "[minilm]") {
  // Measured on the 8 reference sentences (float16: 1.000000 / 1.000000; int8: mean 0.998209, worst
  // 0.993484, the 128-token repeated sentence); the thresholds hold with margin.
  const struct {
    minilm::variant v;
    double min_mean, min_worst;
  } cases[] = {{minilm::variant::f16, 0.99999, 0.99999}, {minilm::variant::dynamic_int8, 0.997, 0.99}};
  std::vector<std::vector<std::int32_t>> batch;
  for (const minilm_case& c : minilm_reference_cases) batch.push_back(c.ids);
  for (const auto& e : cases) {
    const auto model = minilm::bert_model::load(model_dir(), e.v);
    const std::vector<float> got = model.embed_batch(batch);
    double mean = 0.0, worst = 1.0;
    for (std::size_t b = 0; b < batch.size(); ++b) {
      const std::vector<float> want = minilm_floats(minilm_reference_cases[b].embedding);
      const double cs = minilm_cosine(got.data() + b * 384, want.data(), 384);
      mean += cs;
      worst = std::min(worst, cs);
    }
    mean /= static_cast<double>(batch.size());
    std::printf("minilm all-MiniLM-L6-v2 %s vs sentence-transformers: mean cosine %.6f, worst %.6f\n",
                minilm::to_string(e.v), mean, worst);
    CHECK(mean >= e.min_mean);
    CHECK(worst >= e.min_worst);
  }
}

int main(int argc, char** argv) {
  const std::string dir = model_dir();
  if (!std::filesystem::exists(dir + "/model.safetensors") || !std::filesystem::exists(dir + "/tokenizer.json")) {
    std::printf("minilm_real_test: skipped: all-MiniLM-L6-v2 is not in %s (run scripts/fetch_minilm.sh, or set "
                "QSPARSE_MINILM_DIR)\n", dir.c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
