#!/usr/bin/env python3
"""Benchmarks of `runner` against the ideal schedule and the Python SDK approach.

    python bench/run.py [--quick] [--reps N] [SCENARIO ...]      (normally via `just bench`)

Scenarios (all by default):
  1  schedule efficiency: N jobs x 3 inputs (one shared), -j 8, 100 ms per Messages call,
     one pause_turn continuation per job; wall vs the ideal ceil(N/C) x 2 x 100 ms
  2  the same jobs with the official `anthropic` SDK: (a) sequential, (b) AsyncAnthropic +
     semaphore of 8 + in-run upload dedup (bench/python_sdk.py)
  3  hashing and upload of large inputs: hash throughput vs sha256sum/b2sum(/b3sum),
     peak RSS while uploading the largest accepted input vs a 5 MiB one
  4  planning at scale: `runner plan` over 10,000 for_each jobs, hash cache cold and warm
  5  under a rate limit: 300 one-call jobs against the fake's 20 requests/s limit
  6  prompt caching: the cost of 100 multi-request jobs with `cache: off` vs the default
  7  token-aware pacing: 200 one-call jobs against an input-tokens-per-second limit
  8  batch mode vs online: 10,000 one-turn jobs with --batch and with -j 64: wall, CPU,
     peak RSS and the HTTP requests made (batch mode must not make one per job)

Needs target/release/{runner,fake-anthropic} (`cargo build --release --workspace`) and, for
scenario 2, the `anthropic` package in the running Python. Prints Markdown tables and writes
them to bench/results/latest.md, or quick.md with --quick (raw samples beside it, .json).
Inputs are generated under bench/work/ (or --work), reused between invocations.
BENCH_RUNNER / BENCH_FAKE point at other builds to measure.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
# BENCH_RUNNER / BENCH_FAKE: measure other builds (e.g. to compare a change) with the same harness.
RUNNER = Path(os.environ.get("BENCH_RUNNER", TARGET / "release" / "runner"))
FAKE = Path(os.environ.get("BENCH_FAKE", TARGET / "release" / "fake-anthropic"))
MODEL = "claude-sonnet-4-6"
MIB = 1 << 20
GIB = 1 << 30
# The Files API's per-file limit, which `runner` enforces while resolving the manifest.
MAX_INPUT_BYTES = 500_000_000


# ----------------------------------------------------------------------------- measuring

@dataclass
class Sample:
    wall: float          # seconds, spawn to exit
    cpu: float           # user + system seconds of the process (and children it reaped)
    sys: float           # of which system (kernel) seconds
    rss_mib: float       # peak resident set (VmHWM of the exec'd program), MiB
    rc: int
    anon_mib: float = 0  # largest anonymous (private, not file-backed) RSS seen, MiB

    def as_dict(self):
        return asdict(self)


def measure(cmd: list, *, env: dict | None = None, stdout=None, cwd=None) -> Sample:
    """Runs cmd to completion: wall clock around it, CPU time from wait4's rusage, peak RSS
    from the process's own VmHWM.

    Not ru_maxrss: Linux carries the RSS high-water mark across exec, so a child spawned by
    this (larger) Python process would report at least the harness's own size. VmHWM belongs
    to the exec'd image; it is read every 10 ms through a handle on /proc/PID (which fails
    once the process is gone, so a reused PID is never read), so growth in the last < 10 ms
    of a process's life could be missed."""
    out = subprocess.DEVNULL if stdout is None else stdout
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], env=env, stdout=out,
                            stderr=subprocess.PIPE if stdout is None else None, cwd=cwd)
    peak_kib = [0, 0]
    stop = threading.Event()

    def watch():
        try:
            proc_dir = os.open(f"/proc/{proc.pid}", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            while True:
                try:
                    fd = os.open("status", os.O_RDONLY, dir_fd=proc_dir)
                    try:
                        text = os.read(fd, 8192).decode()
                    finally:
                        os.close(fd)
                except OSError:
                    return
                for line in text.splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kib[0] = max(peak_kib[0], int(line.split()[1]))
                    elif line.startswith("RssAnon:"):
                        peak_kib[1] = max(peak_kib[1], int(line.split()[1]))
                if stop.wait(0.01):
                    return
        finally:
            os.close(proc_dir)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    # stderr is small (runner -q prints errors only); more than a pipe's 64 KiB of errors
    # would stall the child, and would be a failure worth seeing anyway.
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stop.set()
    watcher.join()
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc
    if proc.stderr is not None:
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if rc != 0 or err.strip():
            print(f"    [{Path(str(cmd[0])).name} rc={rc}] {err.strip()[:2000]}", file=sys.stderr)
    return Sample(wall=wall, cpu=usage.ru_utime + usage.ru_stime, sys=usage.ru_stime,
                  rss_mib=peak_kib[0] / 1024, anon_mib=peak_kib[1] / 1024, rc=rc)


def rss_cell(samples) -> str:
    """Peak RSS cell; a process that ended before the first sample shows as not measured."""
    if med([s.wall for s in samples]) < 0.05:
        return "– (too short-lived to sample)"
    return spread([s.rss_mib for s in samples], "{:.1f}")


def med(values) -> float:
    return statistics.median(values)


def spread(values, fmt="{:.2f}") -> str:
    """median (min–max)"""
    values = list(values)
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(med(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def drop_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class Fake:
    """The fake API binary on a free port."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([str(FAKE), "--port", "0", *map(str, args)],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"fake-anthropic said {line!r}")
        self.url = line.removeprefix("listening on ")

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/_fake/stats", timeout=30) as r:
            return json.load(r)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def runner_env(url: str) -> dict:
    env = dict(os.environ)
    env.update(ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-bench")
    env.pop("RUST_LOG", None)
    env.pop("RUNNER_TEST_DELAY_SCALE", None)
    return env


def check(cond: bool, what: str) -> None:
    if not cond:
        raise SystemExit(f"benchmark sanity check failed: {what}")


def explain_failure(out: Path) -> str:
    """What run.json says went wrong (runner -q prints nothing for failed jobs)."""
    try:
        summary = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        return f"no {out}/run.json"
    errors = [f"{j['job']}: {j['error']['message']}" for j in summary.get("jobs", []) if j.get("error")]
    return f"counts {summary.get('counts')}; first errors: {errors[:3]}"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


# ------------------------------------------------------------------------------ inputs

def write_if_missing(path: Path, data: bytes) -> None:
    """Writes generated input unless it is there (atomically: another run may be reading it)."""
    if not path.exists() or path.stat().st_size != len(data):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def write_prompt_jobs(path: Path, jobs) -> None:
    """A manifest of jobs with a prompt only: (name, prompt) pairs, each prompt written as a
    YAML double-quoted string as given (escapes included)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join(f"  - name: {name}\n    prompt: \"{prompt}\"" for name, prompt in jobs)
    path.write_text(f"version: 1\ndefaults:\n  model: {MODEL}\njobs:\n{body}\n")


def csv_bytes(tag: str, rows: int) -> bytes:
    lines = ["id,key,value,weight"]
    for i in range(rows):
        lines.append(f"{i},{tag},{(i * 7919 + len(tag) * 31) % 10007},{(i * 0.37) % 13:.3f}")
    return ("\n".join(lines) + "\n").encode()


def make_schedule_jobs(work: Path, n: int) -> Path:
    """Scenario 1/2 inputs: per job a CSV and a JSON of its own, plus one shared CSV."""
    d = work / f"jobs-{n}"
    write_if_missing(d / "data" / "shared.csv", csv_bytes("shared", 2000))
    jobs = []
    for i in range(1, n + 1):
        stem = f"job-{i:04d}"
        write_if_missing(d / "data" / "a" / f"{stem}.csv", csv_bytes(stem, 200))
        write_if_missing(d / "data" / "b" / f"{stem}.json",
                         json.dumps({"job": stem, "weights": list(range(i % 50))}).encode())
        jobs.append({
            "name": stem,
            "inputs": [str(d / "data" / "a" / f"{stem}.csv"), str(d / "data" / "b" / f"{stem}.json"),
                       str(d / "data" / "shared.csv")],
            "prompt": f"Summarise {stem}.csv against the shared table.\n@fake pause 1\n",
        })
    (d / "jobs.json").write_text(json.dumps(jobs, indent=1))
    (d / "bench.yaml").write_text(f"""version: 1
defaults:
  model: {MODEL}
jobs:
  - name: "{{{{ stem }}}}"
    for_each: "data/a/*.csv"
    inputs: ["{{{{ path }}}}", "data/b/{{{{ stem }}}}.json", data/shared.csv]
    prompt: |
      Summarise {{{{ name }}}} against the shared table.
      @fake pause 1
""")
    return d


# --------------------------------------------------------------------------- scenarios

@dataclass
class Ctx:
    quick: bool
    reps: int | None
    work: Path
    results: dict = field(default_factory=dict)
    sections: list = field(default_factory=list)
    counter: int = 0
    notes: list = field(default_factory=list)

    @property
    def scratch(self) -> Path:
        """This invocation's output and state folders (another `just bench` may be running)."""
        return self.work / "tmp" / f"run-{os.getpid()}"

    def fresh(self, label: str) -> Path:
        """A path not used before in this invocation. Nothing is deleted while measuring:
        on ext4 without a journal (this VM's root), creating files right after many were
        deleted is slow (the allocator skips recently deleted inodes), which would charge
        the harness's cleanup to the next measurement. The scratch folder goes at the end."""
        self.counter += 1
        path = self.scratch / f"{self.counter:04d}-{label}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def n_reps(self, full: int, quick: int = 2) -> int:
        if self.reps is not None:
            return self.reps
        return quick if self.quick else full


def run_runner_schedule(ctx: Ctx, d: Path, n: int, conc: int, latency_ms: int, reps: int):
    samples = []
    for rep in range(reps):
        state, out = ctx.fresh("s1-state"), ctx.fresh("s1-out")
        with Fake("--messages-latency-ms", latency_ms) as fake:
            s = measure([RUNNER, "-q", "run", d / "bench.yaml", "-j", conc, "-o", out,
                         "--state-dir", state], env=runner_env(fake.url))
            st = fake.stats()
        check(s.rc == 0, f"runner run exited {s.rc}: {explain_failure(out) if s.rc else ''}")
        check(st["requests"].get("messages") == 2 * n, f"messages calls {st['requests']}")
        check(st["upload_count"] == 2 * n + 1, f"uploads {st['upload_count']} != {2 * n + 1}")
        check(st["requests"].get("download") == 2 * n, f"downloads {st['requests']}")
        print(f"    runner rep {rep + 1}/{reps}: {s.wall:.3f} s wall, {s.cpu:.3f} s CPU, "
              f"{s.rss_mib:.1f} MiB", file=sys.stderr)
        samples.append(s)
    return samples


def scenario_1(ctx: Ctx):
    n = 40 if ctx.quick else 200
    conc, latency_ms = 8, 100
    reps = ctx.n_reps(5)
    d = make_schedule_jobs(ctx.work, n)
    load = loadavg()
    print(f"  scenario 1: {n} jobs, -j {conc}, {latency_ms} ms, {reps} runs (load {load})",
          file=sys.stderr)
    samples = run_runner_schedule(ctx, d, n, conc, latency_ms, reps)
    ctx.results["runner_schedule"] = (n, samples)
    ideal = math.ceil(n / conc) * 2 * latency_ms / 1000
    walls = [s.wall for s in samples]
    ratio = [w / ideal for w in walls]
    rss = [s.rss_mib for s in samples]
    table = [
        "| measure | median (min–max) |",
        "|---|---|",
        f"| ideal wall ⌈{n}/{conc}⌉ × 2 × {latency_ms} ms | {ideal:.2f} s |",
        f"| wall | {spread(walls)} s |",
        f"| wall ÷ ideal | {spread(ratio, '{:.3f}')} |",
        f"| CPU (user+sys) | {spread([s.cpu for s in samples])} s |",
        f"| of which sys | {spread([s.sys for s in samples])} s |",
        f"| peak RSS | {spread(rss, '{:.1f}')} MiB |",
        f"| of which anonymous (heap, stacks; the rest is the mapped executable and libraries) | {spread([s.anon_mib for s in samples], '{:.1f}')} MiB |",
    ]
    targets = [
        f"- wall ≤ 1.03 × ideal: {verdict(med(ratio) <= 1.03)} ({med(ratio):.3f})",
        f"- peak RSS < 64 MiB: {verdict(max(rss) < 64)} ({max(rss):.1f} MiB max)",
    ]
    ctx.sections.append((
        f"Scenario 1: schedule efficiency ({n} jobs × 3 inputs, -j {conc}, "
        f"{latency_ms} ms per Messages call, 1 pause_turn per job)",
        load, reps,
        [f"runner -q run bench/work/jobs-{n}/bench.yaml -j {conc} -o OUT --state-dir FRESH",
         f"fake-anthropic --port 0 --messages-latency-ms {latency_ms}"],
        table, targets))
    ctx.results["s1"] = {"n": n, "ideal": ideal, "samples": [s.as_dict() for s in samples],
                         "load": load}


def scenario_2(ctx: Ctx):
    n = 40 if ctx.quick else 200
    conc, latency_ms = 8, 100
    d = make_schedule_jobs(ctx.work, n)
    load = loadavg()
    print(f"  scenario 2: {n} jobs, Python SDK (load {load})", file=sys.stderr)
    try:
        import anthropic  # noqa: F401
        sdk_version = anthropic.__version__
    except ImportError:
        raise SystemExit("scenario 2 needs the `anthropic` package (run through `just bench`)")
    prior = ctx.results.get("runner_schedule")
    if prior and prior[0] == n:
        runner_samples = prior[1]
    else:
        runner_samples = run_runner_schedule(ctx, d, n, conc, latency_ms, ctx.n_reps(5))

    def python(variant: str, reps: int):
        samples = []
        for rep in range(reps):
            out = ctx.fresh(f"py-{variant}-out")
            with Fake("--messages-latency-ms", latency_ms) as fake:
                summary = ctx.fresh("py-summary.json")
                with open(summary, "w") as f:
                    s = measure([sys.executable, BENCH / "python_sdk.py", variant, d / "jobs.json", out,
                                 "--concurrency", conc], env=runner_env(fake.url), stdout=f)
                st = fake.stats()
            result = json.loads(summary.read_text())
            check(s.rc == 0 and result["succeeded"] == n, f"python {variant}: {result}")
            check(st["requests"].get("messages") == 2 * n, f"python {variant}: {st['requests']}")
            check(st["requests"].get("download") == 2 * n, f"python {variant}: {st['requests']}")
            print(f"    python {variant} rep {rep + 1}/{reps}: {s.wall:.3f} s wall, "
                  f"{s.cpu:.3f} s CPU, {s.rss_mib:.1f} MiB, {st['upload_count']} uploads",
                  file=sys.stderr)
            samples.append((s, st["upload_count"]))
        return samples

    seq = python("sequential", ctx.n_reps(3, 1))
    asy = python("async", ctx.n_reps(5))
    rows = [("runner -j 8", runner_samples, 2 * n + 1),
            ("Python SDK (b): AsyncAnthropic, semaphore 8, upload dedup", [s for s, _ in asy], asy[0][1]),
            ("Python SDK (a): sequential, as the SDK examples", [s for s, _ in seq], seq[0][1])]
    r_wall = med([s.wall for s in runner_samples])
    r_cpu = med([s.cpu for s in runner_samples])
    r_rss = med([s.rss_mib for s in runner_samples])
    table = ["| approach | runs | wall s | CPU s | of which sys s | peak RSS MiB | of which anon MiB | uploads | wall ÷ runner | CPU ÷ runner | RSS ÷ runner |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, samples, uploads in rows:
        w, c, r = (med([s.wall for s in samples]), med([s.cpu for s in samples]),
                   med([s.rss_mib for s in samples]))
        table.append(f"| {name} | {len(samples)} | {spread([s.wall for s in samples])} | "
                     f"{spread([s.cpu for s in samples])} | {spread([s.sys for s in samples])} | "
                     f"{spread([s.rss_mib for s in samples], '{:.1f}')} | {spread([s.anon_mib for s in samples], '{:.1f}')} | "
                     f"{uploads} | {w / r_wall:.2f} | {c / r_cpu:.2f} | {r / r_rss:.2f} |")
    b_wall, b_cpu, b_rss = (med([s.wall for s, _ in asy]), med([s.cpu for s, _ in asy]),
                            med([s.rss_mib for s, _ in asy]))
    a_wall = med([s.wall for s, _ in seq])
    targets = [
        f"- faster than (b): {verdict(r_wall < b_wall)} ({b_wall / r_wall:.2f} ×)",
        f"- CPU ≤ 1/5 of (b): {verdict(r_cpu * 5 <= b_cpu)} (runner {r_cpu:.2f} s vs {b_cpu:.2f} s = 1/{b_cpu / r_cpu:.1f})",
        f"- peak RSS ≤ 1/5 of (b): {verdict(r_rss * 5 <= b_rss)} (runner {r_rss:.1f} MiB vs {b_rss:.1f} MiB = 1/{b_rss / r_rss:.1f})",
        f"- ≥ 7 × faster than (a): {verdict(a_wall >= 7 * r_wall)} ({a_wall / r_wall:.1f} ×)",
    ]
    ctx.sections.append((
        f"Scenario 2: the same {n} jobs with the Python SDK (anthropic {sdk_version}), same fake, same latency",
        load, None,
        [f"python bench/python_sdk.py sequential bench/work/jobs-{n}/jobs.json OUT",
         f"python bench/python_sdk.py async bench/work/jobs-{n}/jobs.json OUT --concurrency {conc}",
         f"fake-anthropic --port 0 --messages-latency-ms {latency_ms}"],
        table, targets))
    ctx.results["s2"] = {"n": n, "load": load, "sequential": [s.as_dict() for s, _ in seq],
                         "async": [s.as_dict() for s, _ in asy]}


def finished_at(job_json: Path) -> float:
    stamp = json.loads(job_json.read_text())["finished_at"]
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def warm_page_cache(paths) -> None:
    for p in paths:
        with open(p, "rb") as f:
            while f.read(16 * MIB):
                pass


def scenario_3(ctx: Ctx):
    big_size = 100_000_000 if ctx.quick else MAX_INPUT_BYTES
    n_small, small_size = (40 if ctx.quick else 200), 5 * MIB
    reps = ctx.n_reps(5)
    d = ctx.work / f"large-{big_size}-{n_small}"
    big = d / "big.bin"
    if not big.exists() or big.stat().st_size != big_size:
        d.mkdir(parents=True, exist_ok=True)
        tmp = big.with_name(f".big.bin.{os.getpid()}")
        with open(tmp, "wb") as f:
            left = big_size
            while left:
                chunk = os.urandom(min(left, 16 * MIB))
                f.write(chunk)
                left -= len(chunk)
        os.replace(tmp, big)
    smalls = []
    for i in range(n_small):
        p = d / "small" / f"part-{i:03d}.bin"
        if not p.exists() or p.stat().st_size != small_size:
            write_if_missing(p, os.urandom(small_size))
        smalls.append(p)
    one_small = d / "one" / "small.bin"
    write_if_missing(one_small, smalls[0].read_bytes())
    for name, inputs in [("big", ["big.bin"]), ("one", ["one/small.bin"])]:
        (d / f"{name}.yaml").write_text(f"""version: 1
defaults:
  model: {MODEL}
jobs:
  - name: {name}
    inputs: {json.dumps(inputs)}
    prompt: |
      Describe this file.
      @fake no-output
""")
    (d / "small.yaml").write_text(f"""version: 1
defaults:
  model: {MODEL}
jobs:
  - name: "{{{{ stem }}}}"
    for_each: "small/*.bin"
    inputs: ["{{{{ path }}}}"]
    prompt: Describe {{{{ name }}}}.
""")
    load = loadavg()
    print(f"  scenario 3: {big_size} B file, {n_small} × 5 MiB, {reps} runs (load {load})",
          file=sys.stderr)
    warm_page_cache([big, *smalls])

    def plan_cold(manifest: Path):
        out = []
        for _ in range(reps):
            state = ctx.fresh("s3-state")
            s = measure([RUNNER, "-q", "plan", manifest, "--state-dir", state, "-o", ctx.scratch / "none"])
            check(s.rc == 0, "runner plan failed")
            out.append(s)
        return out

    def tool(cmd):
        out = []
        for _ in range(reps):
            s = measure(cmd)
            check(s.rc == 0, f"{cmd[0]} failed")
            out.append(s)
        return out

    def plan_warm(manifest: Path):
        state = ctx.fresh("s3-state")
        measure([RUNNER, "-q", "plan", manifest, "--state-dir", state, "-o", ctx.scratch / "none"])
        return tool([RUNNER, "-q", "plan", manifest, "--state-dir", state, "-o", ctx.scratch / "none"])

    cases = {
        "big": (big_size, [("runner plan (BLAKE3, hash cache cold)", plan_cold(d / "big.yaml"))]),
        "small": (n_small * small_size, [("runner plan (BLAKE3, hash cache cold)", plan_cold(d / "small.yaml"))]),
    }
    cases["big"][1].append(("runner plan (hash cache warm: the overhead without hashing)", plan_warm(d / "big.yaml")))
    cases["small"][1].append(("runner plan (hash cache warm: the overhead without hashing)", plan_warm(d / "small.yaml")))
    refs = [("sha256sum", "sha256sum"), ("b2sum", "b2sum (BLAKE2b, coreutils)"),
            ("b3sum", "b3sum (BLAKE3, multi-threaded)"), ("openssl", "openssl sha256 (SHA-NI)")]
    for exe, label in refs:
        path = shutil.which(exe)
        if not path:
            continue
        for key, files in [("big", [big]), ("small", smalls)]:
            cmd = [path, "dgst", "-sha256", *files] if exe == "openssl" else [path, *files]
            cases[key][1].append((label, tool(cmd)))

    table = ["| input | tool | wall s | throughput GB/s | ÷ sha256sum | peak RSS MiB |",
             "|---|---|---|---|---|---|"]
    ratios = {}
    for key, (nbytes, rows) in cases.items():
        label_in = (f"1 file, {nbytes / 1e6:.0f} MB" if key == "big"
                    else f"{n_small} files × 5 MiB ({nbytes / MIB:.0f} MiB)")
        sha = next((med([s.wall for s in ss]) for name, ss in rows if name == "sha256sum"), None)
        for name, ss in rows:
            w = med([s.wall for s in ss])
            thr = [nbytes / s.wall / 1e9 for s in ss]
            vs = f"{sha / w:.1f} ×" if sha else "–"
            if "cold" in name and sha:
                ratios[key] = sha / w
            warm = "warm" in name
            table.append(f"| {label_in} | {name} | {spread([s.wall for s in ss], '{:.3f}')} | "
                         f"{'–' if warm else spread(thr)} | {'–' if warm else vs} | {rss_cell(ss)} |")

    # Peak RSS while uploading: the largest accepted input vs a 5 MiB one.
    def upload_rss(manifest: Path, expect_bytes: int):
        out = []
        for _ in range(reps):
            state, outdir = ctx.fresh("s3-up-state"), ctx.fresh("s3-up-out")
            with Fake() as fake:
                s = measure([RUNNER, "-q", "run", manifest, "-o", outdir, "--state-dir", state],
                            env=runner_env(fake.url))
                st = fake.stats()
            check(s.rc == 0, f"runner run (upload) exited {s.rc}: {explain_failure(outdir) if s.rc else ''}")
            check(st["upload_count"] == 1, f"uploads: {st['upload_count']}")
            out.append(s)
        return out

    up_big = upload_rss(d / "big.yaml", big_size)
    up_small = upload_rss(d / "one.yaml", small_size)
    rss_big, rss_small = med([s.rss_mib for s in up_big]), med([s.rss_mib for s in up_small])
    table2 = ["| `runner run` uploading | wall s | CPU s | peak RSS MiB |", "|---|---|---|---|"]
    for label, ss in [(f"1 file, {big_size / 1e6:.0f} MB", up_big), ("1 file, 5 MiB", up_small)]:
        table2.append(f"| {label} | {spread([s.wall for s in ss], '{:.3f}')} | "
                      f"{spread([s.cpu for s in ss], '{:.3f}')} | {spread([s.rss_mib for s in ss], '{:.1f}')} |")
    table2.append(f"| difference | | | {rss_big - rss_small:+.1f} |")
    r_min = min(ratios.values()) if ratios else float("nan")
    targets = [
        f"- hashing ≥ 5 × sha256sum: {verdict(r_min >= 5)} "
        f"({', '.join(f'{k}: {v:.1f} ×' for k, v in ratios.items())})",
        f"- RSS flat within 16 MiB across sizes: {verdict(abs(rss_big - rss_small) <= 16)} "
        f"({rss_small:.1f} → {rss_big:.1f} MiB)",
    ]
    ctx.sections.append((
        "Scenario 3: hashing and uploading large inputs (page cache warm)",
        load, reps,
        [f"runner -q plan {d.relative_to(ROOT) if d.is_relative_to(ROOT) else d}/{{big,small}}.yaml --state-dir FRESH",
         "sha256sum FILES; b2sum FILES" + ("; b3sum FILES" if shutil.which("b3sum") else "")
         + ("; openssl dgst -sha256 FILES" if shutil.which("openssl") else ""),
         f"runner -q run {d.relative_to(ROOT) if d.is_relative_to(ROOT) else d}/{{big,one}}.yaml -o OUT --state-dir FRESH  (fake-anthropic --port 0)"],
        table + [""] + table2, targets))
    ctx.results["s3"] = {"load": load, "cases": {k: {name: [s.as_dict() for s in ss] for name, ss in rows}
                                                 for k, (_, rows) in cases.items()},
                         "upload_big": [s.as_dict() for s in up_big],
                         "upload_small": [s.as_dict() for s in up_small]}


def scenario_4(ctx: Ctx):
    n = 1000 if ctx.quick else 10_000
    reps = ctx.n_reps(5)
    d = ctx.work / f"plan-{n}"
    for i in range(n):
        write_if_missing(d / "data" / f"f-{i:05d}.csv", csv_bytes(f"f{i}", 3))
    (d / "plan.yaml").write_text(f"""version: 1
defaults:
  model: {MODEL}
jobs:
  - name: "{{{{ stem }}}}"
    for_each: "data/*.csv"
    inputs: ["{{{{ path }}}}"]
    prompt: Profile {{{{ name }}}}.
""")
    load = loadavg()
    print(f"  scenario 4: plan over {n} jobs, {reps} runs (load {load})", file=sys.stderr)
    state = ctx.fresh("s4-state")
    cmd = [RUNNER, "-q", "plan", d / "plan.yaml", "--state-dir", state, "-o", ctx.scratch / "none"]
    cmd_json = cmd + ["--json"]
    warm_page_cache(sorted((d / "data").iterdir()))
    cold, warm, warm_json = [], [], []
    for _ in range(reps):
        state = ctx.fresh("s4-state")
        cmd[cmd.index("--state-dir") + 1] = state
        s = measure(cmd)
        check(s.rc == 0, "plan failed")
        cold.append(s)
    cmd_json[cmd_json.index("--state-dir") + 1] = state
    for _ in range(reps):
        s = measure(cmd)
        check(s.rc == 0, "plan failed")
        warm.append(s)
    for _ in range(reps):
        s = measure(cmd_json)
        check(s.rc == 0, "plan failed")
        warm_json.append(s)
    table = ["| `runner plan`, {} jobs | wall s | CPU s | peak RSS MiB |".format(f"{n:,}"),
             "|---|---|---|---|"]
    for label, ss in [("hash cache cold", cold), ("hash cache warm", warm), ("hash cache warm, --json", warm_json)]:
        table.append(f"| {label} | {spread([s.wall for s in ss], '{:.3f}')} | "
                     f"{spread([s.cpu for s in ss], '{:.3f}')} | {spread([s.rss_mib for s in ss], '{:.1f}')} |")
    w = med([s.wall for s in warm])
    targets = [f"- < 1 s warm for {n:,} jobs: {verdict(w < 1)} ({w:.3f} s)"]
    ctx.sections.append((f"Scenario 4: planning at scale (for_each over {n:,} small files)", load, reps,
                         [f"runner -q plan bench/work/plan-{n}/plan.yaml --state-dir STATE -o NONE [--json] > /dev/null"],
                         table, targets))
    ctx.results["s4"] = {"n": n, "load": load, "cold": [s.as_dict() for s in cold],
                         "warm": [s.as_dict() for s in warm], "warm_json": [s.as_dict() for s in warm_json]}


def scenario_5(ctx: Ctx):
    n = 60 if ctx.quick else 300
    rate, window_ms, latency_ms, conc = 20, 1000, 100, 8
    reps = ctx.n_reps(3, 1)
    d = ctx.work / f"rate-{n}"
    write_prompt_jobs(d / "rate.yaml", ((f"q-{i:04d}", f"Question {i}.\\n@fake no-output") for i in range(n)))
    load = loadavg()
    print(f"  scenario 5: {n} jobs at {rate}/{window_ms} ms, {reps} runs (load {load})", file=sys.stderr)
    ideal = (math.ceil(n / rate) - 1) * window_ms / 1000 + latency_ms / 1000
    rows = []
    for rep in range(reps):
        state, out = ctx.fresh("s5-state"), ctx.fresh("s5-out")
        with Fake("--messages-latency-ms", latency_ms, "--rate-limit", rate,
                  "--rate-window-ms", window_ms) as fake:
            s = measure([RUNNER, "-q", "run", d / "rate.yaml", "-j", conc, "-o", out, "--state-dir", state],
                        env=runner_env(fake.url))
            st = fake.stats()
        total = st["requests"].get("messages", 0)
        ok = n if s.rc == 0 else None
        if s.rc != 0:
            run_json = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {}
            ok = run_json.get("counts", {}).get("succeeded", 0)
        rejected = total - ok
        goodput = ok / s.wall
        # Steady state: jobs finished after the first window's burst, over the time they took.
        finished = sorted(finished_at(p) for p in out.glob("rate/*/job.json"))
        steady = ((len(finished) - rate) / (finished[-1] - finished[rate - 1])
                  if len(finished) > rate and finished[-1] > finished[rate - 1] else float("nan"))
        print(f"    rep {rep + 1}/{reps}: rc {s.rc}, {s.wall:.2f} s, {ok} ok, {total} requests, "
              f"{rejected} rejected", file=sys.stderr)
        rows.append({"sample": s, "ok": ok, "total": total, "rejected": rejected,
                     "goodput": goodput, "steady": steady, "share_429": rejected / total if total else 0})
    table = ["| measure | median (min–max) |", "|---|---|",
             f"| allowed rate | {rate} requests / {window_ms} ms (token bucket) |",
             f"| ideal wall (⌈{n}/{rate}⌉−1) × {window_ms} ms + {latency_ms} ms | {ideal:.2f} s |",
             f"| jobs succeeded | {spread([r['ok'] for r in rows], '{:.0f}')} of {n} |",
             f"| wall | {spread([r['sample'].wall for r in rows])} s |",
             f"| goodput over the whole run (jobs / wall, includes the first window's burst) | {spread([r['goodput'] for r in rows])} /s |",
             f"| steady-state goodput (jobs finished after the first {rate}, per second) | {spread([r['steady'] for r in rows])} /s |",
             f"| steady-state goodput ÷ allowed rate | {spread([r['steady'] / rate * 100 for r in rows], '{:.1f}')} % |",
             f"| ideal wall ÷ wall | {spread([ideal / r['sample'].wall * 100 for r in rows], '{:.1f}')} % |",
             f"| Messages requests sent | {spread([r['total'] for r in rows], '{:.0f}')} |",
             f"| answered 429 | {spread([r['share_429'] * 100 for r in rows], '{:.1f}')} % |",
             f"| runner CPU | {spread([r['sample'].cpu for r in rows])} s |"]
    g = med([r["steady"] / rate for r in rows])
    share = med([r["share_429"] for r in rows])
    all_ok = all(r["ok"] == n for r in rows)
    targets = [f"- every job succeeds: {verdict(all_ok)}",
               f"- goodput ≥ 95 % of the allowed rate: {verdict(g >= 0.95)} ({g * 100:.1f} %)",
               f"- < 2 % of requests answered 429: {verdict(share < 0.02)} ({share * 100:.1f} %)"]
    ctx.sections.append((f"Scenario 5: {n} one-call jobs under a rate limit ({rate} Messages requests / "
                         f"{window_ms} ms, {latency_ms} ms latency, -j {conc})", load, reps,
                         [f"runner -q run bench/work/rate-{n}/rate.yaml -j {conc} -o OUT --state-dir FRESH",
                          f"fake-anthropic --port 0 --messages-latency-ms {latency_ms} --rate-limit {rate} "
                          f"--rate-window-ms {window_ms}"],
                         table, targets))
    ctx.results["s5"] = {"n": n, "load": load, "ideal": ideal,
                         "runs": [{**r, "sample": r["sample"].as_dict()} for r in rows]}


def job_costs(out: Path) -> dict:
    """Sums the `cost.parts` of every job.json under `out`."""
    total = {"input": 0.0, "cache_write_5m": 0.0, "cache_write_1h": 0.0, "cache_read": 0.0, "output": 0.0}
    jobs = 0
    for p in out.glob("*/*/job.json"):
        parts = json.loads(p.read_text())["cost"]["parts"]
        for k in total:
            total[k] += parts[k]
        jobs += 1
    total["jobs"] = jobs
    total["input_side"] = total["input"] + total["cache_write_5m"] + total["cache_write_1h"] + total["cache_read"]
    total["usd"] = total["input_side"] + total["output"]
    return total


def scenario_6(ctx: Ctx):
    """Prompt caching: the same jobs with `cache: off`, the default, `1h` and the default with
    `--batch`, side by side. The jobs share a system prompt and an input (issue 26), as a
    manifest's jobs do; each also reads an input of its own."""
    n = 30 if ctx.quick else 100
    conc = 8
    d = ctx.work / f"cache-{n}"
    (d / "data").mkdir(parents=True, exist_ok=True)
    (d / "data" / "shared.csv").write_text("k,v\n" + "".join(f"{i},{i * i}\n" for i in range(200)))
    for i in range(n):
        (d / "data" / f"own-{i:04d}.csv").write_text(f"x\n{i}\n")
    system = ("You are the data team's analyst. " + "Report every number with its unit and source. " * 40).strip()
    jobs = "\n".join(
        f"  - name: c-{i:04d}\n    inputs: [data/shared.csv, data/own-{i:04d}.csv]\n"
        f"    prompt: \"Analyse dataset {i} in depth.\\n@fake pause 2\"\n"
        f"    follow_up: [\"Now summarise dataset {i} in five bullet points.\"]"
        for i in range(n))
    modes = (("off", "\"off\"", []), ("default", None, []), ("1h", "1h", []),
             ("default --batch", None, ["--batch", "--batch-poll", "50ms..1s"]))
    for label, cache, _ in modes:
        line = f"  cache: {cache}\n" if cache else ""
        name = label.split()[0]
        (d / f"{name}.yaml").write_text(
            f"version: 1\ndefaults:\n  model: {MODEL}\n  system: \"{system}\"\n{line}jobs:\n{jobs}\n")
    load = loadavg()
    print(f"  scenario 6: {n} jobs × 4 requests, cache off / default / 1h / default --batch (load {load})",
          file=sys.stderr)
    res = {}
    for label, _, flags in modes:
        name = label.split()[0]
        state, out = ctx.fresh(f"s6-{label.replace(' ', '')}-state"), ctx.fresh(f"s6-{label.replace(' ', '')}-out")
        with Fake() as fake:
            s = measure([RUNNER, "-q", "run", d / f"{name}.yaml", "-j", conc, *flags, "-o", out,
                         "--state-dir", state], env=runner_env(fake.url))
            st = fake.stats()
        check(s.rc == 0, f"scenario 6 ({label}) exited {s.rc}: {explain_failure(out)}")
        sent = st["requests"].get("messages", 0) + st.get("batch_items", 0)
        check(sent == 4 * n, f"scenario 6 ({label}): 4 requests per job, got {sent}")
        costs = job_costs(out)
        check(costs["jobs"] == n, f"scenario 6 ({label}): {n} job.json files")
        run_json = json.loads((out / "run.json").read_text())
        check(abs(run_json["cost"]["usd"] - costs["usd"]) < 1e-6, f"scenario 6 ({label}): run.json = Σ job.json")
        res[label] = {"costs": costs, "usage": st["usage"], "wall": s.wall}
    off = res["off"]["costs"]
    labels = [m[0] for m in modes]
    table = ["| measure | " + " | ".join(f"`{l}`" for l in labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for key, what in (("input", "plain input"), ("cache_write_5m", "cache writes (5m)"),
                      ("cache_write_1h", "cache writes (1h)"), ("cache_read", "cache reads"),
                      ("input_side", "**input side**"), ("output", "output"), ("usd", "**total**")):
        cells = []
        for l in labels:
            v = res[l]["costs"][key]
            ratio = f" ({v / off[key]:.3f})" if off[key] else ""
            cells.append(f"${v:.4f}{ratio}")
        table.append(f"| {what} | " + " | ".join(cells) + " |")
    table.append("| input tokens plain / written / read | " + " | ".join(
        f"{res[l]['usage']['input_tokens']} / {res[l]['usage']['cache_write_5m'] + res[l]['usage']['cache_write_1h']}"
        f" / {res[l]['usage']['cache_read']}" for l in labels) + " |")
    ratio = {l: res[l]["costs"]["input_side"] / off["input_side"] for l in labels}
    targets = [f"- input-side cost, default online ≤ 0.30 × off: {verdict(ratio['default'] <= 0.30)} ({ratio['default']:.3f})",
               f"- input-side cost, default with --batch ≤ 0.15 × off: {verdict(ratio['default --batch'] <= 0.15)} "
               f"({ratio['default --batch']:.3f})",
               f"- `1h` online against the default (reported): {ratio['1h']:.3f} vs {ratio['default']:.3f}"]
    ctx.sections.append((f"Scenario 6: cost of {n} jobs sharing a system prompt and an input (2 `pause_turn` "
                         "continuations + 1 follow-up each), by cache setting", load, 0,
                         [f"runner -q run bench/work/cache-{n}/{{off,default,1h}}.yaml -j {conc} -o OUT --state-dir FRESH",
                          f"runner -q run bench/work/cache-{n}/default.yaml --batch --batch-poll 50ms..1s -o OUT --state-dir FRESH",
                          "fake-anthropic --port 0"],
                         table, targets))
    ctx.results["s6"] = {"n": n, "load": load, "ratios": ratio, **res}


# Scenario 7's cases: (label, jobs (full, quick), limit, window ms, prompt of job i). The small
# limit's jobs report what a real first turn bills (docs/api.md §10.8): the new part written
# to the cache, a few plain tokens, the tool's definitions read from the cache (which do not
# count toward the limit), about 680 counted in all; the large limit's jobs are billed from
# their size, about 8,000 tokens each.
S7_CASES = [
    ("burst", (200, 60), 100_000, 1000,
     lambda i: f"Question {i}: {'why ' * 100}\\n@fake no-output"),
    ("small", (20, 20), 4_499, 60_000,
     lambda i: f"Question {i}: {'why ' * 20}\\n@fake usage input=4 cache_write=676 cache_read=4338\\n@fake no-output"),
    ("large", (60, 30), 200_000, 60_000,
     lambda i: f"Question {i}: {'why ' * 3700}\\n@fake no-output"),
]


def scenario_7(ctx: Ctx):
    """Token-aware pacing: one-call jobs against an input-tokens-per-window limit; a burst
    limit (100,000 a second), a small and a large per-minute limit. `BENCH_S7` picks cases
    (e.g. `small`), `BENCH_S7_WINDOW_SCALE` shortens the per-minute windows for iterating."""
    only = set(filter(None, os.environ.get("BENCH_S7", "").split(",")))
    scale = float(os.environ.get("BENCH_S7_WINDOW_SCALE", "1"))
    for label, (full, quick), limit, window_ms, prompt in S7_CASES:
        if only and label not in only:
            continue
        if window_ms >= 60_000:
            window_ms = max(int(window_ms * scale), 1)
        scenario_7_case(ctx, label, quick if ctx.quick else full, limit, window_ms, prompt)


def scenario_7_case(ctx: Ctx, label: str, n: int, limit: int, window_ms: int, prompt):
    latency_ms, conc = 100, 8
    reps = ctx.n_reps(3, 1)
    d = ctx.work / f"tpm-{label}-{n}"
    write_prompt_jobs(d / "tpm.yaml", ((f"t-{i:04d}", prompt(i)) for i in range(n)))
    load = loadavg()
    print(f"  scenario 7 ({label}): {n} jobs at {limit} input tokens / {window_ms} ms, {reps} runs (load {load})",
          file=sys.stderr)
    rate = limit / (window_ms / 1000)
    rows = []
    for rep in range(reps):
        state, out = ctx.fresh("s7-state"), ctx.fresh("s7-out")
        with Fake("--messages-latency-ms", latency_ms, "--input-tpm", limit, "--output-tpm", 10_000_000,
                  "--token-window-ms", window_ms) as fake:
            s = measure([RUNNER, "-q", "run", d / "tpm.yaml", "-j", conc, "-o", out, "--state-dir", state],
                        env=runner_env(fake.url))
            st = fake.stats()
        check(s.rc == 0, f"scenario 7 exited {s.rc}: {explain_failure(out)}")
        u = st["usage"]
        tokens = u["input_tokens"] + u["cache_write_5m"] + u["cache_write_1h"]
        total = st["requests"].get("messages", 0)
        # The bucket starts full: the first `limit` tokens are free of waiting.
        ideal = max(tokens - limit, 0) / rate + latency_ms / 1000
        goodput = max(tokens - limit, 0) / max(s.wall - latency_ms / 1000, 1e-9)
        print(f"    rep {rep + 1}/{reps}: {s.wall:.2f} s, {tokens} tokens, {total} requests, "
              f"{st['token_limited']} answered 429", file=sys.stderr)
        rows.append({"sample": s, "tokens": tokens, "total": total, "limited": st["token_limited"],
                     "ideal": ideal, "goodput": goodput, "share_429": st["token_limited"] / total})
    table = ["| measure | median (min–max) |", "|---|---|",
             f"| allowed rate | {limit} input tokens / {window_ms} ms (bucket, starts full) |",
             f"| input tokens counted (plain + cache writes) | {spread([r['tokens'] for r in rows], '{:.0f}')} |",
             f"| ideal wall (tokens − {limit}) ÷ rate + {latency_ms} ms | {spread([r['ideal'] for r in rows])} s |",
             f"| wall | {spread([r['sample'].wall for r in rows])} s |",
             f"| goodput (tokens past the first bucketful, per second) ÷ allowed rate | "
             f"{spread([r['goodput'] / rate * 100 for r in rows], '{:.1f}')} % |",
             f"| Messages requests sent | {spread([r['total'] for r in rows], '{:.0f}')} |",
             f"| answered 429 | {spread([r['share_429'] * 100 for r in rows], '{:.1f}')} % |",
             f"| runner CPU | {spread([r['sample'].cpu for r in rows])} s |"]
    g = med([r["goodput"] / rate for r in rows])
    share = med([r["share_429"] for r in rows])
    targets = [f"- goodput ≥ 90 % of the allowed token rate: {verdict(g >= 0.90)} ({g * 100:.1f} %)",
               f"- < 2 % of requests answered 429: {verdict(share < 0.02)} ({share * 100:.1f} %)"]
    ctx.sections.append((f"Scenario 7 ({label}): {n} one-call jobs under an input-token limit ({limit} tokens / "
                         f"{window_ms} ms, {latency_ms} ms latency, -j {conc})", load, reps,
                         [f"runner -q run bench/work/tpm-{label}-{n}/tpm.yaml -j {conc} -o OUT --state-dir FRESH",
                          f"fake-anthropic --port 0 --messages-latency-ms {latency_ms} --input-tpm {limit} "
                          f"--output-tpm 10000000 --token-window-ms {window_ms}"],
                         table, targets))
    ctx.results[f"s7-{label}"] = {"n": n, "load": load,
                                  "runs": [{**r, "sample": r["sample"].as_dict()} for r in rows]}


def scenario_8(ctx: Ctx):
    """Batch mode vs online (issue 13): N one-turn jobs, --batch and then -j 64, fresh fake each."""
    n = 1000 if ctx.quick else 10_000
    conc = 64
    # Polls of a batch start at 5 s and grow 1.5× by default: against the fake (which starts
    # answering a batch's items as soon as it is created, --batch-delay-ms 0) the batch run
    # would mostly wait on that schedule.
    # --batch-poll is a user option, so no test-only scaling (runner_env drops
    # RUNNER_TEST_DELAY_SCALE anyway): the wait measured is the one a user would get.
    poll = "50ms..5s"
    reps = ctx.n_reps(1, 1)
    d = ctx.work / f"batch-{n}"
    write_prompt_jobs(d / "bench.yaml", ((f"b-{i:05d}", f"hi {i}\\n@fake no-output") for i in range(n)))
    load = loadavg()
    print(f"  scenario 8: {n} one-turn jobs, --batch vs -j {conc}, {reps} run(s) each (load {load})",
          file=sys.stderr)
    modes = {"batch": ["--batch", "--batch-poll", poll], "online": ["-j", conc]}
    runs = {m: [] for m in modes}
    for rep in range(reps):
        for mode, flags in modes.items():
            state, out = ctx.fresh(f"s8-{mode}-state"), ctx.fresh(f"s8-{mode}-out")
            with Fake() as fake:
                s = measure([RUNNER, "-q", "run", d / "bench.yaml", *flags, "-o", out, "--state-dir", state],
                            env=runner_env(fake.url))
                st = fake.stats()
            check(s.rc == 0, f"scenario 8 ({mode}) exited {s.rc}: {explain_failure(out)}")
            statuses = [json.loads(p.read_text())["status"] for p in out.glob("*/*/job.json")]
            ok = statuses.count("succeeded")
            check(len(statuses) == n and ok == n,
                  f"scenario 8 ({mode}): {ok} of {len(statuses)} job.json succeeded, expected {n}")
            req = st["requests"]
            if mode == "batch":
                check(req.get("messages", 0) == 0, f"scenario 8 (batch): Messages requests {req}")
                check(st["requests_total"] < 50, f"scenario 8 (batch): {st['requests_total']} requests {req}")
                check(st["batch_items"] == n, f"scenario 8 (batch): {st['batch_items']} batch items, expected {n}")
            else:
                check(req.get("messages", 0) == n, f"scenario 8 (online): Messages requests {req}")
            print(f"    {mode} rep {rep + 1}/{reps}: {s.wall:.2f} s wall, {s.cpu:.2f} s CPU, "
                  f"{s.rss_mib:.1f} MiB, {st['requests_total']} requests {dict(sorted(req.items()))}",
                  file=sys.stderr)
            runs[mode].append({"sample": s, "requests_total": st["requests_total"], "requests": req,
                               "batches_created": st["batches_created"], "ok": ok})

    def col(mode, f, fmt="{:.2f}"):
        return spread([f(r) for r in runs[mode]], fmt)

    def ratio(f):
        b, o = med([f(r) for r in runs["batch"]]), med([f(r) for r in runs["online"]])
        return f"{b / o:.2f}" if o else "–"

    rows = [("jobs succeeded", lambda r: r["ok"], "{:.0f}"),
            ("wall s", lambda r: r["sample"].wall, "{:.2f}"),
            ("CPU (user+sys) s", lambda r: r["sample"].cpu, "{:.2f}"),
            ("of which user s", lambda r: r["sample"].cpu - r["sample"].sys, "{:.2f}"),
            ("of which sys s", lambda r: r["sample"].sys, "{:.2f}"),
            ("peak RSS MiB", lambda r: r["sample"].rss_mib, "{:.1f}"),
            ("of which anonymous MiB", lambda r: r["sample"].anon_mib, "{:.1f}"),
            ("**HTTP requests, total**", lambda r: r["requests_total"], "{:.0f}")]
    endpoints = sorted({k for m in runs for r in runs[m] for k in r["requests"]})
    rows += [(f"requests: `{k}`", lambda r, k=k: r["requests"].get(k, 0), "{:.0f}") for k in endpoints]
    rows.append(("batches created", lambda r: r["batches_created"], "{:.0f}"))
    table = [f"| measure | `--batch --batch-poll {poll}` | `-j {conc}` | batch ÷ online |", "|---|---|---|---|"]
    for label, f, fmt in rows:
        table.append(f"| {label} | {col('batch', f, fmt)} | {col('online', f, fmt)} | {ratio(f)} |")
    b_total = max(r["requests_total"] for r in runs["batch"])
    b_msgs = max(r["requests"].get("messages", 0) for r in runs["batch"])
    targets = [f"- batch mode makes O(rounds) requests, not O(jobs) (no Messages request, < 50 in all "
               f"for {n:,} jobs): {verdict(b_msgs == 0 and b_total < 50)} ({b_total} requests, "
               f"{b_msgs} Messages; online: {med([r['requests_total'] for r in runs['online']]):.0f})"]
    ctx.sections.append((f"Scenario 8: batch mode vs online, {n:,} one-turn jobs"
                         + (" (one run of each)" if reps == 1 else ""), load, reps if reps > 1 else 0,
                         [f"runner -q run bench/work/batch-{n}/bench.yaml --batch --batch-poll {poll} -o OUT --state-dir FRESH",
                          f"runner -q run bench/work/batch-{n}/bench.yaml -j {conc} -o OUT --state-dir FRESH",
                          "fake-anthropic --port 0   (a fresh one for each run; --batch-delay-ms 0: it answers a batch's items as soon as it is created)"],
                         table, targets))
    ctx.results["s8"] = {"n": n, "load": load, "poll": poll,
                         "runs": {m: [{**r, "sample": r["sample"].as_dict()} for r in rs] for m, rs in runs.items()}}


SCENARIOS = {1: scenario_1, 2: scenario_2, 3: scenario_3, 4: scenario_4, 5: scenario_5, 6: scenario_6,
             7: scenario_7, 8: scenario_8}


# ------------------------------------------------------------------------------ report

def machine() -> list[str]:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = next((int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines()
                if l.startswith("MemTotal")), 0)

    def cmd(*c):
        try:
            return subprocess.run(c, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"

    commit = cmd("git", "rev-parse", "--short", "HEAD")
    dirty = (" (with uncommitted changes to the code)"
             if cmd("git", "status", "--porcelain", "--", "src", "tests/fake-anthropic", "Cargo.toml", "Cargo.lock")
             else "")
    try:
        import anthropic
        sdk = anthropic.__version__
    except ImportError:
        sdk = "not installed"
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical CPUs (`nproc` = {cmd('nproc')})",
        f"- RAM: {mem / 1024 / 1024:.1f} GiB; kernel {platform.release()}",
        f"- {cmd('rustc', '--version')}; Python {platform.python_version()}, anthropic {sdk}",
        f"- runner at {commit}{dirty}, release build",
    ]


def render(ctx: Ctx, started: str, argv: list[str]) -> str:
    lines = [f"# Benchmark results ({'quick' if ctx.quick else 'full'} run, {started})", "",
             "Machine:", *machine(), "",
             "Command: `" + " ".join(["just bench", *argv]) + "`", ""]
    lines += [f"**Warning: {n}.**\n" for n in ctx.notes]
    for title, load, reps, cmds, table, targets in ctx.sections:
        lines.append(f"## {title}")
        lines.append("")
        head = f"Load average before the scenario: {load}."
        if reps:
            head += f" {reps} runs each; median (min–max)."
        lines.append(head)
        lines.append("")
        lines += table
        lines.append("")
        lines.append("Targets:")
        lines += targets
        lines.append("")
        lines.append("Commands:")
        lines.append("```")
        lines += cmds
        lines.append("```")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="runner benchmarks (see BENCHMARKS.md)")
    parser.add_argument("scenarios", nargs="*", type=int, metavar="SCENARIO", help="1..8 (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller N and fewer runs: a smoke run")
    parser.add_argument("--reps", type=int, help="runs per measurement (overrides the defaults)")
    parser.add_argument("--work", type=Path, default=BENCH / "work", help="where inputs are generated")
    parser.add_argument("--results", type=Path,
                        help="where to write the tables [default: bench/results/latest.md; quick.md with --quick]")
    args = parser.parse_args()
    if args.results is None:
        args.results = BENCH / "results" / ("quick.md" if args.quick else "latest.md")
    if bad := [n for n in args.scenarios if n not in SCENARIOS]:
        parser.error(f"no scenario {bad[0]}; choose from 1 to {len(SCENARIOS)}")
    for exe in (RUNNER, FAKE):
        if not exe.exists():
            raise SystemExit(f"{exe} is missing: run `cargo build --release --workspace` first")
    args.work.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(quick=args.quick, reps=args.reps, work=args.work.resolve())
    stale, others = [], []
    for d in (ctx.work / "tmp").glob("run-*"):
        pid = d.name.removeprefix("run-")
        (others if pid.isdigit() and Path(f"/proc/{pid}").exists() else stale).append(d)
    if others:
        note = (f"another benchmark run was in progress ({', '.join(d.name for d in others)}): "
                "the timings below are disturbed by it")
        print(f"warning: {note}", file=sys.stderr)
        ctx.notes.append(note)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    try:
        for number in args.scenarios or sorted(SCENARIOS):
            SCENARIOS[number](ctx)
    except BaseException:
        print(f"(the outputs and state of this run are kept in {ctx.scratch})", file=sys.stderr)
        raise
    for leftover in [ctx.scratch, *stale]:  # stale: left by an interrupted run
        drop_tree(leftover)
    report = render(ctx, started, sys.argv[1:])
    print(report)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(report)
    ctx.results.pop("runner_schedule", None)
    args.results.with_suffix(".json").write_text(json.dumps(ctx.results, indent=1, default=str))
    print(f"(written to {args.results})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
