"""The API key of an OpenAI-compatible endpoint (Stage-1 synthetic queries, the LLM judge): one variable.

Both read ``MRS_LLM_API_KEY`` (the project's prefix, as ``MRS_OPENSEARCH_PASSWORD``), never argv, and never
log it. ``OPENAI_API_KEY``, which Stage 1 read before, is still accepted when ``MRS_LLM_API_KEY`` is unset,
with a LegacyKeyNotice (a UserWarning: shown on the terminal) saying to rename it. A caller may name
another variable explicitly (``mrs train stage1 --llm-key-env``); then only that one is read.
"""

from __future__ import annotations

import os
import warnings

API_KEY_ENV = "MRS_LLM_API_KEY"
LEGACY_API_KEY_ENV = "OPENAI_API_KEY"


class LegacyKeyNotice(UserWarning):
    """The key came from OPENAI_API_KEY; MRS_LLM_API_KEY is the documented name."""


def llm_api_key(env_name: str | None = None) -> str:
    """The API key ("" when none is set: fine for local servers without authentication).

    env_name: a variable chosen by the user (only it is read); None or API_KEY_ENV: MRS_LLM_API_KEY, else
    OPENAI_API_KEY with a LegacyKeyNotice."""
    if env_name and env_name != API_KEY_ENV:
        return os.environ.get(env_name, "")
    key = os.environ.get(API_KEY_ENV)
    if key:
        return key
    legacy = os.environ.get(LEGACY_API_KEY_ENV)
    if legacy:
        warnings.warn(f"using the API key in ${LEGACY_API_KEY_ENV}; mrs reads ${API_KEY_ENV} (set it instead, "
                      f"${LEGACY_API_KEY_ENV} will not be read in a later version)", LegacyKeyNotice, stacklevel=2)
        return legacy
    return ""
