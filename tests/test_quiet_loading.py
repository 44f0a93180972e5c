"""Model loading prints nothing of the libraries' own (issue 16 item 11): no "Loading weights" bar, no load
report, no FutureWarning from inside them — while a warning raised by mrs's own code still shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _stderr_of(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONWARNINGS", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stderr


def test_loading_the_model_and_a_fresh_judge_is_silent():
    err = _stderr_of(
        "from mrs.models import load_sentence_transformer\n"
        "from mrs.toolkit.judge import CrossEncoderJudge\n"
        "from mrs.data.levels import ESCI\n"
        "load_sentence_transformer(None)\n"
        "CrossEncoderJudge.create(ESCI)\n")
    assert "Loading weights" not in err and "LOAD REPORT" not in err and "Converting" not in err, err
    assert err.strip() == "", err


def test_library_future_warnings_go_but_mrs_warnings_stay():
    err = _stderr_of(
        "import warnings\n"
        "from mrs.models import quiet_model_loading\n"
        "quiet_model_loading()\n"
        "exec(compile('import warnings; warnings.warn(\"lib says\", FutureWarning)', 'x.py', 'exec'),"
        " {'__name__': 'transformers.modeling_utils'})\n"
        "exec(compile('import warnings; warnings.warn(\"mrs says\", FutureWarning)', 'y.py', 'exec'),"
        " {'__name__': 'mrs.toolkit.stage1'})\n"
        "from mrs.toolkit.llm_keys import LegacyKeyNotice\n"
        "warnings.warn('mrs notice', LegacyKeyNotice)\n")
    assert "lib says" not in err
    assert "mrs says" in err and "mrs notice" in err


def test_tracing_hides_tracer_warnings_only():
    err = _stderr_of(
        "import warnings, torch\n"
        "from mrs.models import quiet_tracing\n"
        "with quiet_tracing():\n"
        "    warnings.warn('trace noise', torch.jit.TracerWarning)\n"
        "    warnings.warn('real problem', UserWarning)\n")
    assert "trace noise" not in err and "real problem" in err
