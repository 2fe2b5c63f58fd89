"""Runs an oracle generator inside a virtual environment holding the real systems from PyPI.

The TensorFlow / LiteRT / TF-MOT / ONNX Runtime generators call `ensure(__file__)` first: if the running
interpreter is not the oracle environment, it creates one (once) and installs the pinned versions below,
then re-executes the generator inside it. The environment lives outside the repository, in
$QSPARSE_ORACLE_VENV or ~/.cache/qsparse-oracles/tf-venv. The tests never need it: they read the
committed vectors.
"""
import os
import subprocess
import sys

PINNED = [
    "tensorflow==2.21.0",        # the converter (and the TF ops TF-MOT runs)
    "ai-edge-litert==2.3.0",     # the LiteRT interpreter: reference, optimized and XNNPACK kernels
    "tensorflow-model-optimization==0.8.1",
    "tf-keras==2.21.0",          # TF-MOT needs Keras 2
    "onnx==1.23.2",
    "onnxruntime==1.32.0",
]


def venv_dir():
    return os.environ.get("QSPARSE_ORACLE_VENV", os.path.expanduser("~/.cache/qsparse-oracles/tf-venv"))


def ensure(script):
    env = venv_dir()
    python = os.path.join(env, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(env):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        return
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", env])
        subprocess.check_call([python, "-m", "pip", "install", "-q"] + PINNED)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.execv(python, [python, script] + sys.argv[1:])
