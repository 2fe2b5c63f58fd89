// The transformer runner of examples/minilm/ on the tiny random-weight MiniLM (tests/data/minilm_tiny/):
// its tokenizer against Hugging Face's tokenizers and its embeddings against transformers' BertModel.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bert.hpp"
#include "minilm/minilm_case.hpp"
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
