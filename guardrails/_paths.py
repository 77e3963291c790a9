"""Where the shipped data (configs/) lives, in a checkout and in an installed wheel."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def configs_dir() -> Path:
    """Return the folder of shipped configs.

    In a wheel the folder is packaged as ``guardrails/configs``; in a source checkout
    (and an editable install) it is the repository's top-level ``configs/``.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "configs", here.parent / "configs"):
        if (candidate / "taxonomy.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"guardrails: no configs/taxonomy.yaml next to {here}; the installation is incomplete")
