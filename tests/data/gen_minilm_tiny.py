#!/usr/bin/python3
"""Generates the tiny random-weight MiniLM of the tests and its PyTorch reference outputs.

Run (creates the generators' environment on first use, see minilm_venv.py):
  python3 tests/data/gen_minilm_tiny.py
Writes, all committed (the tests need neither Python nor the network):
  tests/data/minilm_tiny/model.safetensors  a BERT encoder with all-MiniLM-L6-v2's tensor names and
                                            layout (2 layers, hidden 32, 4 heads, intermediate 64,
                                            128 positions, a ~100-token vocabulary), random weights
  tests/data/minilm_tiny/config.json        its transformers BertConfig
  tests/data/minilm_tiny/tokenizer.json     all-MiniLM-L6-v2's tokenizer pipeline over that vocabulary
  tests/data/minilm_tiny_vectors.inc        for each test text: the token ids of Hugging Face's
                                            `tokenizers` and the mean-pooled, L2-normalized embedding
                                            of Hugging Face's BertModel (float32, as bit patterns)
The model is transformers' BertModel itself (not a re-implementation), with weights drawn larger than
BERT's initialiser would so that attention is far from uniform and every term matters.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minilm_venv  # noqa: E402

minilm_venv.ensure(os.path.abspath(__file__))

import torch  # noqa: E402
import transformers  # noqa: E402
import tokenizers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors  # noqa: E402

from minilm_common import emit_cases  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
out_dir = os.path.join(here, "minilm_tiny")
os.makedirs(out_dir, exist_ok=True)

# ---- the vocabulary and the tokenizer ------------------------------------------------------------
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
vocab += list(".,!?'()-:;")
letters = [c for c in "abcdefghijklmnopqrstuvwxyz" if c not in "qxz"]
vocab += letters + ["##" + c for c in letters]
vocab += ["the", "cat", "sat", "on", "mat", "hello", "world", "run", "##ning", "##ed", "un",
          "##believ", "##able", "cafe", "naive", "resume", "stop", "now", "don", "4", "in", "##ing", "##ly",
          "istanbul", "\u4e2d", "\u56fd", "\u4eba", "\u65e5", "\u672c", "\u1100", "##\u1161"]
assert len(vocab) == len(set(vocab))
vocab_ids = {t: i for i, t in enumerate(vocab)}

tok = Tokenizer(models.WordPiece(vocab=vocab_ids, unk_token="[UNK]", max_input_chars_per_word=100))
tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                            lowercase=True)
tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
tok.post_processor = processors.TemplateProcessing(
    single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
    special_tokens=[("[CLS]", vocab_ids["[CLS]"]), ("[SEP]", vocab_ids["[SEP]"])])
for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]:
    tok.add_special_tokens([t])
tok.enable_truncation(max_length=128)
tok.save(os.path.join(out_dir, "tokenizer.json"), pretty=True)
tok = Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))

texts = [
    "Hello, world!",
    "The cat sat on the mat.",
    "Caf\u00e9 na\u00efve R\u00c9SUM\u00c9 r\u00e9sum\u00e9",
    "unbelievable runnings, stopped; unstop-able",
    "quiz 42 x9 4 jazz",
    "a" * 100 + " " + "b" * 101 + " cat",
    "\u4e2d\u56fd\u4eba\u65e5\u672c hello\u4e2dworld",
    "tab\there\nnew\r\nline \u00a0nbsp\u3000ideo\u200bzero\u00adsoft \u0000nul\ufffdrepl",
    "don't (stop) -- now?! \u00bfqu\u00e9? \u201cquoted\u201d \u2014 dash\u2026",
    "",
    "   \t\n ",
    "\u0391\u0398\u0397\u039d\u0391 \u041c\u043e\u0441\u043a\u0432\u0430 \u0130stanbul \u00df \ufb01 \u01c5",
    "\ud55c hi \U0001F600 there \u00c5ngstr\u00f6m \u212b",
    "e\u0301 combining and \u1e9b\u0323 and A\u030a",
    " ".join(["the cat sat on the mat"] * 30),
    ("running " * 70).strip(),
    "the [MASK] sat on[SEP]the mat [UNK] [cls] [MASK[MASK]]",
]

# ---- the model ------------------------------------------------------------------------------------
torch.manual_seed(23)
config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                 intermediate_size=64, hidden_act="gelu", max_position_embeddings=128,
                                 type_vocab_size=2, layer_norm_eps=1e-12, hidden_dropout_prob=0.0,
                                 attention_probs_dropout_prob=0.0)
model = transformers.BertModel(config, add_pooling_layer=True).eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("LayerNorm.weight"):
            p.copy_(1.0 + 0.3 * torch.randn_like(p))
        elif name.endswith("LayerNorm.bias"):
            p.copy_(0.2 * torch.randn_like(p))
        elif "embeddings" in name:
            p.copy_(torch.randn_like(p))
        elif name.endswith("bias"):
            p.copy_(0.2 * torch.randn_like(p))
        elif "query" in name or "key" in name:
            p.copy_(0.45 * torch.randn_like(p))
        else:
            p.copy_((1.5 / p.shape[1] ** 0.5) * torch.randn_like(p))

tensors = {k: v.contiguous().clone() for k, v in model.state_dict().items()}
tensors["embeddings.position_ids"] = torch.arange(128, dtype=torch.int64).reshape(1, 128)
save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
config.to_json_file(os.path.join(out_dir, "config.json"), use_diff=False)


def embed(ids):
    x = torch.tensor([ids], dtype=torch.int64)
    mask = torch.ones_like(x)
    with torch.no_grad():
        h = model(input_ids=x, attention_mask=mask, token_type_ids=torch.zeros_like(x)).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)[0]


cases = []
for text in texts:
    ids = tok.encode(text).ids
    cases.append((text, ids, embed(ids).tolist()))

# Padding must not change anything: a padded batch (as sentence-transformers runs it) gives the same.
batch = [c[1] for c in cases[:4]]
width = max(len(b) for b in batch)
x = torch.tensor([b + [0] * (width - len(b)) for b in batch])
mask = torch.tensor([[1] * len(b) + [0] * (width - len(b)) for b in batch])
with torch.no_grad():
    h = model(input_ids=x, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).float()
    e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=1)
for i in range(4):
    assert (e[i] - torch.tensor(cases[i][2])).abs().max() < 1e-5

with open(os.path.join(here, "minilm_tiny_vectors.inc"), "w") as f:
    f.write("// Generated by tests/data/gen_minilm_tiny.py (torch %s, transformers %s, tokenizers %s). Do not edit.\n"
            % (torch.__version__, transformers.__version__, tokenizers.__version__))
    f.write("// For each text: the token ids of Hugging Face's tokenizers with tests/data/minilm_tiny/tokenizer.json,\n"
            "// and the mean-pooled, L2-normalized float32 embedding (bit patterns) of transformers' BertModel\n"
            "// with tests/data/minilm_tiny/model.safetensors.\n")
    f.write("// hidden %d, layers %d, heads %d, intermediate %d, vocabulary %d\n"
            % (config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.intermediate_size,
               len(vocab)))
    f.write(emit_cases("minilm_tiny_cases", cases))
    f.write("\n")
print("wrote", out_dir, "and minilm_tiny_vectors.inc:", len(cases), "cases")
for t, ids, _ in cases:
    print(len(ids), ids[:20])
