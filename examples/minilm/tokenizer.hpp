// examples/minilm/tokenizer.hpp — BERT's WordPiece tokenizer, read from a Hugging Face tokenizer.json.
//
//   auto tok = minilm::wordpiece_tokenizer::load("tokenizer.json");
//   std::vector<std::int32_t> ids = tok.encode("Hello, world!");   // [CLS] hello , world ! [SEP]
//
// What it implements is what all-MiniLM-L6-v2's tokenizer.json asks for, and it refuses (with an error
// naming the field) a file that asks for something else:
//   added_tokens  found in the raw text first (leftmost, longest; "[MASK]" inside a word too) and given
//                 their ids; the text between them goes through the rest. Only tokens with single_word,
//                 lstrip, rstrip and normalized false are supported.
//   normalizer    BertNormalizer: clean_text (drop NUL, U+FFFD and characters of category C* except
//                 \t \n \r; map White_Space to ' '), handle_chinese_chars (spaces around CJK ideographs),
//                 strip_accents (NFD, drop category Mn) and lowercase; strip_accents null means "as
//                 lowercase"; lowercase with strip_accents, or neither, are supported.
//   pre_tokenizer BertPreTokenizer: split on White_Space, every punctuation character (ASCII
//                 punctuation or category P*) its own word.
//   model         WordPiece: a word longer than max_input_chars_per_word characters is unk_token; else
//                 greedy longest match from the left, pieces after the first prefixed with
//                 continuing_subword_prefix ("##"); a word with a part that matches nothing is unk_token.
//   post_processor TemplateProcessing [CLS] $A [SEP]; truncation to truncation.max_length tokens
//                 (specials included; the runner caps it at 128), cutting the end.
// The Unicode tables (categories, NFD without marks + lower-casing per character) are generated from
// Python's unicodedata by tests/data/gen_bert_unicode.py; Hangul syllables decompose by formula.
// Hugging Face's Rust tokenizer uses its own (slightly different) Unicode version; the difference only
// concerns characters assigned between the two versions.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace minilm {

namespace unicode {

struct code_range {
  char32_t lo;
  char32_t hi;
};

struct fold_entry {
  char32_t cp;
  unsigned char count;
  char32_t out[3];
};

#include "bert_unicode.inc"

template <std::size_t N>
bool in_ranges(const code_range (&r)[N], char32_t c) {
  const code_range* it = std::upper_bound(r, r + N, c, [](char32_t v, const code_range& x) { return v < x.lo; });
  return it != r && c <= (it - 1)->hi;
}

/// General category C* (control, format, surrogate, private use, unassigned).
inline bool is_other(char32_t c) { return in_ranges(other_ranges, c); }
/// General category Mn (non-spacing marks: what strip_accents removes after NFD).
inline bool is_mark(char32_t c) { return in_ranges(mark_ranges, c); }
/// BERT's punctuation: ASCII punctuation or general category P*.
inline bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return in_ranges(punct_ranges, c);
}
/// The White_Space property (Rust's char::is_whitespace).
inline bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}
/// The CJK ideograph blocks BERT pads with spaces.
inline bool is_chinese(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/// Appends NFD(c) without Mn marks, lower-cased (c itself when that changes nothing).
inline void append_folded(char32_t c, std::u32string& out) {
  if (c >= 0xAC00 && c <= 0xD7A3) {  // Hangul syllable: NFD is L V (T), none of them marks or upper case
    const char32_t s = c - 0xAC00;
    out += static_cast<char32_t>(0x1100 + s / 588);
    out += static_cast<char32_t>(0x1161 + (s % 588) / 28);
    if (s % 28 != 0) out += static_cast<char32_t>(0x11A7 + s % 28);
    return;
  }
  if (is_mark(c)) return;
  const fold_entry* end = fold_table + sizeof(fold_table) / sizeof(fold_table[0]);
  const fold_entry* it = std::lower_bound(fold_table, end, c, [](const fold_entry& e, char32_t v) { return e.cp < v; });
  if (it != end && it->cp == c) {
    for (unsigned i = 0; i < it->count; ++i) out += it->out[i];
  } else {
    out += c;
  }
}

}  // namespace unicode

/// Decodes UTF-8; malformed input (overlong forms, surrogates, beyond U+10FFFF, truncated) is an error
/// naming the byte offset.
inline std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      out += static_cast<char32_t>(b0);
      ++i;
      continue;
    }
    std::size_t extra = 0;
    char32_t cp = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      extra = 1;
      cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      extra = 2;
      cp = b0 & 0x0Fu;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      extra = 3;
      cp = b0 & 0x07u;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    } else {
      throw std::runtime_error("minilm: the text is not valid UTF-8 (byte " + std::to_string(b0) + " at offset " +
                               std::to_string(i) + ")");
    }
    if (s.size() - i <= extra) {
      throw std::runtime_error("minilm: the text is not valid UTF-8 (truncated sequence at offset " +
                               std::to_string(i) + ")");
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
        throw std::runtime_error("minilm: the text is not valid UTF-8 (bad continuation byte at offset " +
                                 std::to_string(i + k) + ")");
      }
      cp = (cp << 6) | (b & 0x3Fu);
    }
    out += cp;
    i += extra + 1;
  }
  return out;
}

inline void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

inline std::string to_utf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) append_utf8(c, out);
  return out;
}

class wordpiece_tokenizer {
 public:
  /// Reads a tokenizer.json file.
  static wordpiece_tokenizer load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("minilm: cannot open the tokenizer file " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error("minilm: " + path + " is not valid JSON: " + e.what());
    }
    return from_json(j, path);
  }

  /// Builds the tokenizer from a parsed tokenizer.json; `origin` names it in errors.
  static wordpiece_tokenizer from_json(const nlohmann::json& j, const std::string& origin = "tokenizer.json") {
    wordpiece_tokenizer t;
    auto fail = [&](const std::string& what) { return std::runtime_error("minilm: " + origin + ": " + what); };
    try {
      const nlohmann::json& model = j.at("model");
      if (model.at("type") != "WordPiece") throw fail("model.type must be \"WordPiece\", got " + model.at("type").dump());
      for (const auto& [token, id] : model.at("vocab").items()) {
        const auto v = id.get<std::int64_t>();
        if (v < 0 || v > 0x7FFFFFFF) throw fail("vocab id of " + token + " out of range: " + std::to_string(v));
        t.vocab_.emplace(token, static_cast<std::int32_t>(v));
      }
      t.unk_id_ = t.id_of(model.at("unk_token").get<std::string>(), fail);
      t.prefix_ = model.value("continuing_subword_prefix", std::string("##"));
      t.max_chars_ = model.value("max_input_chars_per_word", std::size_t{100});

      if (j.contains("added_tokens")) {
        for (const nlohmann::json& a : j.at("added_tokens")) {
          const std::string content = a.at("content").get<std::string>();
          if (content.empty() || a.value("single_word", false) || a.value("lstrip", false) ||
              a.value("rstrip", false) || a.value("normalized", false)) {
            throw fail("added token " + a.dump() +
                       ": only non-empty tokens with single_word, lstrip, rstrip and normalized false are supported");
          }
          t.added_.emplace_back(content, a.at("id").get<std::int32_t>());
        }
      }
      const nlohmann::json& norm = j.at("normalizer");
      if (norm.is_null() || norm.at("type") != "BertNormalizer") {
        throw fail("normalizer must be a BertNormalizer, got " + norm.dump());
      }
      t.clean_text_ = norm.value("clean_text", true);
      t.chinese_ = norm.value("handle_chinese_chars", true);
      t.lowercase_ = norm.value("lowercase", true);
      const bool strip = norm.contains("strip_accents") && !norm.at("strip_accents").is_null()
                             ? norm.at("strip_accents").get<bool>()
                             : t.lowercase_;
      if (strip != t.lowercase_) {
        throw fail("normalizer: lowercase and strip_accents must agree (both or neither), got lowercase " +
                   std::string(t.lowercase_ ? "true" : "false") + ", strip_accents " + (strip ? "true" : "false"));
      }
      const nlohmann::json& pre = j.at("pre_tokenizer");
      if (pre.is_null() || pre.at("type") != "BertPreTokenizer") {
        throw fail("pre_tokenizer must be a BertPreTokenizer, got " + pre.dump());
      }
      const nlohmann::json& post = j.at("post_processor");
      if (post.is_null() || post.at("type") != "TemplateProcessing") {
        throw fail("post_processor must be a TemplateProcessing, got " + post.dump());
      }
      const nlohmann::json& single = post.at("single");
      if (single.size() != 3 || !single[0].contains("SpecialToken") || !single[1].contains("Sequence") ||
          !single[2].contains("SpecialToken")) {
        throw fail("post_processor.single must be [special] $A [special], got " + single.dump());
      }
      const auto special_id = [&](const nlohmann::json& item) {
        const std::string name = item.at("SpecialToken").at("id").get<std::string>();
        const nlohmann::json& ids = post.at("special_tokens").at(name).at("ids");
        if (ids.size() != 1) throw fail("special token " + name + " must be one id, got " + ids.dump());
        return ids[0].get<std::int32_t>();
      };
      t.cls_id_ = special_id(single[0]);
      t.sep_id_ = special_id(single[2]);
      const nlohmann::json& trunc = j.at("truncation");
      t.max_length_ = trunc.is_null() ? 0 : trunc.at("max_length").get<std::size_t>();
      if (!trunc.is_null() && t.max_length_ < 2) {
        throw fail("truncation.max_length must be at least 2, got " + std::to_string(t.max_length_));
      }
    } catch (const nlohmann::json::exception& e) {
      throw fail(std::string("unexpected structure: ") + e.what());
    }
    return t;
  }

  /// The text's normalized, pre-tokenized words (before WordPiece).
  std::vector<std::u32string> words(std::string_view text) const {
    const std::u32string in = decode_utf8(text);
    std::u32string norm;
    norm.reserve(in.size() + 8);
    for (char32_t c : in) {
      if (clean_text_) {
        if (c == 0 || c == 0xFFFD || (unicode::is_other(c) && c != U'\t' && c != U'\n' && c != U'\r')) continue;
        if (unicode::is_whitespace(c)) c = U' ';
      }
      const bool pad = chinese_ && unicode::is_chinese(c);
      if (pad) norm += U' ';
      if (lowercase_) {
        unicode::append_folded(c, norm);
      } else {
        norm += c;
      }
      if (pad) norm += U' ';
    }
    std::vector<std::u32string> out;
    std::u32string cur;
    for (char32_t c : norm) {
      if (unicode::is_whitespace(c)) {
        if (!cur.empty()) out.push_back(std::move(cur));
        cur.clear();
      } else if (unicode::is_punctuation(c)) {
        if (!cur.empty()) out.push_back(std::move(cur));
        cur.clear();
        out.emplace_back(1, c);
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
  }

  /// WordPiece ids of one word (already normalized).
  void wordpiece(const std::u32string& word, std::vector<std::int32_t>& out) const {
    if (word.size() > max_chars_) {
      out.push_back(unk_id_);
      return;
    }
    std::vector<std::size_t> offset(word.size() + 1, 0);  // UTF-8 byte offset of each character
    std::string bytes;
    for (std::size_t i = 0; i < word.size(); ++i) {
      offset[i] = bytes.size();
      append_utf8(word[i], bytes);
    }
    offset[word.size()] = bytes.size();
    const std::size_t first = out.size();
    std::size_t start = 0;
    std::string piece;
    while (start < word.size()) {
      std::size_t end = word.size();
      bool found = false;
      for (; end > start; --end) {
        piece.assign(start > 0 ? prefix_ : std::string());
        piece.append(bytes, offset[start], offset[end] - offset[start]);
        const auto it = vocab_.find(piece);
        if (it != vocab_.end()) {
          out.push_back(it->second);
          found = true;
          break;
        }
      }
      if (!found) {
        out.resize(first);
        out.push_back(unk_id_);
        return;
      }
      start = end;
    }
  }

  /// [CLS] + WordPiece ids of the text + [SEP], truncated to max_length() tokens (0: no truncation).
  std::vector<std::int32_t> encode(std::string_view text) const { return encode(text, max_length_); }

  /// As encode(text), truncated to `max_tokens` instead (0: no truncation; else at least 2).
  std::vector<std::int32_t> encode(std::string_view text, std::size_t max_tokens) const {
    if (max_tokens == 1) throw std::runtime_error("minilm: max_tokens must be 0 or at least 2, got 1");
    decode_utf8(text);  // malformed UTF-8 is an error naming its offset in the whole text
    std::vector<std::int32_t> ids{cls_id_};
    const auto full = [&] { return max_tokens != 0 && ids.size() >= max_tokens - 1; };
    // The added tokens ([CLS], [MASK], ...) are found in the raw text first, leftmost and longest; the
    // text between them is normalized, pre-tokenized and split into WordPiece pieces.
    std::size_t begin = 0, i = 0;
    const auto flush = [&](std::size_t end) {
      for (const std::u32string& w : words(text.substr(begin, end - begin))) {
        if (full()) return;
        wordpiece(w, ids);
      }
    };
    while (i < text.size() && !full()) {
      const std::pair<std::string, std::int32_t>* best = nullptr;
      for (const auto& a : added_) {
        if (text.compare(i, a.first.size(), a.first) == 0 && (best == nullptr || a.first.size() > best->first.size())) {
          best = &a;
        }
      }
      if (best == nullptr) {
        ++i;
        continue;
      }
      flush(i);
      if (!full()) ids.push_back(best->second);
      i += best->first.size();
      begin = i;
    }
    if (!full()) flush(text.size());
    if (max_tokens != 0 && ids.size() > max_tokens - 1) ids.resize(max_tokens - 1);
    ids.push_back(sep_id_);
    return ids;
  }

  /// The id of a vocabulary entry, or -1.
  std::int32_t find(const std::string& token) const {
    const auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
  }
  std::size_t vocab_size() const noexcept { return vocab_.size(); }
  std::size_t max_length() const noexcept { return max_length_; }
  std::int32_t cls_id() const noexcept { return cls_id_; }
  std::int32_t sep_id() const noexcept { return sep_id_; }
  std::int32_t unk_id() const noexcept { return unk_id_; }

 private:
  template <class Fail>
  std::int32_t id_of(const std::string& token, Fail&& fail) const {
    const auto it = vocab_.find(token);
    if (it == vocab_.end()) throw fail("the token " + token + " is not in the vocabulary");
    return it->second;
  }

  std::unordered_map<std::string, std::int32_t> vocab_;
  std::vector<std::pair<std::string, std::int32_t>> added_;  // content, id
  std::string prefix_ = "##";
  std::size_t max_chars_ = 100;
  std::size_t max_length_ = 0;
  std::int32_t unk_id_ = 0, cls_id_ = 0, sep_id_ = 0;
  bool clean_text_ = true, chinese_ = true, lowercase_ = true;
};

}  // namespace minilm
