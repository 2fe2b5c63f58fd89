#!/usr/bin/python3
"""Compares the runner's WordPiece tokenizer with Hugging Face's on a real corpus: the fortunes package.

Run (after scripts/fetch_minilm.sh and building the `minilm` target; apt-get install fortunes):
  python3 tests/data/check_minilm_tokenizer.py BUILD/examples/minilm [MODEL_DIR] [FORTUNE_DIR]
Every fortune (the entries between '%' lines of each file of /usr/share/games/fortunes, its lines joined
with spaces) is tokenized by Hugging Face's tokenizers with the model's tokenizer.json (truncated to 128
tokens) and by `minilm --ids`; the script prints how many agree and the first disagreements, and exits
with 1 when any disagree. It needs the generators' environment (minilm_venv.py), not the test suite.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minilm_venv  # noqa: E402

minilm_venv.ensure(os.path.abspath(__file__))

from tokenizers import Tokenizer  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
runner = sys.argv[1]
model_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "build", "minilm-cache", "all-MiniLM-L6-v2")
fortune_dir = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/games/fortunes"

texts = []
for name in sorted(os.listdir(fortune_dir)):
    path = os.path.join(fortune_dir, name)
    if "." in name or not os.path.isfile(path):
        continue
    with open(path, encoding="utf-8", errors="replace") as f:
        for entry in f.read().split("\n%\n"):
            text = " ".join(line for line in entry.split("\n") if line.strip() != "%").strip()
            if text:
                texts.append(text)

tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
tok.no_padding()
tok.enable_truncation(128)
want = [tok.encode(t).ids for t in texts]
out = subprocess.run([runner, "--model", model_dir, "--ids"], input="\n".join(texts) + "\n", capture_output=True,
                     text=True, check=True).stdout.splitlines()
got = [[int(x) for x in line.split()] for line in out]
assert len(got) == len(texts), (len(got), len(texts))
bad = [i for i in range(len(texts)) if got[i] != want[i]]
tokens = sum(len(w) for w in want)
print("%d of %d fortunes (%d tokens) tokenized as Hugging Face's tokenizers does" % (len(texts) - len(bad), len(texts),
                                                                                     tokens))
for i in bad[:10]:
    print("differs:", repr(texts[i][:200]))
    print("  hf:  ", want[i][:40])
    print("  ours:", got[i][:40])
sys.exit(1 if bad else 0)
