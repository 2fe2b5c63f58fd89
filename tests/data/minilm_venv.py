"""The Python environment of the MiniLM generators: Debian's python3-torch plus the Hugging Face stack.

gen_minilm_tiny.py and gen_minilm_reference.py call `ensure(__file__)` first: unless the running
interpreter is this environment, it creates it once (a venv over /usr/bin/python3 with
--system-site-packages, so that Debian's python3-torch 1.13 and numpy are used as they are) and installs
the pinned packages below without their dependencies (pip would otherwise replace Debian's torch with a
multi-gigabyte wheel), then re-executes the generator inside it. The environment lives outside the
repository, in $QSPARSE_MINILM_VENV or ~/.cache/qsparse-oracles/minilm-venv. The tests never need it:
they read the committed outputs.
"""
import os
import subprocess
import sys

# Versions that run on torch 1.13 and numpy 1.24 (Debian bookworm); installed with --no-deps.
PINNED = [
    "sentence-transformers==2.7.0",
    "transformers==4.40.2",
    "tokenizers==0.19.1",
    "safetensors==0.4.3",
    "huggingface_hub==0.23.4",
    "scikit-learn==1.3.2",  # imported by sentence_transformers.evaluation
    "scipy==1.11.4",
    "joblib==1.3.2",
    "threadpoolctl==3.2.0",
    "tqdm", "regex", "pyyaml", "requests", "filelock", "packaging", "fsspec", "typing_extensions",
    "certifi", "idna", "urllib3", "charset_normalizer",
]


def venv_dir():
    return os.environ.get("QSPARSE_MINILM_VENV", os.path.expanduser("~/.cache/qsparse-oracles/minilm-venv"))


def ensure(script):
    env = venv_dir()
    python = os.path.join(env, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(env):
        return
    if not os.path.exists(python):
        subprocess.check_call(["/usr/bin/python3", "-m", "venv", "--system-site-packages", env])
        subprocess.check_call([python, "-m", "pip", "install", "-q", "--no-deps"] + PINNED)
    os.execv(python, [python, script] + sys.argv[1:])
