#!/usr/bin/env python3
"""The smallest `--budget-usd` that lets a night finish, as a multiple of its cost.

    python bench/budget.py [-j 1 4 16] [--batch] [--jobs 40]

The night is 40 jobs (max_tokens 500; every 4th with a `pause_turn` continuation, every 4th
a follow-up) against the fake API, each run against a fresh fake so no prompt cache carries
over. Its cost is what the fake's ledger billed for the run without a budget; then a binary
search (to 0.02 x) finds the smallest budget at which every job succeeds. BENCH_RUNNER /
BENCH_FAKE measure other builds (default target/debug, which `cargo build --workspace`
makes). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
RUNNER = Path(os.environ.get("BENCH_RUNNER", TARGET / "debug" / "runner")).resolve()
FAKE = Path(os.environ.get("BENCH_FAKE", TARGET / "debug" / "fake-anthropic")).resolve()


def night(n: int) -> str:
    lines = ["version: 1", "defaults:", "  model: claude-sonnet-4-6", "jobs:"]
    for i in range(n):
        pause = "\\n@fake pause 1" if i % 4 == 1 else ""
        lines += [f"  - name: j{i:02}", "    max_tokens: 500", f'    prompt: "job {i}{pause}"']
        if i % 4 == 2:
            lines.append("    follow_up: [more]")
    return "\n".join(lines) + "\n"


def run(manifest: str, args: list[str]) -> tuple[int, float]:
    """(succeeded jobs, USD the fake billed) of one run against a fresh fake."""
    fake = subprocess.Popen([str(FAKE), "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        url = fake.stdout.readline().strip().removeprefix("listening on ")
        with tempfile.TemporaryDirectory() as d:
            Path(d, "m.yaml").write_text(manifest)
            env = dict(os.environ, ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-bench",
                       RUNNER_STATE_DIR=str(Path(d, ".state")))
            out = subprocess.run([str(RUNNER), "run", "m.yaml", "--json", "-q", *args], cwd=d,
                                 env=env, capture_output=True, text=True, check=False)
            summary = json.loads(out.stdout)
        with urllib.request.urlopen(f"{url}/_fake/ledger", timeout=30) as r:
            billed = json.load(r)["total_micro_usd"] / 1e6
        return summary["counts"]["succeeded"], billed
    finally:
        fake.terminate()
        fake.wait()


def needed(manifest: str, n: int, base: list[str]) -> tuple[float, float]:
    """(the night's cost, the smallest budget ÷ cost that finishes it; inf above 20)."""
    done, cost = run(manifest, base)
    assert done == n, f"the night without a budget finished {done} of {n}"
    finishes = lambda m: run(manifest, [*base, "--budget-usd", f"{m * cost:.6f}"])[0] == n
    lo, hi = 1.0, 20.0
    if not finishes(hi):
        return cost, float("inf")
    while hi - lo > 0.02:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if finishes(mid) else (mid, hi)
    return cost, hi


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-j", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--batch", action="store_true")
    p.add_argument("--jobs", type=int, default=40)
    a = p.parse_args()
    manifest = night(a.jobs)
    print(f"| -j | night's cost | budget ÷ cost to finish |{' (batch)' if a.batch else ''}")
    print("|---|---|---|")
    for j in a.j:
        base = ["-j", str(j)] + (["--batch"] if a.batch else [])
        cost, m = needed(manifest, a.jobs, base)
        print(f"| {j} | ${cost:.4f} | {m:.2f} |", flush=True)


if __name__ == "__main__":
    main()
