// The transformer runner of examples/minilm/ on the tiny random-weight MiniLM (tests/data/minilm_tiny/):
// its tokenizer against Hugging Face's tokenizers and its embeddings against transformers' BertModel.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "bert.hpp"
#include "minilm/minilm_case.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/gemm/reference_q4.hpp"
#include "report.hpp"
#include "tokenizer.hpp"

namespace {

#include "data/minilm_tiny_vectors.inc"

const std::string tiny_dir = std::string(QSPARSE_SOURCE_DIR) + "/tests/data/minilm_tiny";

const minilm::wordpiece_tokenizer& tiny_tokenizer() {
  static const minilm::wordpiece_tokenizer t = minilm::wordpiece_tokenizer::load(tiny_dir + "/tokenizer.json");
  return t;
}

const minilm::bert_model& tiny_model(minilm::variant v) {
  static const minilm::bert_model f32 = minilm::bert_model::load(tiny_dir, minilm::variant::f32);
  static const minilm::bert_model f16 = minilm::bert_model::load(tiny_dir, minilm::variant::f16);
  static const minilm::bert_model i8 = minilm::bert_model::load(tiny_dir, minilm::variant::dynamic_int8);
  return v == minilm::variant::f32 ? f32 : v == minilm::variant::f16 ? f16 : i8;
}

std::string describe(std::string_view text) {
  std::string s;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F) {
      s += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      s += buf;
    }
  }
  return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

}  // namespace

TEST_CASE("minilm tokenizer: ids equal Hugging Face's tokenizers on every tiny case", "[minilm]") {
  const auto& tok = tiny_tokenizer();
  CHECK(tok.vocab_size() == 92);
  CHECK(tok.max_length() == 128);
  for (const minilm_case& c : minilm_tiny_cases) {
    INFO("text: " << describe(c.text));
    CHECK(tok.encode(c.text) == c.ids);
  }
}

TEST_CASE("minilm tokenizer: normalization and pre-tokenization", "[minilm]") {
  const auto& tok = tiny_tokenizer();
  const auto words = [&](std::string_view s) {
    std::vector<std::string> out;
    for (const auto& w : tok.words(s)) out.push_back(minilm::to_utf8(w));
    return out;
  };
  CHECK(words("Hello, World!") == std::vector<std::string>{"hello", ",", "world", "!"});
  CHECK(words("  ") == std::vector<std::string>{});
  CHECK(words("Caf\xC3\xA9 R\xC3\x89SUM\xC3\x89") == std::vector<std::string>{"cafe", "resume"});
  // CJK ideographs become words of their own; the ideographic space is whitespace.
  CHECK(words("ab\xE4\xB8\xAD\xE3\x80\x80" "cd") == std::vector<std::string>{"ab", "\xE4\xB8\xAD", "cd"});
  // Controls and NUL vanish (joining their neighbours); tab / newline separate.
  CHECK(words(std::string_view("a\x01" "b\0c\td", 7)) == std::vector<std::string>{"abc", "d"});
  // The Hangul syllable U+D55C decomposes to its three jamo.
  CHECK(words("\xED\x95\x9C") == std::vector<std::string>{"\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB"});
  // A decomposed accent (e + U+0301) is stripped as the composed one is.
  CHECK(words("e\xCC\x81") == std::vector<std::string>{"e"});
}

TEST_CASE("minilm tokenizer: WordPiece edges and truncation", "[minilm]") {
  const auto& tok = tiny_tokenizer();
  const std::int32_t cls = tok.cls_id(), sep = tok.sep_id(), unk = tok.unk_id();
  CHECK(tok.encode("") == std::vector<std::int32_t>{cls, sep});
  // "mats" = mat ##s; "quiz": no "q" at all, so the whole word is [UNK], not a partial match.
  CHECK(tok.encode("mats") == std::vector<std::int32_t>{cls, tok.find("mat"), tok.find("##s"), sep});
  CHECK(tok.encode("quiz") == std::vector<std::int32_t>{cls, unk, sep});
  CHECK(tok.encode("cat4") == std::vector<std::int32_t>{cls, unk, sep});  // "##4" is not in the vocabulary
  // 100 characters are a word, 101 are [UNK].
  CHECK(tok.encode(std::string(100, 'b')).size() == 102);
  CHECK(tok.encode(std::string(101, 'b')) == std::vector<std::int32_t>{cls, unk, sep});
  // Truncation: max_length counts [CLS] and [SEP]; an explicit limit overrides it; a word may be cut.
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += "cat ";
  CHECK(tok.encode(long_text).size() == 128);
  CHECK(tok.encode(long_text).back() == sep);
  CHECK(tok.encode(long_text, 5) == std::vector<std::int32_t>{cls, tok.find("cat"), tok.find("cat"), tok.find("cat"), sep});
  CHECK(tok.encode(long_text, 0).size() == 202);
  CHECK(tok.encode("mats", 3) == std::vector<std::int32_t>{cls, tok.find("mat"), sep});
  CHECK_THROWS_WITH(tok.encode("cat", 1), Catch::Contains("max_tokens must be 0 or at least 2, got 1"));
  // Special tokens in the text keep their ids, inside words too, and count towards truncation.
  const std::int32_t mask = tok.find("[MASK]");
  CHECK(tok.encode("[MASK]cat[MASK]") == std::vector<std::int32_t>{cls, mask, tok.find("cat"), mask, sep});
  CHECK(tok.encode("[MASK] [MASK] cat", 4) == std::vector<std::int32_t>{cls, mask, mask, sep});
  CHECK(tok.encode("cat [MASK] cat", 3) == std::vector<std::int32_t>{cls, tok.find("cat"), sep});
  CHECK_THROWS_WITH(tok.encode("[MASK]\xFF"), Catch::Contains("byte 255 at offset 6"));
}

TEST_CASE("minilm tokenizer: bad input is an error that says what", "[minilm]") {
  const auto& tok = tiny_tokenizer();
  CHECK_THROWS_WITH(tok.encode("ab\xC3"), Catch::Contains("not valid UTF-8 (truncated sequence at offset 2)"));
  CHECK_THROWS_WITH(tok.encode("\xC0\x80"), Catch::Contains("not valid UTF-8 (byte 192 at offset 0)"));
  CHECK_THROWS_WITH(tok.encode("\xED\xA0\x80"), Catch::Contains("bad continuation byte at offset 1"));
  CHECK_THROWS_WITH(tok.encode("\xF4\x90\x80\x80"), Catch::Contains("bad continuation byte at offset 1"));
  CHECK_THROWS_WITH(minilm::wordpiece_tokenizer::load("/nonexistent/tokenizer.json"),
                    Catch::Contains("cannot open the tokenizer file /nonexistent/tokenizer.json"));
  nlohmann::json j = nlohmann::json::parse(R"({"model": {"type": "BPE"}})");
  CHECK_THROWS_WITH(minilm::wordpiece_tokenizer::from_json(j), Catch::Contains("model.type must be \"WordPiece\", got \"BPE\""));
  j = nlohmann::json::parse(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}})");
  CHECK_THROWS_WITH(minilm::wordpiece_tokenizer::from_json(j), Catch::Contains("the token [UNK] is not in the vocabulary"));
  j = nlohmann::json::parse(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"},
                                "normalizer": {"type": "BertNormalizer", "lowercase": false, "strip_accents": true}})");
  CHECK_THROWS_WITH(minilm::wordpiece_tokenizer::from_json(j),
                    Catch::Contains("lowercase and strip_accents must agree (both or neither), got lowercase false, strip_accents true"));
  j = nlohmann::json::parse(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"}})");
  CHECK_THROWS_WITH(minilm::wordpiece_tokenizer::from_json(j), Catch::Contains("unexpected structure"));
  j = nlohmann::json::parse(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"},
                                "added_tokens": [{"id": 0, "content": "[UNK]", "lstrip": true}]})");
  CHECK_THROWS_WITH(minilm::wordpiece_tokenizer::from_json(j),
                    Catch::Contains("only non-empty tokens with single_word, lstrip, rstrip and normalized false"));
}

TEST_CASE("minilm float32: embeddings equal transformers' BertModel within 1e-5", "[minilm]") {
  const auto& model = tiny_model(minilm::variant::f32);
  CHECK(model.config().hidden_size == 32);
  CHECK(model.config().num_layers == 2);
  CHECK(model.config().num_heads == 4);
  double worst = 0.0, worst_cos = 1.0;
  std::vector<std::vector<std::int32_t>> batch;
  for (const minilm_case& c : minilm_tiny_cases) {
    INFO("text: " << describe(c.text));
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
  std::printf("minilm tiny float32 vs PyTorch: max abs difference %.3g, worst cosine %.9f (%zu texts)\n", worst,
              worst_cos, batch.size());
  // A packed batch gives every sequence the embedding it has alone.
  const std::vector<float> all = model.embed_batch(batch);
  const std::size_t h = 32;
  for (std::size_t b = 0; b < batch.size(); ++b) {
    const std::vector<float> one = model.embed(batch[b]);
    CHECK(minilm_max_abs_diff(all.data() + b * h, one.data(), h) <= 1e-6);
  }
  CHECK(model.embed_batch({}).empty());
}

TEST_CASE("minilm float16 weights and int8 dynamic stay close to float32", "[minilm]") {
  // Measured on the tiny model's random weights (drawn wide on purpose); the thresholds hold with margin.
  struct expect {
    minilm::variant v;
    double min_cos;
    std::size_t bytes;
  };
  // Linear layers per encoder layer: 4 of 32x32 + 32x64 + 64x32 weights = 8192, biases 4*32 + 64 + 32 = 224.
  const expect cases[] = {{minilm::variant::f16, 0.9999, 2 * (8192 * 2 + 224 * 4)},
                          {minilm::variant::dynamic_int8, 0.995, 2 * (8192 + 2 * 224 * 4)}};
  CHECK(tiny_model(minilm::variant::f32).linear_bytes() == 2 * (8192 + 224) * 4);
  for (const expect& e : cases) {
    const auto& model = tiny_model(e.v);
    CHECK(model.linear_bytes() == e.bytes);
    double mean = 0.0, worst = 1.0;
    for (const minilm_case& c : minilm_tiny_cases) {
      const std::vector<float> want = minilm_floats(c.embedding);
      const std::vector<float> got = model.embed(c.ids);
      const double cs = minilm_cosine(got.data(), want.data(), got.size());
      mean += cs;
      worst = std::min(worst, cs);
    }
    mean /= static_cast<double>(std::size(minilm_tiny_cases));
    std::printf("minilm tiny %s vs PyTorch float32: mean cosine %.6f, worst %.6f\n", minilm::to_string(e.v), mean, worst);
    CHECK(worst >= e.min_cos);
    CHECK(worst < 1.0);  // the variant really is another computation
  }
}

TEST_CASE("minilm qsparse variants: the same bits with one thread and with three", "[minilm]") {
  // qsparse's GEMMs never split K, so the thread count cannot change a result.
  std::vector<std::vector<std::int32_t>> batch;
  for (const minilm_case& c : minilm_tiny_cases) batch.push_back(c.ids);
  const qsparse::context three{qsparse::threads{3}};
  for (const minilm::variant v : {minilm::variant::f16, minilm::variant::dynamic_int8}) {
    INFO(minilm::to_string(v));
    CHECK(tiny_model(v).embed_batch(batch, three) == tiny_model(v).embed_batch(batch));
  }
}

TEST_CASE("minilm model: bad input is an error that says what", "[minilm]") {
  const auto& model = tiny_model(minilm::variant::f32);
  CHECK_THROWS_WITH(model.embed({2, 92, 3}), Catch::Contains("token id 92 of sequence 0 is outside the vocabulary [0, 92)"));
  CHECK_THROWS_WITH(model.embed({2, -1, 3}), Catch::Contains("token id -1 of sequence 0 is outside the vocabulary"));
  CHECK_THROWS_WITH(model.embed({}), Catch::Contains("sequence 0 of the batch is empty"));
  CHECK_THROWS_WITH(model.embed(std::vector<std::int32_t>(129, 5)),
                    Catch::Contains("sequence 0 has 129 tokens, more than max_position_embeddings = 128"));
  CHECK_THROWS_WITH(minilm::bert_model::load("/nonexistent", minilm::variant::f32),
                    Catch::Contains("cannot open the model configuration /nonexistent/config.json"));
  CHECK_THROWS_WITH(minilm::parse_variant("int3"), Catch::Contains("unknown variant \"int3\""));
}

namespace {

/// The tiny model's tensors with `name` replaced by a tensor of `type` and `shape` (dropped when shape is empty).
qsparse::io::safetensors_file tiny_with(const std::string& name, qsparse::io::dtype type,
                                        const std::vector<qsparse::index_t>& shape) {
  const auto file = qsparse::io::safetensors_file::load(tiny_dir + "/model.safetensors");
  qsparse::io::safetensors_writer out;
  for (const std::string& n : file.names()) {
    if (n == name) continue;
    const qsparse::io::byte_span b = file.bytes(n);
    out.add_bytes(n, file.info(n).dtype, file.info(n).shape, b.data, b.size);
  }
  if (!shape.empty()) {
    std::size_t count = 1;
    for (qsparse::index_t e : shape) count *= static_cast<std::size_t>(e);
    const std::vector<unsigned char> zeros(count * qsparse::io::dtype_size(type), 0);
    out.add_bytes(name, type, shape, zeros.data(), zeros.size());
  }
  const std::vector<unsigned char> bytes = out.serialize();
  return qsparse::io::safetensors_file::parse(bytes.data(), bytes.size());
}

}  // namespace

TEST_CASE("minilm model: a missing or misshapen tensor is an error that names it", "[minilm]") {
  const minilm::bert_config c = minilm::read_config(tiny_dir + "/config.json");
  using qsparse::io::dtype;
  // Unchanged, the rebuilt file gives the same embedding.
  {
    const minilm::bert_model m(c, tiny_with("", dtype::f32, {}), minilm::variant::f32);
    CHECK(m.embed(minilm_tiny_cases[0].ids) == tiny_model(minilm::variant::f32).embed(minilm_tiny_cases[0].ids));
  }
  CHECK_THROWS_WITH(minilm::bert_model(c, tiny_with("encoder.layer.1.output.dense.bias", dtype::f32, {}), minilm::variant::f32),
                    Catch::Contains("the model has no tensor encoder.layer.1.output.dense.bias"));
  CHECK_THROWS_WITH(minilm::bert_model(c, tiny_with("encoder.layer.0.intermediate.dense.weight", dtype::f32, {32, 64}),
                                       minilm::variant::f16),
                    Catch::Contains("tensor encoder.layer.0.intermediate.dense.weight must be F32 of shape [64, 32], got F32 [32, 64]"));
  CHECK_THROWS_WITH(minilm::bert_model(c, tiny_with("embeddings.LayerNorm.weight", dtype::f16, {32}), minilm::variant::f32),
                    Catch::Contains("tensor embeddings.LayerNorm.weight must be F32 of shape [32], got F16 [32]"));
}

TEST_CASE("minilm config: what the encoder cannot run is refused", "[minilm]") {
  const auto path = (std::filesystem::temp_directory_path() / "qsparse_minilm_test_config.json").string();
  const auto with = [&](const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
    return path;
  };
  const std::string sizes = R"("vocab_size": 10, "hidden_size": 32, "num_hidden_layers": 1, "intermediate_size": 8)";
  CHECK(minilm::read_config(with("{" + sizes + R"(, "num_attention_heads": 4})")).head_dim() == 8);
  CHECK_THROWS_WITH(minilm::read_config(with("{" + sizes + R"(, "num_attention_heads": 5})")),
                    Catch::Contains("inconsistent sizes (hidden_size 32, num_attention_heads 5"));
  CHECK_THROWS_WITH(minilm::read_config(with("{" + sizes + R"(, "num_attention_heads": 4, "hidden_act": "relu"})")),
                    Catch::Contains("hidden_act must be \"gelu\" (the erf form), got \"relu\""));
  CHECK_THROWS_WITH(minilm::read_config(with("{" + sizes + R"(, "num_attention_heads": 4, "position_embedding_type": "relative_key"})")),
                    Catch::Contains("position_embedding_type must be \"absolute\""));
  CHECK_THROWS_WITH(minilm::read_config(with("{" + sizes + "}")), Catch::Contains("num_attention_heads"));
  CHECK_THROWS_WITH(minilm::read_config(with("{")), Catch::Contains(path));
  std::filesystem::remove(path);
}

// ------------------------------------------------------------------------------------------------------
// The compressed variants (issue 23): each linear layer against a scalar computation of its own scheme,
// the pruned patterns exactly, and every variant on the tiny model against PyTorch's float32.

namespace {

/// Random out × in weights and bias, uniform in [-1, 1) (a fixed stream).
struct random_layer {
  int in, out;
  std::vector<float> w, b;
  random_layer(int in_, int out_, unsigned seed) : in(in_), out(out_) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    w.resize(static_cast<std::size_t>(in) * static_cast<std::size_t>(out));
    b.resize(static_cast<std::size_t>(out));
    for (float& v : w) v = u(g);
    for (float& v : b) v = 0.1f * u(g);
  }
  float at(int k, int n) const { return w[static_cast<std::size_t>(n) * static_cast<std::size_t>(in) + static_cast<std::size_t>(k)]; }
};

std::vector<float> random_rows(int rows, int cols, unsigned seed, float lo, float hi) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> x(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
  for (float& v : x) v = u(g);
  return x;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("minilm static int8 linear: the calibrated scheme computed by hand, bit for bit", "[minilm]") {
  const random_layer l(48, 40, 1);
  for (const minilm::calibration_method method : {minilm::calibration_method::minmax, minilm::calibration_method::percentile}) {
    minilm::static_int8_linear lin(l.w.data(), l.b.data(), l.in, l.out, method);
    std::vector<float> y(static_cast<std::size_t>(5 * l.out));
    const std::vector<float> x = random_rows(5, l.in, 2, -3.0f, 5.0f);
    CHECK_THROWS_WITH(lin.forward(qsparse::context{}, x.data(), 5, y.data()), Catch::Contains("ran before calibration"));
    // Calibration: float32 outputs while observing; then the range is the observer's.
    const std::vector<float> calib = random_rows(64, l.in, 3, -2.0f, 4.0f);
    lin.begin_calibration();
    std::vector<float> yc(static_cast<std::size_t>(64 * l.out));
    lin.forward(qsparse::context{}, calib.data(), 64, yc.data());
    CHECK(std::fabs(yc[0] - [&] {
            double s = l.b[0];
            for (int k = 0; k < l.in; ++k) s += static_cast<double>(calib[static_cast<std::size_t>(k)]) * l.at(k, 0);
            return s;
          }()) < 1e-4);
    lin.end_calibration();
    CHECK_THROWS_WITH(lin.begin_calibration(), Catch::Contains("calibrated once"));
    using S = minilm::static_int8_linear::act_scheme;
    qsparse::per_tensor_params want;
    if (method == minilm::calibration_method::minmax) {
      qsparse::minmax_observer o;
      o.observe(qsparse::make_view(calib.data(), 64, l.in));
      want = o.params<S>();
      CHECK(want.scale == Approx(6.0 / 255).epsilon(1e-2));  // the range [-2, 4] of the data
    } else {
      qsparse::percentile_observer o(99.99);
      o.observe(qsparse::make_view(calib.data(), 64, l.in));
      want = o.params<S>();
    }
    CHECK(lin.activation_params().scale == want.scale);
    CHECK(lin.activation_params().zero_point == want.zero_point);
    // Inputs outside the calibrated range saturate; the result is the scalar definition exactly.
    lin.forward(qsparse::context{}, x.data(), 5, y.data());
    std::vector<float> expect(y.size());
    const auto& wq = lin.weights();
    for (int m = 0; m < 5; ++m) {
      for (int n = 0; n < l.out; ++n) {
        std::int64_t acc = 0;
        for (int k = 0; k < l.in; ++k) {
          const std::int32_t q = qsparse::quantize_value<S::rounding, S::storage>(
              x[static_cast<std::size_t>(m * l.in + k)], want.scale, want.zero_point);
          acc += static_cast<std::int64_t>(q - want.zero_point) * wq[static_cast<std::size_t>(k * l.out + n)];
        }
        const float scale = want.scale * lin.weight_scales()[static_cast<std::size_t>(n)];
        CHECK(lin.output_scales()[static_cast<std::size_t>(n)] == scale);
        // The dequantize_float stage: the product rounded, then the bias (product_not_fused: no FMA).
        expect[static_cast<std::size_t>(m * l.out + n)] =
            qsparse::detail::product_not_fused(static_cast<float>(acc), scale) + l.b[static_cast<std::size_t>(n)];
      }
    }
    CHECK(same_bits(y, expect));
    // The weights: symmetric per output channel, max |w| -> +-127.
    for (int n = 0; n < l.out; ++n) {
      int mx = 0;
      for (int k = 0; k < l.in; ++k) mx = std::max(mx, std::abs(int{wq[static_cast<std::size_t>(k * l.out + n)]}));
      CHECK(mx == 127);
    }
  }
}

TEST_CASE("minilm 16x8 linear: int16 activations, int64 sums, computed by hand bit for bit", "[minilm]") {
  const random_layer l(64, 24, 4);
  minilm::w16a8_linear lin(l.w.data(), l.b.data(), l.in, l.out);
  const std::vector<float> calib = random_rows(16, l.in, 5, -6.0f, 3.0f);
  std::vector<float> yc(static_cast<std::size_t>(16 * l.out));
  lin.begin_calibration();
  lin.forward(qsparse::context{}, calib.data(), 16, yc.data());
  lin.end_calibration();
  using S = minilm::w16a8_linear::act_scheme;
  const qsparse::per_tensor_params p = lin.activation_params();
  CHECK(p.zero_point == 0);
  float amax = 0.0f;
  for (float v : calib) amax = std::max(amax, std::fabs(v));
  CHECK(p.scale == Approx(amax / 32767.5f).epsilon(1e-6));  // full int16 range: max|x| / ((qmax - qmin) / 2)
  const std::vector<float> x = random_rows(3, l.in, 6, -7.0f, 7.0f);  // beyond the range: saturates
  std::vector<float> y(static_cast<std::size_t>(3 * l.out));
  lin.forward(qsparse::context{qsparse::threads{2}}, x.data(), 3, y.data());
  std::vector<float> scales;
  const std::vector<std::int8_t> wq = minilm::detail::quantize_weights_int8(l.w.data(), l.in, l.out, scales);
  std::vector<float> expect(y.size());
  for (int m = 0; m < 3; ++m) {
    for (int n = 0; n < l.out; ++n) {
      std::int64_t acc = 0;
      for (int k = 0; k < l.in; ++k) {
        acc += std::int64_t{qsparse::quantize_value<S::rounding, S::storage>(x[static_cast<std::size_t>(m * l.in + k)], p.scale, 0)} *
               wq[static_cast<std::size_t>(k * l.out + n)];
      }
      expect[static_cast<std::size_t>(m * l.out + n)] =
          qsparse::detail::product_not_fused(static_cast<float>(acc), p.scale * scales[static_cast<std::size_t>(n)]) +
          l.b[static_cast<std::size_t>(n)];
    }
  }
  CHECK(same_bits(y, expect));
}

TEST_CASE("minilm 4-bit linear: group scales and gemm_q4 against its reference", "[minilm]") {
  const random_layer l(64, 32, 7);
  const std::vector<float> x = random_rows(4, l.in, 8, -1.0f, 1.0f);
  for (const int group : {32, 128}) {
    minilm::q4_linear rtn(l.w.data(), l.b.data(), l.in, l.out, group, false);
    minilm::q4_linear clip(l.w.data(), l.b.data(), l.in, l.out, group, true);
    const int g = std::min(group, l.in);  // 128 > K = 64: one group of K
    CHECK(rtn.group() == g);
    CHECK(rtn.bytes() == static_cast<std::size_t>(64 * 32 / 2 + (32 + 32 * (64 / g)) * 4));
    // RTN: each group's scale is max |w| / 7 for the symmetric int4 scheme's range [-8, 7]... (the
    // scheme's rule), and the clip search never widens it.
    for (std::size_t i = 0; i < rtn.scales().size(); ++i) CHECK(clip.scales()[i] <= rtn.scales()[i]);
    for (const auto* lin : {&rtn, &clip}) {
      std::vector<float> y(static_cast<std::size_t>(4 * l.out)), want(y.size());
      lin->forward(qsparse::context{}, x.data(), 4, y.data());
      const qsparse::group_params<float> p{lin->scales().data(), nullptr, g, 0, static_cast<qsparse::index_t>(lin->scales().size())};
      qsparse::reference_gemm_q4(qsparse::make_view(x.data(), 4, l.in), qsparse::make_view(lin->weights().data(), l.in, l.out), p,
                                 qsparse::make_view(want.data(), 4, l.out), qsparse::pipeline(qsparse::bias_add_float{l.b.data()}));
      CHECK(same_bits(y, want));
      for (const std::int8_t v : lin->weights()) CHECK((v >= -8 && v <= 7));
    }
  }
  CHECK_THROWS_WITH(minilm::q4_linear(l.w.data(), l.b.data(), 48, 32, 32, false), Catch::Contains("groups of 32 do not divide K = 48"));
}

TEST_CASE("minilm pruned int8 linears: exact patterns, and the sparse GEMM equals the dense hybrid one", "[minilm]") {
  const random_layer l(64, 32, 9);  // K = 64, N = 32: 16 x 2 blocks of 4 x 16, 16 groups of 4 per column
  const std::vector<float> x = random_rows(6, l.in, 10, -2.0f, 3.0f);
  std::vector<float> absw(static_cast<std::size_t>(64 * 32));
  for (int k = 0; k < 64; ++k)
    for (int n = 0; n < 32; ++n) absw[static_cast<std::size_t>(k * 32 + n)] = std::fabs(l.at(k, n));
  for (const auto pattern : {minilm::prune_pattern::unstructured50, minilm::prune_pattern::two_of_four, minilm::prune_pattern::block_4x16}) {
    minilm::pruned_int8_linear lin(l.w.data(), l.b.data(), l.in, l.out, pattern);
    const std::vector<std::int8_t>& q = lin.weights();
    // kept[i]: whether the float weight survives the pattern's rule, computed here from |w|.
    std::vector<bool> kept(absw.size(), false);
    if (pattern == minilm::prune_pattern::unstructured50) {
      std::vector<float> sorted = absw;
      std::sort(sorted.begin(), sorted.end(), std::greater<float>());
      const float threshold = sorted[sorted.size() / 2 - 1];
      for (std::size_t i = 0; i < absw.size(); ++i) kept[i] = absw[i] >= threshold;
      CHECK(std::count(kept.begin(), kept.end(), true) == 1024);
    } else if (pattern == minilm::prune_pattern::two_of_four) {
      for (int n = 0; n < 32; ++n) {
        for (int k0 = 0; k0 < 64; k0 += 4) {
          std::array<int, 4> idx = {0, 1, 2, 3};
          std::sort(idx.begin(), idx.end(), [&](int a, int b) {
            return absw[static_cast<std::size_t>((k0 + a) * 32 + n)] > absw[static_cast<std::size_t>((k0 + b) * 32 + n)];
          });
          kept[static_cast<std::size_t>((k0 + idx[0]) * 32 + n)] = kept[static_cast<std::size_t>((k0 + idx[1]) * 32 + n)] = true;
        }
      }
      CHECK(qsparse::is_n_of_m(qsparse::make_view(q.data(), 64, 32), 2, 4, 0));
    } else {
      std::vector<std::pair<double, int>> blocks;
      for (int bk = 0; bk < 16; ++bk) {
        for (int bn = 0; bn < 2; ++bn) {
          double s = 0.0;
          for (int k = 0; k < 4; ++k)
            for (int n = 0; n < 16; ++n) s += absw[static_cast<std::size_t>((bk * 4 + k) * 32 + bn * 16 + n)];
          blocks.emplace_back(-s, bk * 2 + bn);
        }
      }
      std::sort(blocks.begin(), blocks.end());
      for (std::size_t i = 0; i < 16; ++i) {
        const int bk = blocks[i].second / 2, bn = blocks[i].second % 2;
        for (int k = 0; k < 4; ++k)
          for (int n = 0; n < 16; ++n) kept[static_cast<std::size_t>((bk * 4 + k) * 32 + bn * 16 + n)] = true;
      }
    }
    std::size_t nonzero = 0;
    for (std::size_t i = 0; i < q.size(); ++i) {
      if (!kept[i]) CHECK(q[i] == 0);
      nonzero += q[i] != 0 ? 1u : 0u;
    }
    CHECK(nonzero <= 1024);
    CHECK(nonzero >= 1000);  // a kept weight rounds to 0 only when below scale / 2
    // The result: the dense hybrid GEMM's definition on the same masked int8 weights, bit for bit.
    std::vector<float> y(static_cast<std::size_t>(6 * l.out)), want(y.size());
    lin.forward(qsparse::context{qsparse::threads{2}}, x.data(), 6, y.data());
    qsparse::hybrid_params hp;
    hp.weight_scales = lin.scales().data();
    hp.per_channel = true;
    hp.bias = l.b.data();
    hp.input_quantization = qsparse::hybrid_quantization::asymmetric;
    qsparse::reference_hybrid_gemm(qsparse::make_view(x.data(), 6, l.in), qsparse::make_view(q.data(), l.in, l.out),
                                   qsparse::make_view(want.data(), 6, l.out), hp);
    CHECK(same_bits(y, want));
    // An all-zero input gives the bias, as hybrid_gemm.
    const std::vector<float> zeros(static_cast<std::size_t>(2 * l.in), 0.0f);
    lin.forward(qsparse::context{}, zeros.data(), 2, y.data());
    CHECK(std::equal(l.b.begin(), l.b.end(), y.begin()));
  }
}

TEST_CASE("minilm every variant on the tiny model: close to PyTorch's float32, sizes as stored", "[minilm]") {
  std::vector<std::vector<std::int32_t>> batch;
  for (const minilm_case& c : minilm_tiny_cases) batch.push_back(c.ids);
  // Mean and worst cosine to PyTorch over the 17 texts, measured on this random model (drawn wide on
  // purpose: attention far from uniform, so harder than the real model). Every kernel is bit-exact across
  // ISAs and thread counts, so the values move only with the float element-wise code (exp, erf): the
  // brackets are +-0.002 around them. One-shot pruning of a random model loses most of it, as expected.
  struct expect {
    minilm::variant v;
    double mean, worst;
  };
  const expect cases[] = {{minilm::variant::dynamic_int8, 0.999515, 0.998267},
                          {minilm::variant::static_int8_minmax, 0.999193, 0.998314},
                          {minilm::variant::static_int8_percentile, 0.999357, 0.998128},
                          {minilm::variant::w16a8, 0.999693, 0.999493},
                          {minilm::variant::q4_g32, 0.913574, 0.795067},
                          {minilm::variant::q4_g32_clip, 0.944858, 0.898100},
                          {minilm::variant::q4_g128_clip, 0.928927, 0.868560},
                          {minilm::variant::pruned50_int8, 0.753611, 0.445181},
                          {minilm::variant::pruned24_int8, 0.660972, 0.357769},
                          {minilm::variant::pruned_block_int8, 0.234192, -0.148648}};
  for (const expect& e : cases) {
    INFO(minilm::to_string(e.v));
    auto model = minilm::bert_model::load(tiny_dir, e.v);
    CHECK(model.int8_attention());
    if (minilm::needs_calibration(e.v)) {
      CHECK_THROWS_WITH(model.embed(batch[0]), Catch::Contains("ran before calibration"));
      model.calibrate(batch);
    }
    const std::vector<float> got = model.embed_batch(batch);
    double mean = 0.0, worst = 1.0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const std::vector<float> want = minilm_floats(minilm_tiny_cases[i].embedding);
      const double cs = minilm_cosine(got.data() + i * 32, want.data(), 32);
      mean += cs;
      worst = std::min(worst, cs);
    }
    mean /= static_cast<double>(batch.size());
    std::printf("minilm tiny %-26s vs PyTorch float32: mean cosine %.6f, worst %.6f, linear bytes %zu\n", minilm::to_string(e.v),
                mean, worst, model.linear_bytes());
    CHECK(mean == Approx(e.mean).margin(0.002));
    CHECK(worst == Approx(e.worst).margin(0.002));
    // Thread count never changes a result.
    CHECK(model.embed_batch(batch, qsparse::context{qsparse::threads{3}}) == got);
    CHECK(model.other_bytes() == (92 + 128 + 2 + 2 + 2 * 4) * 32 * 4);
  }
}

TEST_CASE("minilm attention on the int8 GEMM: another computation, close to float attention", "[minilm]") {
  std::vector<std::vector<std::int32_t>> batch;
  for (const minilm_case& c : minilm_tiny_cases) batch.push_back(c.ids);
  auto model = minilm::bert_model::load(tiny_dir, minilm::variant::dynamic_int8);
  const std::vector<float> int8_att = model.embed_batch(batch);
  model.set_int8_attention(false);
  const std::vector<float> float_att = model.embed_batch(batch);
  CHECK(int8_att != float_att);
  double worst = 1.0;
  for (std::size_t i = 0; i < batch.size(); ++i) worst = std::min(worst, minilm_cosine(&int8_att[i * 32], &float_att[i * 32], 32));
  CHECK(worst > 0.998);
  // The float variants keep float attention.
  CHECK_FALSE(tiny_model(minilm::variant::f32).int8_attention());
  CHECK_FALSE(tiny_model(minilm::variant::f16).int8_attention());
}

TEST_CASE("minilm attention operands: every ISA quantizes to the plain loops' bits", "[minilm]") {
  std::mt19937 g(7);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  const qsparse::isa_level best = qsparse::best_isa();
  // Shapes around the 16-lane steps; strides wider than the rows (q | k | v side by side).
  for (const std::size_t rows : {std::size_t{1}, std::size_t{5}, std::size_t{16}, std::size_t{32}, std::size_t{37}}) {
    for (const std::size_t cols : {std::size_t{1}, std::size_t{15}, std::size_t{32}, std::size_t{33}}) {
      for (const bool transposed : {false, true}) {
        const std::size_t outer = transposed ? cols : rows, inner = transposed ? rows : cols, stride = inner + 3;
        std::vector<float> src(outer * stride);
        for (float& x : src) x = normal(g);
        // Adversarial values: an all-zero column, exact ties of the rounding (x / s = k + 0.5), signed zeros.
        for (std::size_t r = 0; r < rows; ++r) {
          float& z = transposed ? src[0 * stride + r] : src[r * stride + 0];
          z = r % 2 == 0 ? 0.0f : -0.0f;
        }
        if (cols > 1 && rows > 2) {
          const auto at = [&](std::size_t r, std::size_t c) -> float& { return transposed ? src[c * stride + r] : src[r * stride + c]; };
          for (std::size_t r = 0; r < rows; ++r) at(r, 1) = static_cast<float>(static_cast<int>(r % 7) - 3) + 0.5f;
          at(0, 1) = 127.0f;  // s = 1: the ties stay ties
          at(1, 1) = -126.5f;
        }
        std::vector<float> scale_ref(cols), scale(cols), mx(cols);
        std::vector<std::int8_t> q_ref(rows * cols), q(rows * cols);
        minilm::detail::quantize_operand_scalar(src.data(), stride, rows, cols, transposed, scale_ref.data(), mx.data(), q_ref.data());
        for (const qsparse::isa_level isa : {qsparse::isa_level::scalar, best}) {
          minilm::detail::quantize_operand(isa, src.data(), stride, rows, cols, transposed, scale.data(), mx.data(), q.data());
          INFO("rows " << rows << " cols " << cols << " transposed " << transposed << " isa " << static_cast<int>(isa));
          CHECK(q == q_ref);
          CHECK(std::memcmp(scale.data(), scale_ref.data(), cols * sizeof(float)) == 0);
        }
        CHECK(scale_ref[0] == 1.0f);
        if (cols > 1 && rows > 2) {
          CHECK(scale_ref[1] == 1.0f);
          CHECK(int{q_ref[1 * cols + 1]} == -127);  // -126.5 rounds away from zero
          CHECK(int{q_ref[2 * cols + 1]} == -1);  // -0.5 rounds away from zero
          if (rows > 5) CHECK(int{q_ref[5 * cols + 1]} == 3);  // 2.5 likewise
        }
      }
    }
  }
}

namespace {

/// One head of the int8 attention as bert_model computed it before the fused kernel: two hybrid_gemm calls
/// on operands quantized by quantize_operand_scalar and packed as weights.
void attention_head_two_gemms(const float* q, const float* k, const float* v, std::size_t ld, std::size_t n, std::size_t dh,
                              float scale, float* out, std::size_t out_ld) {
  const qsparse::isa_level isa = qsparse::best_isa();
  const auto ni = static_cast<qsparse::index_t>(n), di = static_cast<qsparse::index_t>(dh);
  std::vector<float> kscale(n), vscale(dh), mx(std::max(n, dh)), s(n * n);
  std::vector<std::int8_t> kq(dh * n), vq(n * dh);
  minilm::detail::quantize_operand_scalar(k, ld, dh, n, true, kscale.data(), mx.data(), kq.data());
  minilm::detail::quantize_operand_scalar(v, ld, n, dh, false, vscale.data(), mx.data(), vq.data());
  const auto packed_k = qsparse::pack_weights(qsparse::make_view(static_cast<const std::int8_t*>(kq.data()), di, ni), 0, isa);
  const auto packed_v = qsparse::pack_weights(qsparse::make_view(static_cast<const std::int8_t*>(vq.data()), ni, di), 0, isa);
  qsparse::hybrid_params p;
  p.per_channel = true;
  p.input_quantization = qsparse::hybrid_quantization::asymmetric;
  p.weight_scales = kscale.data();
  qsparse::hybrid_gemm(qsparse::context{}, qsparse::make_strided_view(q, {ni, di}, {static_cast<qsparse::index_t>(ld), 1}),
                       packed_k.view(), qsparse::make_view(s.data(), ni, ni), p);
  for (std::size_t i = 0; i < n; ++i) qsparse::softmax_row(s.data() + i * n, static_cast<std::ptrdiff_t>(n), scale);
  p.weight_scales = vscale.data();
  qsparse::hybrid_gemm(qsparse::context{}, qsparse::make_view(static_cast<const float*>(s.data()), ni, ni), packed_v.view(),
                       qsparse::make_strided_view(out, {ni, di}, {static_cast<qsparse::index_t>(out_ld), 1}), p);
}

}  // namespace

TEST_CASE("minilm fused attention head: the reference's bits, which are the two hybrid_gemm calls', on odd shapes", "[minilm]") {
  std::mt19937 g(11);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  const qsparse::isa_level best = qsparse::best_isa();
  INFO("best isa " << static_cast<int>(best) << ", fused kernel: " << minilm::detail::has_fused_attention(best));
  minilm::detail::attention_head_scratch w;  // reused across shapes, as a thread's is
  for (const std::size_t n : {std::size_t{1}, std::size_t{3}, std::size_t{4}, std::size_t{17}, std::size_t{64}, std::size_t{65},
                              std::size_t{128}, std::size_t{130}}) {
    for (const std::size_t dh : {std::size_t{1}, std::size_t{5}, std::size_t{8}, std::size_t{32}, std::size_t{33}, std::size_t{64}}) {
      // q | k | v side by side in rows of ld floats, as the fused projection writes them.
      const std::size_t ld = 3 * dh + 3, out_ld = dh + 2;
      std::vector<float> x(n * ld);
      for (float& e : x) e = normal(g);
      float* q = x.data();
      float* k = x.data() + dh;
      float* v = x.data() + 2 * dh;
      // Adversarial rows: an all-zero query and key, one far larger query (a one-hot softmax), exact ties.
      for (std::size_t d = 0; d < dh; ++d) {
        q[0 * ld + d] = 0.0f;
        if (n > 1) k[1 * ld + d] = d % 2 == 0 ? 0.0f : -0.0f;
        if (n > 2) q[2 * ld + d] *= 40.0f;
        if (n > 3) v[3 * ld + d] = static_cast<float>(static_cast<int>(d % 5) - 2) + 0.5f;
      }
      const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
      std::vector<float> want(n * out_ld, -1.0f), old(n * out_ld, -1.0f), got(n * out_ld, -1.0f);
      minilm::detail::attention_head_reference(q, k, v, ld, n, dh, scale, want.data(), out_ld);
      attention_head_two_gemms(q, k, v, ld, n, dh, scale, old.data(), out_ld);
      minilm::detail::attention_head_int8(best, q, k, v, ld, n, dh, scale, got.data(), out_ld, w);
      INFO("n " << n << " dh " << dh);
      CHECK(same_bits(want, old));
      CHECK(same_bits(want, got));  // the padding between rows untouched too (-1)
    }
  }
  // All-zero values and a single key: the scores are 0, the probabilities 1, the output v's row.
  const std::vector<float> zeros(3 * 8, 0.0f);
  std::vector<float> one(8, 5.0f);
  minilm::detail::attention_head_int8(best, zeros.data(), zeros.data(), zeros.data(), 24, 1, 8, 0.5f, one.data(), 8, w);
  CHECK(std::all_of(one.begin(), one.end(), [](float e) { return e == 0.0f; }));
  // The fused kernel reports non-finite values where they reach a quantized row (the reference's plain
  // loops do not check): a NaN query; an infinite key whose score is +inf (the softmax row is NaN: the
  // kernel's sum is not finite and it reports the row as quantize_row_dynamic does; a key giving a -inf
  // score only gives that key probability 0).
  for (const int where : {0, 1}) {
    if (!minilm::detail::has_fused_attention(best)) break;
    std::vector<float> x(4 * 3 * 8, -0.25f), o(4 * 8);
    x[where == 0 ? 2 * 24 + 3 : 1 * 24 + 8 + 5] = where == 0 ? std::nanf("") : std::numeric_limits<float>::infinity();
    INFO("where " << where);
    CHECK_THROWS_WITH(minilm::detail::attention_head_int8(best, x.data(), x.data() + 8, x.data() + 16, 24, 4, 8, 0.5f, o.data(), 8, w),
                      Catch::Contains("must be finite"));
  }
}

TEST_CASE("minilm fused attention on the tiny model: the same embeddings as the two hybrid_gemm calls", "[minilm]") {
  std::vector<std::vector<std::int32_t>> batch;
  for (const minilm_case& c : minilm_tiny_cases) batch.push_back(c.ids);
  for (const minilm::variant v : {minilm::variant::dynamic_int8, minilm::variant::static_int8_minmax}) {
    auto model = minilm::bert_model::load(tiny_dir, v);
    if (minilm::needs_calibration(v)) model.calibrate(batch);
    CHECK(model.fused_attention());
    const std::vector<float> fused = model.embed_batch(batch, qsparse::context{qsparse::threads{2}});
    model.set_fused_attention(false);
    CHECK(model.embed_batch(batch) == fused);
  }
}

TEST_CASE("minilm report helpers: cosine, recall@k, median on hand-made values", "[minilm]") {
  const float a[] = {1, 2, 2}, b[] = {2, 4, 4}, c[] = {0, 0, 0}, d[] = {-2, 1, 0};
  CHECK(minilm::cosine(a, b, 3) == 1.0);
  CHECK(minilm::cosine(a, d, 3) == 0.0);
  CHECK(minilm::cosine(a, c, 3) == 0.0);
  const std::vector<float> ref = {1, 0, 0, 1, 1, 0};     // 3 rows of 2
  const std::vector<float> var = {1, 0, 1, 0, -1, 0};    // row 1 turned to (1, 0): cosine 0; row 2: -1
  const minilm::cosine_stats s = minilm::compare(ref, var, 3, 2);
  CHECK(s.mean == Approx(0.0).margin(1e-15));
  CHECK(s.worst == -1.0);
  CHECK(s.worst_row == 2);
  // Five unit vectors on a circle at angles 0, 10, 20, 90, 180 degrees; k = 2.
  const auto unit = [](const std::vector<double>& deg) {
    std::vector<float> e;
    for (double t : deg) {
      e.push_back(static_cast<float>(std::cos(t * M_PI / 180)));
      e.push_back(static_cast<float>(std::sin(t * M_PI / 180)));
    }
    return e;
  };
  const std::vector<float> r = unit({0, 10, 20, 90, 180});
  CHECK(minilm::nearest(r, 5, 2, 0, 2) == std::vector<std::size_t>{1, 2});
  CHECK(minilm::nearest(r, 5, 2, 3, 2) == std::vector<std::size_t>{2, 1});
  CHECK(minilm::nearest(r, 5, 2, 0, 10).size() == 4);
  // The variant moves row 2 to 100 degrees: query 0's neighbours become {1, 3} (1 of 2 kept), query 3's
  // {2, 1} stay, query 4's {3, 2} -> {2, 3} stay.
  const std::vector<float> v = unit({0, 10, 100, 90, 180});
  CHECK(minilm::recall_at_k(r, v, 5, 2, {0}, 2) == 0.5);
  CHECK(minilm::recall_at_k(r, v, 5, 2, {0, 3, 4}, 2) == Approx(2.5 / 3).epsilon(1e-15));
  CHECK(minilm::recall_at_k(r, r, 5, 2, {0, 1, 2, 3, 4}, 2) == 1.0);
  std::vector<std::vector<std::size_t>> nn;
  for (const std::size_t q : {std::size_t{0}, std::size_t{3}, std::size_t{4}}) nn.push_back(minilm::nearest(r, 5, 2, q, 2));
  CHECK(minilm::recall_at_k(nn, v, 5, 2, {0, 3, 4}, 2) == minilm::recall_at_k(r, v, 5, 2, {0, 3, 4}, 2));
  CHECK_THROWS_WITH(minilm::recall_at_k(r, v, 5, 2, {5}, 2), Catch::Contains("query 5 is not a row"));
  CHECK_THROWS_WITH(minilm::recall_at_k(r, v, 5, 2, {}, 2), Catch::Contains("needs queries"));
  CHECK(minilm::median({3.0, 1.0, 2.0}) == 2.0);
  CHECK(minilm::median({4.0, 1.0, 2.0, 3.0}) == 2.5);
  CHECK_THROWS(minilm::median({}));
}

TEST_CASE("minilm report: the corpus, the latency inputs", "[minilm]") {
  CHECK(minilm::collapse_whitespace("  a \t b\n\nc  ") == "a b c");
  const std::string fortunes = "First  line\n  continued\n%\n\n%\nSecond\n%\nFirst line continued\n%\nlast\n";
  CHECK(minilm::split_fortunes(fortunes) ==
        std::vector<std::string>{"First line continued", "Second", "First line continued", "last"});
  CHECK(minilm::deduplicate(minilm::split_fortunes(fortunes)) ==
        std::vector<std::string>{"First line continued", "Second", "last"});
  CHECK(minilm::split_fortunes("one\n\n two \n") == std::vector<std::string>{"one", "two"});  // no % line: lines
  CHECK_THROWS_WITH(minilm::load_corpus("/nonexistent-corpus"), Catch::Contains("no corpus at /nonexistent-corpus"));
  const auto path = (std::filesystem::temp_directory_path() / "qsparse_minilm_corpus.txt").string();
  std::ofstream(path, std::ios::binary) << fortunes;
  std::string desc;
  CHECK(minilm::load_corpus(path, &desc).size() == 3);
  CHECK(desc == "3 distinct entries of 1 file in " + path);
  std::filesystem::remove(path);

  std::mt19937 g(23);
  const auto ids = minilm::latency_ids(32, 128, 101, 102, 30522, g);
  REQUIRE(ids.size() == 32);
  std::mt19937 check(23);
  for (const auto& s : ids) {
    REQUIRE(s.size() == 128);
    CHECK(s.front() == 101);
    CHECK(s.back() == 102);
    for (std::size_t i = 1; i < 127; ++i) CHECK(s[i] == static_cast<std::int32_t>(1000 + check() % 29000));
  }
  std::mt19937 g2(23);
  for (const auto& s : minilm::latency_ids(2, 10, 2, 3, 92, g2)) {
    for (std::size_t i = 1; i < 9; ++i) CHECK((s[i] >= 46 && s[i] < 92));
  }
}

TEST_CASE("minilm report: the peers' JSON, and every malformed field named", "[minilm]") {
  const minilm::peer_timings p = minilm::read_peers(std::string(QSPARSE_SOURCE_DIR) + "/tests/data/minilm_peers_sample.json");
  CHECK(p.tokens == 128);
  REQUIRE(p.rows.size() == 7);
  CHECK(minilm::peer_names(p) ==
        std::vector<std::string>{"PyTorch fp32", "PyTorch dynamic int8", "ONNX Runtime fp32", "ONNX Runtime int8"});
  CHECK(minilm::peer_ms(p, "ONNX Runtime int8", 32, 2) == 200.5);
  CHECK(minilm::peer_ms(p, "ONNX Runtime int8", 32, 1) < 0);
  const auto bad = [](const std::string& text) { return minilm::parse_peers(text, "p.json"); };
  CHECK_THROWS_WITH(bad("{"), Catch::Contains("p.json: not JSON"));
  CHECK_THROWS_WITH(bad("[]"), Catch::Contains("the document must be an object"));
  CHECK_THROWS_WITH(bad(R"({"rows": []})"), Catch::Contains("p.json: tokens must be an integer"));
  CHECK_THROWS_WITH(bad(R"({"tokens": 0, "rows": []})"), Catch::Contains("tokens must be positive, got 0"));
  CHECK_THROWS_WITH(bad(R"({"tokens": 128})"), Catch::Contains("rows must be an array"));
  CHECK_THROWS_WITH(bad(R"({"tokens": 128, "rows": [1]})"), Catch::Contains("rows[0] must be an object"));
  const std::string ok = R"({"peer": "X", "batch": 1, "threads": 1, "ms": 2.5})";
  CHECK(bad(R"({"tokens": 128, "rows": [)" + ok + "]}").rows[0].ms == 2.5);
  CHECK_THROWS_WITH(bad(R"({"tokens": 128, "rows": [)" + ok + R"(, {"peer": 3, "batch": 1, "threads": 1, "ms": 1}]})"),
                    Catch::Contains("rows[1].peer must be a non-empty string"));
  CHECK_THROWS_WITH(bad(R"({"tokens": 128, "rows": [{"peer": "X", "batch": 0, "threads": 1, "ms": 1}]})"),
                    Catch::Contains("rows[0].batch must be a positive integer"));
  CHECK_THROWS_WITH(bad(R"({"tokens": 128, "rows": [{"peer": "X", "batch": 1, "threads": 1.5, "ms": 1}]})"),
                    Catch::Contains("rows[0].threads must be a positive integer"));
  CHECK_THROWS_WITH(bad(R"({"tokens": 128, "rows": [{"peer": "X", "batch": 1, "threads": 1, "ms": -1}]})"),
                    Catch::Contains("rows[0].ms must be a positive number"));
  CHECK_THROWS_WITH(bad(R"({"tokens": 128, "rows": [{"peer": "X", "batch": 1, "threads": 1}]})"),
                    Catch::Contains("rows[0].ms must be a positive number"));
  CHECK_THROWS_WITH(minilm::read_peers("/nonexistent/peers.json"), Catch::Contains("cannot open the peers file /nonexistent/peers.json"));
}

TEST_CASE("minilm mixed precision: slot names and the selection rule on made-up sensitivities", "[minilm][mixed]") {
  CHECK(minilm::slot_name(0) == "L0.qkv");
  CHECK(minilm::slot_name(3) == "L0.ffn-down");
  CHECK(minilm::slot_name(5) == "L1.attn-out");
  CHECK(minilm::slot_name(22) == "L5.ffn-up");
  const std::vector<double> e = {0.1, 0.5, 0.5, 0.0, 0.3};
  CHECK(minilm::select_sensitive(e, 0).empty());
  CHECK(minilm::select_sensitive(e, 1) == std::vector<std::size_t>{1});  // the tie 1 / 2 goes to the lower slot
  CHECK(minilm::select_sensitive(e, 2) == std::vector<std::size_t>{1, 2});
  CHECK(minilm::select_sensitive(e, 3) == std::vector<std::size_t>{1, 2, 4});  // increasing slot order
  CHECK(minilm::select_sensitive(e, 5) == std::vector<std::size_t>{0, 1, 2, 3, 4});
  CHECK(minilm::select_sensitive({0.0, 0.0, 0.0}, 2) == std::vector<std::size_t>{0, 1});
  CHECK(minilm::select_sensitive({}, 0).empty());
  CHECK_THROWS_WITH(minilm::select_sensitive(e, 6), Catch::Contains("keep = 6 exceeds the 5 slots"));
  CHECK_THROWS_WITH(minilm::select_sensitive({0.1, std::nan(""), 0.2}, 1), Catch::Contains("error[1]"));
  CHECK_THROWS_WITH(minilm::select_sensitive({0.1, 0.2, -1e-9}, 1), Catch::Contains("error[2]"));
  CHECK_THROWS_WITH(minilm::select_sensitive({HUGE_VAL}, 1), Catch::Contains("not a finite value"));
  CHECK(minilm::mixed_low(minilm::variant::mixed_int8) == minilm::variant::dynamic_int8);
  CHECK(minilm::mixed_high(minilm::variant::mixed_int8) == minilm::variant::f16);
  CHECK(minilm::mixed_low(minilm::variant::mixed_q4) == minilm::variant::q4_g32_clip);
  CHECK(minilm::mixed_high(minilm::variant::mixed_q4) == minilm::variant::dynamic_int8);
  CHECK(minilm::default_mixed_keep(minilm::variant::mixed_int8, 24) == 4);
  CHECK(minilm::default_mixed_keep(minilm::variant::mixed_q4, 24) == 12);
  CHECK(minilm::parse_variant("int8-mixed") == minilm::variant::mixed_int8);
  CHECK(minilm::parse_variant("q4-mixed") == minilm::variant::mixed_q4);
  CHECK_THROWS_WITH(minilm::make_linear(minilm::variant::mixed_q4, nullptr, nullptr, 1, 1), Catch::Contains("q4-mixed"));
}

TEST_CASE("minilm mixed precision on the tiny model: the measured sensitivities pick the slots, bit for bit", "[minilm][mixed]") {
  std::vector<std::vector<std::int32_t>> batch;
  for (const minilm_case& c : minilm_tiny_cases) batch.push_back(c.ids);
  const auto embed_all = [&](const minilm::bert_model& m) {  // as select_layers does: batches of 16
    using seqs = std::vector<std::vector<std::int32_t>>;
    std::vector<float> out = m.embed_batch(seqs(batch.begin(), batch.begin() + 16));
    const std::vector<float> rest = m.embed_batch(seqs(batch.begin() + 16, batch.end()));
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
  };
  const auto mean_error = [&](const std::vector<float>& got, const std::vector<float>& want) {
    double sum = 0.0;
    for (std::size_t i = 0; i < batch.size(); ++i) sum += 1.0 - minilm_cosine(&got[i * 32], &want[i * 32], 32);
    return std::max(0.0, sum / static_cast<double>(batch.size()));
  };
  for (const minilm::variant v : {minilm::variant::mixed_int8, minilm::variant::mixed_q4}) {
    INFO(minilm::to_string(v));
    const minilm::variant low = minilm::mixed_low(v), high = minilm::mixed_high(v);
    // The two ends: nothing kept is the low variant, everything kept the high one with the int8 attention.
    auto none = minilm::bert_model::load(tiny_dir, v);
    CHECK(none.int8_attention());
    CHECK(none.mixed_keep() == (v == minilm::variant::mixed_q4 ? 4u : 1u));  // of 8 slots
    CHECK_THROWS_WITH(none.embed(batch[0]), Catch::Contains("mixed variant ran before calibration"));
    CHECK_THROWS_WITH(none.set_mixed_keep(9), Catch::Contains("keep = 9 exceeds the 8 slots"));
    none.set_mixed_keep(0);
    none.calibrate(batch);
    CHECK_THROWS_WITH(none.calibrate(batch), Catch::Contains("selects its layers once"));
    CHECK(none.slot_variants() == std::vector<minilm::variant>(8, low));
    auto low_model = minilm::bert_model::load(tiny_dir, low);
    CHECK(none.embed_batch(batch) == low_model.embed_batch(batch));
    CHECK(none.linear_bytes() == low_model.linear_bytes());
    auto high_model = minilm::bert_model::load(tiny_dir, high);
    high_model.set_int8_attention(true);
    const std::vector<float> ref = embed_all(high_model);
    auto all = minilm::bert_model::load(tiny_dir, v);
    all.set_mixed_keep(8);
    all.calibrate(batch);
    CHECK(all.slot_variants() == std::vector<minilm::variant>(8, high));
    CHECK(all.embed_batch(batch) == high_model.embed_batch(batch));
    CHECK(all.linear_bytes() == high_model.linear_bytes());
    // Both measured the same sensitivities, and they pick the default selection.
    REQUIRE(all.sensitivity().size() == 8);
    CHECK(all.sensitivity() == none.sensitivity());
    auto dflt = minilm::bert_model::load(tiny_dir, v);
    dflt.calibrate(batch);
    CHECK(dflt.sensitivity() == all.sensitivity());
    const std::vector<std::size_t> kept = minilm::select_sensitive(dflt.sensitivity(), dflt.mixed_keep());
    // Measured on this model (every kernel gives the same bits on every ISA and thread count): int8 keeps
    // layer 0's q | k | v (4.2e-4, next 9.0e-5) in float16; 4-bit keeps L0.qkv 2.4e-2, L1.qkv 1.3e-2,
    // L0.attn-out 6.4e-3, L0.ffn-up 5.2e-3 in int8 (next L1.attn-out 5.0e-3).
    CHECK(kept == (v == minilm::variant::mixed_int8 ? std::vector<std::size_t>{0} : std::vector<std::size_t>{0, 1, 2, 4}));
    CHECK(dflt.sensitivity()[0] == Approx(v == minilm::variant::mixed_int8 ? 4.182e-4 : 2.389e-2).epsilon(1e-3));
    for (std::size_t s = 0; s < 8; ++s) {
      INFO("slot " << s);
      CHECK(dflt.slot_variants()[s] == (std::find(kept.begin(), kept.end(), s) != kept.end() ? high : low));
    }
    std::printf("minilm tiny %s sensitivities:", minilm::to_string(v));
    for (const double e : dflt.sensitivity()) std::printf(" %.3e", e);
    std::printf("; kept %zu slots, linear bytes %zu\n", kept.size(), dflt.linear_bytes());
    // Keeping all but the least sensitive slot leaves exactly that slot low: its error against the
    // all-high model is the sensitivity it was measured at.
    const auto& e = all.sensitivity();
    const std::size_t least = static_cast<std::size_t>(std::min_element(e.begin(), e.end()) - e.begin());
    auto seven = minilm::bert_model::load(tiny_dir, v);
    seven.set_mixed_keep(7);
    seven.calibrate(batch);
    for (std::size_t s = 0; s < 8; ++s) CHECK(seven.slot_variants()[s] == (s == least ? low : high));
    CHECK(mean_error(embed_all(seven), ref) == e[least]);
    // The error grows as fewer slots stay high (on this model, at these three points).
    CHECK(mean_error(embed_all(none), ref) > mean_error(embed_all(dflt), ref));
    CHECK(mean_error(embed_all(dflt), ref) >= e[least]);
  }
  // Not a mixed variant: the mixed calls say so.
  auto f16 = minilm::bert_model::load(tiny_dir, minilm::variant::f16);
  CHECK_THROWS_WITH(f16.set_mixed_keep(1), Catch::Contains("f16 is not a mixed variant"));
  CHECK_THROWS_WITH(f16.select_layers(batch), Catch::Contains("f16 is not a mixed variant"));
  CHECK(f16.sensitivity().empty());
  CHECK(f16.slot_variants() == std::vector<minilm::variant>(8, minilm::variant::f16));
}

TEST_CASE("minilm SmoothQuant factors: hand-made values and bad input", "[minilm][smooth]") {
  // s = x_max^alpha / w_max^(1 - alpha); 1 where either maximum is 0.
  const std::vector<float> xm = {4.0f, 9.0f, 0.0f, 2.0f, 1.0f}, wm = {1.0f, 4.0f, 3.0f, 0.0f, 0.25f};
  CHECK(minilm::smoothing_factors(xm, wm, 0.5) == std::vector<float>{2.0f, 1.5f, 1.0f, 1.0f, 2.0f});
  CHECK(minilm::smoothing_factors(xm, wm, 1.0) == std::vector<float>{4.0f, 9.0f, 1.0f, 1.0f, 1.0f});
  CHECK(minilm::smoothing_factors(xm, wm, 0.0) == std::vector<float>{1.0f, 0.25f, 1.0f, 1.0f, 4.0f});
  CHECK(minilm::smoothing_factors({}, {}, 0.5).empty());
  CHECK_THROWS_WITH(minilm::smoothing_factors(xm, {1.0f}, 0.5), Catch::Contains("5 activation maxima for 1 weight maxima"));
  CHECK_THROWS_WITH(minilm::smoothing_factors(xm, wm, 1.5), Catch::Contains("alpha = 1.5"));
  CHECK_THROWS_WITH(minilm::smoothing_factors(xm, wm, std::nan("")), Catch::Contains("alpha = nan"));
  CHECK_THROWS_WITH(minilm::smoothing_factors({-1.0f}, {1.0f}, 0.5), Catch::Contains("channel 0 has max |x| = -1"));
  CHECK_THROWS_WITH(minilm::smoothing_factors({1.0f, std::numeric_limits<float>::infinity()}, {1.0f, 1.0f}, 0.5),
                    Catch::Contains("channel 1 has max |x| = inf"));
  // A factor that would overflow, or whose inverse would, stays 1.
  CHECK(minilm::smoothing_factors({3e38f}, {1e-38f}, 1.0) == std::vector<float>{3e38f});
  CHECK(minilm::smoothing_factors({3e38f, 1.4e-45f}, {1.4e-45f, 3e38f}, 0.5) == std::vector<float>{1.0f, 1.0f});
  CHECK(minilm::parse_variant("int8-smooth") == minilm::variant::smooth_int8);
  CHECK(minilm::needs_calibration(minilm::variant::smooth_int8));
  CHECK(minilm::quantized_attention(minilm::variant::smooth_int8));
}

TEST_CASE("minilm SmoothQuant linear: the smoothed dynamic int8 product computed by hand, bit for bit", "[minilm][smooth]") {
  const random_layer l(40, 24, 7);
  std::vector<float> calib = random_rows(32, l.in, 8, -1.0f, 1.0f);
  std::vector<float> x = random_rows(4, l.in, 9, -1.5f, 1.5f);
  for (std::size_t r = 0; r < 32; ++r) calib[r * 40 + 3] *= 30.0f, calib[r * 40 + 17] *= -12.0f;  // outlier channels
  for (std::size_t r = 0; r < 4; ++r) x[r * 40 + 3] *= 30.0f, x[r * 40 + 17] *= -12.0f;
  for (std::size_t r = 0; r < 32; ++r) calib[r * 40 + 29] = 0.0f;  // a channel never seen
  minilm::smooth_int8_linear lin(l.w.data(), l.b.data(), l.in, l.out, 0.5);
  std::vector<float> y(static_cast<std::size_t>(4 * l.out));
  CHECK_THROWS_WITH(lin.forward(qsparse::context{}, x.data(), 4, y.data()), Catch::Contains("ran before calibration"));
  CHECK_THROWS_WITH(lin.set_alpha(-0.1), Catch::Contains("alpha = -0.1"));
  lin.set_alpha(0.75);
  lin.begin_calibration();
  std::vector<float> yc(static_cast<std::size_t>(32 * l.out));
  lin.forward(qsparse::context{}, calib.data(), 16, yc.data());  // two calls: the maxima accumulate
  lin.forward(qsparse::context{}, calib.data() + 16 * 40, 16, yc.data() + 16 * l.out);
  lin.end_calibration();
  CHECK_THROWS_WITH(lin.set_alpha(0.5), Catch::Contains("before calibration"));
  // The maxima and factors, by hand.
  std::vector<float> xmax(40, 0.0f), wmax(40, 0.0f);
  for (std::size_t r = 0; r < 32; ++r)
    for (std::size_t j = 0; j < 40; ++j) xmax[j] = std::max(xmax[j], std::fabs(calib[r * 40 + j]));
  for (int j = 0; j < l.in; ++j)
    for (int n = 0; n < l.out; ++n) wmax[static_cast<std::size_t>(j)] = std::max(wmax[static_cast<std::size_t>(j)], std::fabs(l.at(j, n)));
  CHECK(lin.channel_max() == xmax);
  std::vector<float> s(40), inv(40);
  for (std::size_t j = 0; j < 40; ++j) {
    s[j] = j == 29 ? 1.0f : static_cast<float>(std::pow(double{xmax[j]}, 0.75) / std::pow(double{wmax[j]}, 0.25));
    inv[j] = 1.0f / s[j];
  }
  CHECK(lin.factors() == s);
  CHECK(lin.inverse_factors() == inv);
  CHECK(s[3] > 5.0f);  // the outlier channels move into the weights
  // The weights W diag(s), int8 per output channel.
  std::vector<float> ws(l.w.size()), wscale;
  for (int n = 0; n < l.out; ++n)
    for (int j = 0; j < l.in; ++j) ws[static_cast<std::size_t>(n * l.in + j)] = l.at(j, n) * s[static_cast<std::size_t>(j)];
  const std::vector<std::int8_t> wq = minilm::detail::quantize_weights_int8(ws.data(), l.in, l.out, wscale);
  CHECK(lin.weights() == wq);
  CHECK(lin.weight_scales() == wscale);
  // forward: x diag(1/s), each row int8 asymmetric, exact int32 sums, hybrid_gemm's float output.
  lin.forward(qsparse::context{qsparse::threads{2}}, x.data(), 4, y.data());
  std::vector<float> expect(y.size());
  constexpr float inf = std::numeric_limits<float>::infinity();
  for (std::size_t m = 0; m < 4; ++m) {
    std::vector<float> xs(40);
    for (std::size_t j = 0; j < 40; ++j) xs[j] = x[m * 40 + j] * inv[j];
    std::vector<std::int8_t> q(40);
    const qsparse::hybrid_row_quantization rq = qsparse::quantize_row_asymmetric(xs.data(), 40, q.data());
    for (std::size_t n = 0; n < 24; ++n) {
      std::int32_t acc = 0;
      for (std::size_t j = 0; j < 40; ++j) acc += (std::int32_t{q[j]} - rq.zero_point) * wq[j * 24 + n];
      expect[m * 24 + n] = qsparse::detail::hybrid_output(acc, rq.scale, wscale[n], l.b.data(), static_cast<std::ptrdiff_t>(n), -inf, inf);
    }
  }
  CHECK(same_bits(y, expect));
  CHECK(lin.bytes() == 40u * 24u + (24u + 24u + 40u) * 4u);
  // What smoothing is for: with these outlier channels, alpha 0.5 is closer to the float product than
  // plain dynamic int8 (whose per-row quantization spends its 256 levels on the outliers); alpha 0.75
  // moves so much range into the weights (uniform here, without the real model's slack) that it is worse.
  minilm::hybrid_int8_linear plain(l.w.data(), l.b.data(), l.in, l.out);
  minilm::smooth_int8_linear half(l.w.data(), l.b.data(), l.in, l.out, 0.5);
  half.begin_calibration();
  half.forward(qsparse::context{}, calib.data(), 32, yc.data());
  half.end_calibration();
  std::vector<float> yp(y.size()), yh(y.size());
  plain.forward(qsparse::context{}, x.data(), 4, yp.data());
  half.forward(qsparse::context{}, x.data(), 4, yh.data());
  double err_s = 0.0, err_h = 0.0, err_p = 0.0;
  for (std::size_t m = 0; m < 4; ++m) {
    for (int n = 0; n < l.out; ++n) {
      double f = l.b[static_cast<std::size_t>(n)];
      for (int j = 0; j < l.in; ++j) f += double{x[m * 40 + static_cast<std::size_t>(j)]} * l.at(j, n);
      err_s += std::fabs(y[m * 24 + static_cast<std::size_t>(n)] - f);
      err_h += std::fabs(yh[m * 24 + static_cast<std::size_t>(n)] - f);
      err_p += std::fabs(yp[m * 24 + static_cast<std::size_t>(n)] - f);
    }
  }
  std::printf("minilm smooth linear: mean |error| %.5f alpha 0.5, %.5f alpha 0.75, %.5f plain dynamic int8\n", err_h / 96,
              err_s / 96, err_p / 96);
  CHECK(err_h < err_p);
  CHECK(err_s > err_p);
}

TEST_CASE("minilm int8-smooth on the tiny model: calibrated, fused q | k | v, alpha set before", "[minilm][smooth]") {
  std::vector<std::vector<std::int32_t>> batch;
  for (const minilm_case& c : minilm_tiny_cases) batch.push_back(c.ids);
  auto model = minilm::bert_model::load(tiny_dir, minilm::variant::smooth_int8);
  CHECK(model.int8_attention());
  CHECK_THROWS_WITH(model.embed(batch[0]), Catch::Contains("ran before calibration"));
  CHECK_THROWS_WITH(model.set_smooth_alpha(2.0), Catch::Contains("alpha = 2"));
  model.calibrate(batch);
  CHECK_THROWS_WITH(model.set_smooth_alpha(0.5), Catch::Contains("before calibration"));
  // q, k and v are one layer of 96 outputs, sharing one factor per input channel.
  const auto& qkv = dynamic_cast<const minilm::smooth_int8_linear&>(model.layer_linear(1, 0));
  CHECK(&qkv == &model.layer_linear(1, 2));
  CHECK(qkv.out() == 96);
  CHECK(qkv.factors().size() == 32);
  // Per layer: 4 × 32x32 + 32x64 + 64x32 int8 weights; biases, scales (2 × 224 floats) and 1 / s for the
  // inputs of the four slots (32 + 32 + 32 + 64 floats).
  CHECK(model.linear_bytes() == 2 * (8192 + 2 * 224 * 4 + 160 * 4));
  // The same model with alpha 0 is another computation. alpha 0.5 stays close to PyTorch's float32
  // (measured: mean 0.999429, worst 0.998337; plain int8 dynamic 0.999515, 0.998267 — this random model's
  // inputs have no outlier channels to smooth).
  auto a0 = minilm::bert_model::load(tiny_dir, minilm::variant::smooth_int8);
  a0.set_smooth_alpha(0.0);
  a0.calibrate(batch);
  const std::vector<float> got = model.embed_batch(batch);
  CHECK(a0.embed_batch(batch) != got);
  CHECK(model.embed_batch(batch, qsparse::context{qsparse::threads{3}}) == got);
  double mean = 0.0, worst = 1.0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const std::vector<float> want = minilm_floats(minilm_tiny_cases[i].embedding);
    const double cs = minilm_cosine(got.data() + i * 32, want.data(), 32);
    mean += cs;
    worst = std::min(worst, cs);
  }
  mean /= static_cast<double>(batch.size());
  std::printf("minilm tiny int8-smooth vs PyTorch float32: mean cosine %.6f, worst %.6f\n", mean, worst);
  CHECK(mean == Approx(0.999429).margin(0.002));
  CHECK(worst == Approx(0.998337).margin(0.002));
  auto f16 = minilm::bert_model::load(tiny_dir, minilm::variant::f16);
  CHECK_THROWS_WITH(f16.set_smooth_alpha(0.5), Catch::Contains("f16 is not int8-smooth"));
}

TEST_CASE("minilm layer norm: the AVX-512 last step gives the plain loop's bits", "[minilm]") {
  std::mt19937 g(5);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const qsparse::isa_level best = qsparse::best_isa();
  for (const std::size_t cols : {std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{9}, std::size_t{33}, std::size_t{384}}) {
    for (const std::size_t rows : {std::size_t{1}, std::size_t{8}, std::size_t{13}}) {
      std::vector<float> x(rows * cols), gamma(cols), beta(cols);
      for (float& e : x) e = normal(g);
      for (float& e : gamma) e = normal(g);
      for (float& e : beta) e = normal(g);
      x[0] = 1e-30f;  // tiny, huge and constant rows
      if (rows > 1) x[cols] = 3e30f;
      if (rows > 2) std::fill(x.begin() + static_cast<std::ptrdiff_t>(2 * cols), x.begin() + static_cast<std::ptrdiff_t>(3 * cols), 0.5f);
      std::vector<float> plain = x, wide = x;
      minilm::detail::layer_norm(plain.data(), rows, cols, gamma.data(), beta.data(), 1e-12f, qsparse::isa_level::scalar);
      minilm::detail::layer_norm(wide.data(), rows, cols, gamma.data(), beta.data(), 1e-12f, best);
      INFO("rows " << rows << " cols " << cols << " isa " << static_cast<int>(best));
      CHECK(same_bits(plain, wide));
      // The definition, one row at a time in plain loops.
      std::vector<float> want = x;
      for (std::size_t r = 0; r < rows; ++r) {
        float* row = want.data() + r * cols;
        double mean = 0.0, var = 0.0;
        for (std::size_t c = 0; c < cols; ++c) mean += row[c];
        mean /= static_cast<double>(cols);
        for (std::size_t c = 0; c < cols; ++c) var += (row[c] - mean) * (row[c] - mean);
        const double inv = 1.0 / std::sqrt(var / static_cast<double>(cols) + 1e-12);
        for (std::size_t c = 0; c < cols; ++c) {
          row[c] = qsparse::detail::product_not_fused(static_cast<float>((row[c] - mean) * inv), gamma[c]) + beta[c];
        }
      }
      CHECK(same_bits(want, wide));
    }
  }
}
