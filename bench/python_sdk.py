#!/usr/bin/env python3
"""The benchmark jobs done the way a Python user would, with the official `anthropic` SDK.

    python bench/python_sdk.py sequential JOBS.json OUT_DIR
    python bench/python_sdk.py async JOBS.json OUT_DIR [--concurrency 8]

JOBS.json (written by bench/run.py) is a list of {"name", "inputs": [paths], "prompt"}.
ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY come from the environment, as for the SDK itself.

Both variants do the same work as `runner run`: upload the inputs, start a conversation
with the code-execution tool and the files attached as `container_upload` blocks, continue
every `pause_turn` (the paused content sent back unchanged, same container), download every
file the model generated, and write the files plus the conversation as JSON per job.

* `sequential`: the SDK's own examples, one job after another, each input uploaded where it
  is used (no dedup).
* `async`: `AsyncAnthropic`, a semaphore of `--concurrency` jobs, and in-run upload dedup by
  content hash (one upload task per (sha256, name), awaited by every job that attaches it):
  the best a user writes in an afternoon.

Prints one JSON line: {"jobs", "succeeded", "uploads", "messages_calls", "downloads"}.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from pathlib import Path

import anthropic

MODEL = "claude-sonnet-4-6"
MAX_TOKENS = 16000
TOOLS = [{"type": "code_execution_20250825", "name": "code_execution"}]
SYSTEM = "You are a careful data analyst. Save every deliverable at the top level of $OUTPUT_DIR."
MAX_CONTINUATIONS = 20


def user_turn(prompt: str, file_ids: list[str]) -> dict:
    return {
        "role": "user",
        "content": [{"type": "text", "text": prompt}]
        + [{"type": "container_upload", "file_id": f} for f in file_ids],
    }


def generated_file_ids(message) -> list[str]:
    """File ids in the code-execution results of one response (the files the model made)."""
    ids = []
    for block in message.content:
        inner = getattr(block, "content", None)
        for item in getattr(inner, "content", None) or []:
            file_id = getattr(item, "file_id", None)
            if file_id:
                ids.append(file_id)
    return ids


def write_job(out: Path, name: str, messages: list, responses: list) -> Path:
    job_dir = out / name
    (job_dir / "files").mkdir(parents=True, exist_ok=True)
    record = {
        "messages": [
            m if isinstance(m["content"], list) and all(isinstance(c, dict) for c in m["content"])
            else {"role": m["role"], "content": [c.model_dump() for c in m["content"]]}
            for m in messages
        ],
        "responses": [r.model_dump() for r in responses],
    }
    (job_dir / "messages.json").write_text(json.dumps(record, indent=2, default=str))
    return job_dir


# ------------------------------------------------------------------------- sequential

def run_sequential(jobs: list[dict], out: Path) -> dict:
    client = anthropic.Anthropic()
    stats = {"jobs": len(jobs), "succeeded": 0, "uploads": 0, "messages_calls": 0, "downloads": 0}
    for job in jobs:
        file_ids = []
        for path in job["inputs"]:
            p = Path(path)
            meta = client.files.upload(file=(p.name, p.read_bytes()))
            stats["uploads"] += 1
            file_ids.append(meta.id)
        messages = [user_turn(job["prompt"], file_ids)]
        responses = []
        container = None
        for _ in range(MAX_CONTINUATIONS + 1):
            kwargs = {"container": container} if container else {}
            message = client.messages.create(
                model=MODEL, max_tokens=MAX_TOKENS, system=SYSTEM, tools=TOOLS,
                messages=messages, **kwargs)
            stats["messages_calls"] += 1
            responses.append(message)
            container = message.container.id if message.container else container
            messages.append({"role": "assistant", "content": message.content})
            if message.stop_reason != "pause_turn":
                break
        job_dir = write_job(out, job["name"], messages, responses)
        for response in responses:
            for file_id in generated_file_ids(response):
                meta = client.files.retrieve_metadata(file_id)
                client.files.download(file_id).write_to_file(job_dir / "files" / Path(meta.filename).name)
                stats["downloads"] += 1
        if responses[-1].stop_reason == "end_turn":
            stats["succeeded"] += 1
    return stats


# ------------------------------------------------------------------------------ async

async def run_async(jobs: list[dict], out: Path, concurrency: int) -> dict:
    client = anthropic.AsyncAnthropic()
    stats = {"jobs": len(jobs), "succeeded": 0, "uploads": 0, "messages_calls": 0, "downloads": 0}
    semaphore = asyncio.Semaphore(concurrency)
    uploads: dict[tuple[str, str], asyncio.Task] = {}

    async def upload(path: Path) -> str:
        data = await asyncio.to_thread(path.read_bytes)
        meta = await client.files.upload(file=(path.name, data))
        stats["uploads"] += 1
        return meta.id

    def file_id_for(path: Path) -> asyncio.Task:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        key = (digest, path.name)
        if key not in uploads:
            uploads[key] = asyncio.create_task(upload(path))
        return uploads[key]

    async def one(job: dict) -> None:
        async with semaphore:
            file_ids = list(await asyncio.gather(*(file_id_for(Path(p)) for p in job["inputs"])))
            messages = [user_turn(job["prompt"], file_ids)]
            responses = []
            container = None
            for _ in range(MAX_CONTINUATIONS + 1):
                kwargs = {"container": container} if container else {}
                message = await client.messages.create(
                    model=MODEL, max_tokens=MAX_TOKENS, system=SYSTEM, tools=TOOLS,
                    messages=messages, **kwargs)
                stats["messages_calls"] += 1
                responses.append(message)
                container = message.container.id if message.container else container
                messages.append({"role": "assistant", "content": message.content})
                if message.stop_reason != "pause_turn":
                    break
            job_dir = write_job(out, job["name"], messages, responses)

            async def download(file_id: str) -> None:
                meta = await client.files.retrieve_metadata(file_id)
                response = await client.files.download(file_id)
                await response.write_to_file(job_dir / "files" / Path(meta.filename).name)
                stats["downloads"] += 1

            await asyncio.gather(*(download(f) for r in responses for f in generated_file_ids(r)))
            if responses[-1].stop_reason == "end_turn":
                stats["succeeded"] += 1

    await asyncio.gather(*(one(job) for job in jobs))
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variant", choices=["sequential", "async"])
    parser.add_argument("jobs", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    jobs = json.loads(args.jobs.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    if args.variant == "sequential":
        stats = run_sequential(jobs, args.out)
    else:
        stats = asyncio.run(run_async(jobs, args.out, args.concurrency))
    print(json.dumps(stats))
    return 0 if stats["succeeded"] == stats["jobs"] else 1


if __name__ == "__main__":
    sys.exit(main())
