"""Loading rule files: YAML opened as UTF-8, keys validated (unknown keys rejected), clear errors."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def load_yaml(path: str | Path) -> Any:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"rule file not found: {p}")
    try:
        with p.open(encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ValueError(f"{p}: invalid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a mapping at the top level")
    return data


def require_keys(d: Any, required: set[str], optional: set[str], where: Any) -> None:
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(d).__name__}")
    missing = required - d.keys()
    if missing:
        raise ValueError(f"{where}: missing key(s) {sorted(missing)}")
    unknown = d.keys() - required - optional
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(required | optional)}")
