#!/usr/bin/env python3
"""Cut the public Anthropic OpenAPI spec down to the schemas the fidelity check uses.

Usage: vendor_openapi.py FULL_SPEC.json [SCHEMA ...] > tests/fidelity/openapi.json

Keeps `components.schemas` reachable from the named schemas (default: `Message`) and
nothing else, so `check.py` can validate against it without the 1.6 MB original.
README.md in this folder says where the original comes from; rerun this script when it
is updated.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

REF = re.compile(r'"#/components/schemas/([^"]+)"')


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    raw = Path(argv[1]).read_bytes()
    spec = json.loads(raw)
    schemas = spec["components"]["schemas"]
    roots = argv[2:] or ["Message"]
    keep: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        keep.add(name)
        stack.extend(REF.findall(json.dumps(schemas[name])))
    out = {
        "openapi": spec["openapi"],
        "info": {
            "title": spec["info"]["title"],
            "description": (
                "The schemas reachable from " + ", ".join(roots) + " in the public Anthropic "
                "OpenAPI spec (sha256 " + hashlib.sha256(raw).hexdigest() + "); origin in "
                "tests/fidelity/README.md, cut by tests/fidelity/vendor_openapi.py."
            ),
        },
        "components": {"schemas": {name: schemas[name] for name in sorted(keep)}},
    }
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
