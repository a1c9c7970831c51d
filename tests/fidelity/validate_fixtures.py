#!/usr/bin/env python3
"""Validate JSON files against the official `anthropic` SDK's pydantic models, strictly
(`model_validate_json`, not the lenient construction the SDK itself uses on responses).

Usage: validate_fixtures.py [FILE:dotted.Model ...]

Always checks the recorded API responses in `tests/fixtures/anthropic/` (which the
runner's unit tests read) as `Message` and `BetaMessage`; each argument adds one file and
the model it must satisfy, e.g. `body.json:anthropic.types.beta.BetaMessage`. Prints one
line per check and `N failed` last; exits non-zero on any failure.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anthropic"
MESSAGE_MODELS = ["anthropic.types.Message", "anthropic.types.beta.BetaMessage"]


def load(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str]) -> int:
    checks = [(path, model) for path in sorted(FIXTURES.glob("messages_response_*.json"))
              for model in MESSAGE_MODELS]
    if not checks:
        print(f"FAIL no fixtures found in {FIXTURES}")
        return 1
    for arg in argv:
        path, _, model = arg.rpartition(":")
        checks.append((Path(path), model))
    failures = 0
    for path, model in checks:
        try:
            load(model).model_validate_json(path.read_text())
            print(f"ok   {path.name} as {model}")
        except Exception as exc:  # noqa: BLE001
            failures += 1
            print(f"FAIL {path} as {model}: {exc}")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
