#!/usr/bin/env python3
"""Fidelity check: the OFFICIAL `anthropic` Python SDK (2.17.0, strict response
validation, no retries unless stated) against the fake-anthropic binary.

Usage: check.py PATH/TO/fake-anthropic
Prints one line per check and `N passed, M failed` last; exits non-zero on any
failure. Server-side faults are scripted through the fake's test-only control
endpoints (`/_fake/...`), which are not part of the real API.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import traceback
import urllib.error
import urllib.request
from pathlib import Path

import anthropic
from anthropic.types import DeletedFile, ErrorResponse, FileMetadata, Message
from anthropic.types.beta import BetaFileMetadata, BetaMessage
from jsonschema import Draft202012Validator

API_KEY = "test-key"
UPLOAD_CAP = 1 << 20
MODEL = "claude-opus-4-8"
# The fake judges model lifecycles and prices by this date (docs/api.md §8.9).
TODAY = "2026-12-06"
TOOL_VERSIONS = [
    "code_execution_20250522",
    "code_execution_20250825",
    "code_execution_20260120",
    "code_execution_20260521",
]
ERROR_CODES = {
    "code_execution": ["invalid_tool_input", "unavailable", "too_many_requests", "execution_time_exceeded"],
    "bash": ["invalid_tool_input", "unavailable", "too_many_requests", "execution_time_exceeded",
             "output_file_too_large"],
    "text_editor": ["invalid_tool_input", "unavailable", "too_many_requests", "execution_time_exceeded",
                    "file_not_found"],
}
STOP_REASONS = ["max_tokens", "refusal", "tool_use", "stop_sequence", "model_context_window_exceeded"]
# Both vendored beside this script; README.md says where the spec comes from.
HERE = Path(__file__).resolve().parent
SPEC = HERE / "openapi.json"
VALIDATOR = HERE / "validate_fixtures.py"

CHECKS: list = []
CAPTURED: list[str] = []  # raw Messages bodies, re-validated by validate_fixtures.py


def check(fn):
    CHECKS.append(fn)
    return fn


class Fake:
    """The fake binary plus helpers for raw HTTP and the control endpoints."""

    def __init__(self, binary: str, *extra: str):
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--api-key", API_KEY, "--max-upload-bytes", str(UPLOAD_CAP),
             "--today", TODAY, *extra],
            stdout=subprocess.PIPE, text=True,
        )
        self.binary = binary
        line = self.proc.stdout.readline().strip()
        prefix = "listening on "
        if not line.startswith(prefix):
            self.proc.kill()
            raise RuntimeError(f"unexpected first line from the fake: {line!r}")
        self.url = line[len(prefix):]

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def raw(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def control(self, path: str, payload=None):
        body = None if payload is None else json.dumps(payload).encode()
        status, _, data = self.raw("GET" if payload is None else "POST", "/_fake/" + path,
                                   {"content-type": "application/json"}, body)
        assert status == 200, (path, status, data)
        return json.loads(data)

    def faults(self, endpoint: str, *faults):
        self.control("faults", {"endpoint": endpoint, "faults": list(faults)})

    def stats(self):
        return self.control("stats")


def client(fake: Fake, **kw) -> anthropic.Anthropic:
    opts = dict(base_url=fake.url, api_key=API_KEY, _strict_response_validation=True, max_retries=0)
    opts.update(kw)
    return anthropic.Anthropic(**opts)


def error_body(exc: anthropic.APIStatusError) -> dict:
    """The error body, validated as the SDK's ErrorResponse."""
    body = exc.response.json()
    ErrorResponse.model_validate(body)
    assert body["request_id"].startswith("req_"), body
    assert exc.response.headers["request-id"] == body["request_id"]
    return body


def expect_error(cls, fn):
    try:
        fn()
    except cls as e:
        return e
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"expected {cls.__name__}, got {type(e).__name__}: {e}") from e
    raise AssertionError(f"expected {cls.__name__}, got success")


def user(text: str, file_ids=()):
    return {"role": "user", "content": [{"type": "text", "text": text}]
            + [{"type": "container_upload", "file_id": f} for f in file_ids]}


def create(c: anthropic.Anthropic, messages, tool="code_execution_20250825", beta=False, model=MODEL, **kw):
    """messages.create with strict parsing; the raw body is also validated as
    Message and BetaMessage, and kept for validate_fixtures.py."""
    api = c.beta.messages if beta else c.messages
    raw = api.with_raw_response.create(model=model, max_tokens=4096, messages=messages,
                                       tools=[{"type": tool, "name": "code_execution"}], **kw)
    text = raw.text()
    Message.model_validate_json(text)
    BetaMessage.model_validate_json(text)
    CAPTURED.append(text)
    return raw.parse()


def output_ids(msg) -> list[str]:
    ids = []
    for block in msg.content:
        inner = getattr(block, "content", None)
        for out in getattr(inner, "content", None) or []:
            if getattr(out, "file_id", None):
                ids.append(out.file_id)
    return ids


# ---------------------------------------------------------------- Files API

@check
def files_upload_retrieve_list_delete(fake: Fake, ctx: dict):
    c = client(fake)
    raw = c.files.with_raw_response.upload(file=("sales 2026.csv", b"month,revenue\n1,10\n", "text/csv"))
    FileMetadata.model_validate_json(raw.text())
    BetaFileMetadata.model_validate_json(raw.text())
    a = raw.parse()
    assert (a.filename, a.mime_type, a.size_bytes, a.downloadable) == ("sales 2026.csv", "text/csv", 19, False)
    b = c.files.upload(file=("notes.json", b"{}"))  # no part Content-Type given by us
    assert b.filename == "notes.json"
    e = c.files.upload(file=("short.txt", b"x"), expires_in_seconds=3600)
    assert e.expires_at is not None
    assert c.files.retrieve_metadata(a.id) == a
    listed = [f.id for f in c.files.list(limit=2)]  # auto-pagination over page_ cursors
    assert listed == [e.id, b.id, a.id], listed
    by_ids = c.files.list(ids=[a.id, "file_missing", e.id])
    assert sorted(f.id for f in by_ids.data) == sorted([a.id, e.id])
    assert by_ids.next_page is None
    deleted = c.files.with_raw_response.delete(b.id)
    DeletedFile.model_validate_json(deleted.text())
    assert deleted.parse().id == b.id
    expect_error(anthropic.NotFoundError, lambda: c.files.retrieve_metadata(b.id))
    ctx["input_file"] = a.id


@check
def files_legacy_beta_shapes(fake: Fake, ctx: dict):
    status, _, data = fake.raw("GET", "/v1/files?limit=1", {
        "x-api-key": API_KEY, "anthropic-version": "2023-06-01", "anthropic-beta": "files-api-2025-04-14"})
    assert status == 200, data
    body = json.loads(data)
    assert set(body) == {"data", "has_more", "first_id", "last_id"}, body
    for item in body["data"]:
        assert "expires_at" not in item
        BetaFileMetadata.model_validate(item)


# ------------------------------------------------------------ Messages API

@check
def messages_every_tool_version(fake: Fake, ctx: dict):
    c = client(fake)
    for tool in TOOL_VERSIONS:
        msg = create(c, [user(f"Inventory with {tool}", [ctx["input_file"]])], tool=tool)
        assert msg.stop_reason == "end_turn"
        assert msg.container is not None and msg.container.id.startswith("container_")
        outs = output_ids(msg)
        assert len(outs) == 2, outs
        if tool == "code_execution_20250522":
            assert {b.type for b in msg.content} >= {"code_execution_tool_result"}
        else:
            assert {b.type for b in msg.content} >= {"bash_code_execution_tool_result",
                                                     "text_editor_code_execution_tool_result"}
        ctx.setdefault("outputs", outs)
    beta = create(c, [user("beta namespace", [ctx["input_file"]])], beta=True)
    assert beta.stop_reason == "end_turn"


@check
def messages_legacy_encrypted(fake: Fake, ctx: dict):
    msg = create(client(fake), [user("x\n@fake encrypted", [ctx["input_file"]])], tool="code_execution_20250522")
    kinds = [b.content.type for b in msg.content if b.type == "code_execution_tool_result"]
    assert "encrypted_code_execution_result" in kinds, kinds
    assert len(output_ids(msg)) == 2


@check
def download_generated_files(fake: Fake, ctx: dict):
    c = client(fake)
    csv_id, png_id = ctx["outputs"]
    meta = c.files.retrieve_metadata(png_id)
    FileMetadata.model_validate(meta.model_dump())
    assert (meta.filename, meta.mime_type, meta.downloadable) == ("plot.png", "image/png", True)
    png = c.files.download(png_id).read()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) == meta.size_bytes
    csv = c.files.download(csv_id).read().decode()
    assert csv.startswith("name,size,blake3\nsales 2026.csv,19,"), csv


@check
def pause_turn_continuation(fake: Fake, ctx: dict):
    c = client(fake)
    messages = [user("Long job\n@fake pause 2", [ctx["input_file"]])]
    before = fake.stats()["continuations"]
    for _ in range(5):
        msg = create(c, messages, container=ctx.get("pause_container"))
        ctx["pause_container"] = msg.container.id
        if msg.stop_reason != "pause_turn":
            break
        assert msg.content[-1].type == "server_tool_use"
        # the paused response appended unchanged, as the SDK serialises it
        messages = messages + [{"role": "assistant", "content": msg.content}]
    assert msg.stop_reason == "end_turn", msg.stop_reason
    assert fake.stats()["continuations"] - before == 2
    # continuing without the container param works too (resumed in place)
    first = create(c, [user("Again\n@fake pause 1", [ctx["input_file"]])])
    second = create(c, [user("Again\n@fake pause 1", [ctx["input_file"]]),
                        {"role": "assistant", "content": first.content}])
    assert second.stop_reason == "end_turn" and second.container.id == first.container.id


@check
def turn_scoped_directive_in_a_later_turn(fake: Fake, ctx: dict):
    """A second user turn in the same container (a runner's repair turn) whose outputs a
    `@fake turn 2` line of the first turn scripted."""
    c = client(fake)
    first_turn = user("Report\n@fake no-output\n@fake turn 2 output summary.md 30", [ctx["input_file"]])
    first = create(c, [first_turn])
    assert first.stop_reason == "end_turn" and output_ids(first) == []
    second = create(c, [first_turn, {"role": "assistant", "content": first.content},
                        user("These deliverables are missing: `summary.md` (not produced).")],
                    container=first.container.id)
    assert second.stop_reason == "end_turn" and second.container.id == first.container.id
    names = [c.files.retrieve_metadata(i).filename for i in output_ids(second)]
    assert "summary.md" in names, names


@check
def tool_errors_every_subtool_and_code(fake: Fake, ctx: dict):
    c = client(fake)
    for sub, codes in ERROR_CODES.items():
        lines = "\n".join(f"@fake tool-error {sub} {code}" for code in codes)
        msg = create(c, [user(f"errors\n{lines}")])
        seen = [b.content.error_code for b in msg.content
                if b.type.endswith("_tool_result") and b.content.type.endswith("_tool_result_error")]
        assert seen == codes, (sub, seen)
    legacy = create(c, [user("x\n@fake tool-error code_execution unavailable")], tool="code_execution_20250522")
    assert any(b.type == "code_execution_tool_result" and b.content.type == "code_execution_tool_result_error"
               for b in legacy.content)


@check
def every_stop_reason(fake: Fake, ctx: dict):
    c = client(fake)
    for reason in STOP_REASONS:
        for tool in ("code_execution_20250825", "code_execution_20250522"):
            msg = create(c, [user(f"x\n@fake stop {reason}")], tool=tool, stop_sequences=["###"])
            assert msg.stop_reason == reason, (reason, msg.stop_reason)
    refusal = create(c, [user("x\n@fake stop refusal")])
    assert refusal.stop_details is not None and refusal.stop_details.type == "refusal"


@check
def hostile_output_names(fake: Fake, ctx: dict):
    c = client(fake)
    msg = create(c, [user('x\n@fake no-output\n@fake output ../../etc/passwd 10\n@fake output "a\\u0001b" 3')])
    names = [c.files.retrieve_metadata(i).filename for i in output_ids(msg)]
    assert names == ["../../etc/passwd", "a\x01b"], names


@check
def image_directive_makes_a_real_png(fake: Fake, ctx: dict):
    c = client(fake)
    msg = create(c, [user('x\n@fake no-output\n@fake image "\\"><img src=x onerror=alert(1)>.png"')])
    ids = output_ids(msg)
    meta = c.files.retrieve_metadata(ids[0])
    assert meta.filename == '"><img src=x onerror=alert(1)>.png', meta.filename
    assert meta.mime_type == "image/png", meta.mime_type
    body = c.files.download(ids[0]).read()
    assert body.startswith(b"\x89PNG\r\n\x1a\n"), body[:8]


@check
def streaming_events_and_continuation(fake: Fake, ctx: dict):
    from pydantic import TypeAdapter
    events = TypeAdapter(anthropic.types.RawMessageStreamEvent)
    body = json.dumps({"model": MODEL, "max_tokens": 1000, "stream": True,
                       "messages": [user("stream me", [ctx["input_file"]])],
                       "tools": [{"type": "code_execution_20250825", "name": "code_execution"}]}).encode()
    status, headers, data = fake.raw("POST", "/v1/messages", {
        "x-api-key": API_KEY, "anthropic-version": "2026-10-21", "content-type": "application/json"}, body)
    assert status == 200 and headers["content-type"].startswith("text/event-stream"), (status, headers)
    kinds = []
    for chunk in data.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in chunk.splitlines() if ": " in line)
        if fields.get("event") == "ping":  # the SDK skips pings by event name
            continue
        if "data" in fields:
            kinds.append(events.validate_json(fields["data"]).type)
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
    # the SDK's accumulated message is the exact content, so it can continue a pause
    c = client(fake)
    messages = [user("stream pause\n@fake pause 1", [ctx["input_file"]])]
    with c.messages.stream(model=MODEL, max_tokens=1000, messages=messages,
                           tools=[{"type": "code_execution_20250825", "name": "code_execution"}]) as stream:
        paused = stream.get_final_message()
    assert paused.stop_reason == "pause_turn", paused.stop_reason
    Message.model_validate(paused.model_dump())
    final = create(c, messages + [{"role": "assistant", "content": paused.content}])
    assert final.stop_reason == "end_turn" and final.container.id == paused.container.id


# ------------------------------------------------------- the API of 2026-12

@check
def models_list_and_retrieve(fake: Fake, ctx: dict):
    """GET /v1/models (SyncPage over after_id, lifecycle[]) and /v1/models/{id}, every
    ModelInfo strictly parsed (docs/api.md §8.9)."""
    from anthropic.types import ModelInfo
    c = client(fake)
    raw = c.models.with_raw_response.list(limit=2)
    body = json.loads(raw.text())
    assert set(body) == {"data", "has_more", "first_id", "last_id"}, body
    assert body["has_more"] is True and len(body["data"]) == 2, body
    for item in body["data"]:
        ModelInfo.model_validate(item)
        assert set(item["capabilities"]) == set(anthropic.types.ModelCapabilities.model_fields), item
    everything = [m.id for m in c.models.list(limit=3)]  # auto-pagination over after_id
    assert everything[0] == "claude-fable-5-2", everything
    assert "claude-opus-4-5-20251101" in everything and "claude-sonnet-4-5-20250929" not in everything
    retired = [m for m in c.models.list(lifecycle=["retired"], limit=100)]
    assert {m.lifecycle for m in retired} == {"retired"}, retired
    assert "claude-sonnet-4-5-20250929" in [m.id for m in retired]
    haiku = c.models.retrieve("claude-haiku-4-5")
    assert haiku.id == "claude-haiku-4-5-20251001" and haiku.lifecycle == "active", haiku
    assert haiku.capabilities.thinking.types.adaptive.supported is False
    sonnet = c.models.retrieve("claude-sonnet-5-5")
    assert sonnet.line == "sonnet" and sonnet.max_tokens == 128000
    assert sonnet.capabilities.thinking.types.between_tools.supported is True
    assert sonnet.capabilities.server_tools.code_execution.supported is True
    opus45 = c.models.retrieve("claude-opus-4-5")
    assert opus45.lifecycle == "deprecated" and opus45.retires_at.year == 2027, opus45
    e = expect_error(anthropic.NotFoundError, lambda: c.models.retrieve("claude-nope-1"))
    assert error_body(e)["error"]["message"] == "model: claude-nope-1"


@check
def retired_model_is_404_on_messages(fake: Fake, ctx: dict):
    c = client(fake)
    e = expect_error(anthropic.NotFoundError,
                     lambda: create(c, [user("x")], model="claude-sonnet-4-5-20250929"))
    assert error_body(e)["error"] == {"type": "not_found_error", "message": "model: claude-sonnet-4-5-20250929"}


@check
def thinking_blocks_on_the_5_5_models(fake: Fake, ctx: dict):
    """Sonnet 5.5: signed empty thinking blocks first and for the narration, the new usage
    fields; a pause_turn continuation and a follow-up sent back as the SDK serialises them
    pass the prefix check; a changed system prompt does not (docs/api.md §8.11)."""
    from anthropic.types import ThinkingBlock
    c = client(fake)
    model = "claude-sonnet-5-5"
    messages = [user("Think first\n@fake pause 1", [ctx["input_file"]])]
    paused = create(c, messages, model=model, system="You analyse data.")
    assert isinstance(paused.content[0], ThinkingBlock) and paused.content[0].thinking == "", paused.content[0]
    assert paused.content[1].type == "thinking" and paused.content[0].signature
    messages = messages + [{"role": "assistant", "content": paused.content}]
    done = create(c, messages, model=model, system="You analyse data.")
    assert done.stop_reason == "end_turn", done.stop_reason
    assert done.content[-1].type == "text" and sum(b.type == "text" for b in done.content) == 1
    u = done.usage
    assert u.output_tokens_details is not None and 0 < u.output_tokens_details.thinking_tokens <= u.output_tokens, u
    assert (u.speed, u.service_tier, u.inference_geo) == ("standard", "standard", "global"), u
    follow = messages + [{"role": "assistant", "content": done.content}, user("And the median?")]
    again = create(c, follow, model=model, system="You analyse data.",
                   thinking={"type": "adaptive", "display": "summarized"})
    assert again.content[0].thinking, again.content[0]
    e = expect_error(anthropic.BadRequestError,
                     lambda: create(c, follow, model=model, system="You analyse data. It is Monday."))
    assert error_body(e)["error"]["message"].startswith("messages.1.content.0: Invalid `signature` in `thinking` block."), e
    e = expect_error(anthropic.BadRequestError,
                     lambda: create(c, [user("x")], model="claude-opus-5-5", thinking={"type": "disabled"}))
    assert "thinking.type.disabled" in error_body(e)["error"]["message"]


@check
def streamed_thinking_continues_a_pause(fake: Fake, ctx: dict):
    """The SDK's accumulated stream (thinking_delta + signature_delta) is the signed
    content: sending it back continues the paused turn."""
    c = client(fake)
    model = "claude-opus-5-5"
    tools = [{"type": "code_execution_20260521", "name": "code_execution"}]
    messages = [user("stream pause\n@fake pause 1", [ctx["input_file"]])]
    with c.messages.stream(model=model, max_tokens=1000, messages=messages, tools=tools,
                           thinking={"type": "adaptive", "display": "summarized"}) as stream:
        paused = stream.get_final_message()
    assert paused.stop_reason == "pause_turn" and paused.content[0].type == "thinking", paused.content[0]
    assert paused.content[0].thinking and len(paused.content[0].signature) == 64
    Message.model_validate(paused.model_dump())
    final = c.messages.create(model=model, max_tokens=1000, tools=tools,
                              thinking={"type": "adaptive", "display": "summarized"},
                              messages=messages + [{"role": "assistant", "content": paused.content}])
    assert final.stop_reason == "end_turn", final.stop_reason


@check
def usage_above_max_tokens(fake: Fake, ctx: dict):
    msg = create(client(fake), [user("big\n@fake usage input=120000 output=40000")], model="claude-haiku-5-5")
    assert msg.usage.output_tokens == 40000 > 4096 and msg.usage.input_tokens == 120000, msg.usage
    ledger = fake.control("ledger")
    assert ledger["entries"][-1]["tier"] is True, ledger["entries"][-1]


@check
def count_tokens_refuses_file_sources(fake: Fake, ctx: dict):
    c = client(fake)
    e = expect_error(anthropic.BadRequestError, lambda: c.messages.count_tokens(
        model="claude-sonnet-5-5", messages=[user("count", [ctx["input_file"]])]))
    assert error_body(e)["error"]["message"] == "File sources are not supported in the token counting endpoint."


@check
def errors_of_2026(fake: Fake, ctx: dict):
    """storage_not_ready (503), ramp_limit_exceeded (429 + retry-after) and
    contract_spend_limit_reached (429) raise the SDK's own classes (docs/api.md §8.15)."""
    c = client(fake)
    fake.faults("messages", {"kind": "storage_not_ready"}, {"kind": "ramp_limit_exceeded", "retry_after": 2},
                {"kind": "contract_spend_limit"})
    e = expect_error(anthropic.StorageNotReadyError, lambda: create(c, [user("x")]))
    assert e.status_code == 503 and e.error_code == "storage_not_ready" and error_body(e)
    e = expect_error(anthropic.RampLimitExceededError, lambda: create(c, [user("x")]))
    assert e.response.headers["retry-after"] == "2" and error_body(e)
    e = expect_error(anthropic.ContractSpendLimitReachedError, lambda: create(c, [user("x")]))
    assert "retry-after" not in e.response.headers and error_body(e)
    e = expect_error(anthropic.StorageNotReadyError,
                     lambda: create(c, [user("x\n@fake fail 503 api_error storage_not_ready")]))
    error_body(e)


@check
def captured_bodies_match_openapi_spec(fake: Fake, ctx: dict):
    components = json.loads(SPEC.read_text())["components"]
    validator = Draft202012Validator({"$ref": "#/components/schemas/Message", "components": components})
    checked = 0
    for text in CAPTURED:
        body = json.loads(text)
        # The 2026-05 spec predates this GA stop reason (docs/api.md §7).
        if body["stop_reason"] == "model_context_window_exceeded":
            continue
        errors = [f"{list(e.path)}: {e.message[:200]}" for e in validator.iter_errors(body)]
        assert not errors, errors[:5]
        checked += 1
    assert checked > 10, checked


# ------------------------------------------------------------------ errors

@check
def error_401(fake: Fake, ctx: dict):
    e = expect_error(anthropic.AuthenticationError,
                     lambda: client(fake, api_key="wrong").files.list())
    assert error_body(e)["error"]["type"] == "authentication_error"
    status, _, data = fake.raw("GET", "/v1/files", {"anthropic-version": "2023-06-01"})
    assert status == 401
    ErrorResponse.model_validate_json(data)


@check
def error_400_invalid_request(fake: Fake, ctx: dict):
    c = client(fake)
    for tool in ["code_execution_20260104", "code_execution"]:
        e = expect_error(anthropic.BadRequestError, lambda tool=tool: create(c, [user("x")], tool=tool))
        assert error_body(e)["error"]["type"] == "invalid_request_error"
    # API version 2026-10-21 (the SDK's default; its create() no longer has the
    # parameter) rejects temperature
    e = expect_error(anthropic.BadRequestError, lambda: create(c, [user("x")], extra_body={"temperature": 0.2}))
    error_body(e)
    e = expect_error(anthropic.BadRequestError, lambda: create(c, [user("x\n@fake typo")]))
    assert "typo" in error_body(e)["error"]["message"]
    status, _, data = fake.raw("GET", "/v1/files", {"x-api-key": API_KEY, "anthropic-version": "2023-06-01",
                                                    "anthropic-beta": "no-such-beta-2030-01-01"})
    assert status == 400
    ErrorResponse.model_validate_json(data)


@check
def error_404(fake: Fake, ctx: dict):
    c = client(fake)
    e = expect_error(anthropic.NotFoundError, lambda: c.files.retrieve_metadata("file_nope"))
    assert error_body(e)["error"]["type"] == "not_found_error"
    e = expect_error(anthropic.NotFoundError, lambda: create(c, [user("x", ["file_nope"])]))
    error_body(e)
    status, _, data = fake.raw("GET", "/v1/nowhere", {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"})
    assert status == 404
    ErrorResponse.model_validate_json(data)


@check
def error_400_file_not_downloadable(fake: Fake, ctx: dict):
    e = expect_error(anthropic.types.FileNotDownloadableError,
                     lambda: client(fake).files.download(ctx["input_file"]))
    assert error_body(e)["error"]["details"]["error_code"] == "file_not_downloadable"


@check
def error_404_file_expired(fake: Fake, ctx: dict):
    c = client(fake)
    victim = ctx["outputs"][0]
    fake.control("expire_file", {"file_id": victim})
    e = expect_error(anthropic.types.FileExpiredError, lambda: c.files.download(victim))
    assert error_body(e)["error"]["details"]["error_code"] == "file_expired"
    assert c.files.retrieve_metadata(victim).expires_at is not None
    # container_upload of an expired file fails before inference
    e = expect_error(anthropic.types.FileExpiredError, lambda: create(c, [user("x", [victim])]))
    error_body(e)


@check
def error_400_expired_container(fake: Fake, ctx: dict):
    c = client(fake)
    container = ctx["pause_container"]
    fake.control("expire_container", {"container_id": container})
    e = expect_error(anthropic.BadRequestError, lambda: create(c, [user("x")], container=container))
    error_body(e)


@check
def prompt_caching_usage_parts(fake: Fake, ctx: dict):
    """Top-level automatic caching (REFERENCE §10.8): the first request writes, its
    continuation reads what it wrote; usage splits writes by TTL."""
    c = client(fake)
    messages = [user("Cached job\n@fake pause 1")]
    first = create(c, messages, extra_body={"cache_control": {"type": "ephemeral"}})
    u = first.usage
    assert u.cache_read_input_tokens == 0, u
    assert u.cache_creation_input_tokens > 0 and u.input_tokens == 0, u
    assert u.cache_creation.ephemeral_5m_input_tokens == u.cache_creation_input_tokens, u
    assert u.cache_creation.ephemeral_1h_input_tokens == 0, u
    messages = messages + [{"role": "assistant", "content": first.content}]
    second = create(c, messages, container=first.container.id,
                    extra_body={"cache_control": {"type": "ephemeral", "ttl": "1h"}})
    u2 = second.usage
    assert u2.cache_read_input_tokens > 0, u2
    assert u2.cache_creation.ephemeral_1h_input_tokens == u2.cache_creation_input_tokens > 0, u2
    uncached = create(c, [user("Not cached")])
    assert uncached.usage.cache_creation_input_tokens == 0 and uncached.usage.input_tokens > 0
    e = expect_error(anthropic.BadRequestError,
                     lambda: create(c, [user("x")], extra_body={"cache_control": {"type": "forever"}}))
    assert error_body(e)["error"]["type"] == "invalid_request_error"


@check
def count_tokens_endpoint(fake: Fake, ctx: dict):
    from anthropic.types import MessageTokensCount
    c = client(fake)
    raw = c.messages.with_raw_response.count_tokens(
        model=MODEL, messages=[user("How many tokens?")], system="Be brief.",
        tools=[{"type": "code_execution_20250825", "name": "code_execution"}])
    MessageTokensCount.model_validate_json(raw.text())
    assert raw.parse().input_tokens > 0
    assert fake.stats()["count_tokens"] >= 1


@check
def token_limits_headers_and_429(fake: Fake, ctx: dict):
    """A fake with input/output token limits: every Messages answer carries the
    `anthropic-ratelimit-{input,output}-tokens-*` headers; over the input limit, a 429."""
    limited = Fake(fake.binary, "--input-tpm", "1000", "--output-tpm", "100000", "--token-window-ms", "60000")
    try:
        c = client(limited)
        raw = c.messages.with_raw_response.create(
            model=MODEL, max_tokens=1024, messages=[user("First")],
            tools=[{"type": "code_execution_20250825", "name": "code_execution"}])
        Message.model_validate_json(raw.text())
        h = raw.headers
        assert h["anthropic-ratelimit-input-tokens-limit"] == "1000", dict(h)
        assert 0 <= int(h["anthropic-ratelimit-input-tokens-remaining"]) < 1000, dict(h)
        assert h["anthropic-ratelimit-output-tokens-limit"] == "100000", dict(h)
        for name in ("input", "output"):
            reset = h[f"anthropic-ratelimit-{name}-tokens-reset"]
            assert reset.endswith("Z") and "T" in reset, reset
        e = expect_error(anthropic.RateLimitError, lambda: create(c, [user("Second " + "x" * 4000)]))
        assert error_body(e)["error"]["type"] == "rate_limit_error"
        assert float(e.response.headers["retry-after"]) > 0
        assert "anthropic-ratelimit-input-tokens-remaining" in e.response.headers
        assert limited.stats()["token_limited"] == 1
    finally:
        limited.close()


@check
def error_429_rate_limit(fake: Fake, ctx: dict):
    fake.faults("messages", {"kind": "rate_limited", "retry_after": 2})
    e = expect_error(anthropic.RateLimitError, lambda: create(client(fake), [user("x")]))
    assert error_body(e)["error"]["type"] == "rate_limit_error"
    assert e.response.headers["retry-after"] == "2"
    assert e.response.headers["retry-after-ms"] == "2000"


@check
def error_429_spend_cap(fake: Fake, ctx: dict):
    fake.faults("messages", {"kind": "spend_cap"})
    e = expect_error(anthropic.EnforcedSpendLimitReachedError, lambda: create(client(fake), [user("x")]))
    error_body(e)
    assert "retry-after" not in e.response.headers


@check
def error_529_overloaded(fake: Fake, ctx: dict):
    fake.faults("messages", {"kind": "status", "status": 529})
    e = expect_error(anthropic.OverloadedError, lambda: create(client(fake), [user("x")]))
    assert error_body(e)["error"]["type"] == "overloaded_error"


@check
def error_500_api_error(fake: Fake, ctx: dict):
    fake.faults("list_files", {"kind": "status", "status": 500})
    e = expect_error(anthropic.InternalServerError, lambda: client(fake).files.list())
    assert error_body(e)["error"]["type"] == "api_error"


@check
def error_413_upload_too_large(fake: Fake, ctx: dict):
    e = expect_error(anthropic.ContentTooLargeError,
                     lambda: client(fake).files.upload(file=("big.bin", b"\0" * (UPLOAD_CAP + 1))))
    body = e.response.json()
    # docs/api.md §4.2: 413 is `request_too_large`, a type the SDK's ErrorObject
    # union does not list; everything else about the body is the docs/api.md §4.1 shape.
    assert body["error"]["type"] == "request_too_large", body
    ErrorResponse.model_validate({**body, "error": {**body["error"], "type": "invalid_request_error"}})


@check
def sdk_retries_and_dropped_connections(fake: Fake, ctx: dict):
    before = fake.stats()["retries_seen"]
    fake.faults("messages", {"kind": "status", "status": 529}, {"kind": "rate_limited", "retry_after": 0.05})
    msg = create(client(fake, max_retries=2), [user("retry me")])
    assert msg.stop_reason == "end_turn"
    assert fake.stats()["retries_seen"] - before == 2
    fake.faults("list_files", {"kind": "drop_connection"})
    expect_error(anthropic.APIConnectionError, lambda: client(fake).files.list())


@check
def message_batches_lifecycle_and_results(fake: Fake, ctx: dict):
    """Batches: create → retrieve → list → JSONL results (every result type) at the
    absolute results_url → delete; cancel of a delayed batch; all strictly parsed."""
    from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse
    import time
    c = client(fake)
    params = lambda text, files=(): dict(  # noqa: E731
        model=MODEL, max_tokens=4096, messages=[user(text, files)],
        tools=[{"type": "code_execution_20250825", "name": "code_execution"}])
    before = fake.stats()["requests"].get("messages", 0)
    batch = c.messages.batches.create(requests=[
        {"custom_id": "ok-1", "params": params("Sum it", [ctx["input_file"]])},
        {"custom_id": "paused-2", "params": params("Long\n@fake pause 1")},
        {"custom_id": "errored-3", "params": params("x\n@fake batch errored overloaded_error")},
        {"custom_id": "invalid-4", "params": params("x\n@fake fail 400 invalid_request_error")},
        {"custom_id": "expired-5", "params": params("x\n@fake batch expired")},
    ])
    MessageBatch.model_validate(batch.model_dump())
    assert batch.id.startswith("msgbatch_") and batch.processing_status in ("in_progress", "ended")
    for _ in range(200):
        batch = c.messages.batches.retrieve(batch.id)
        if batch.processing_status == "ended":
            break
        time.sleep(0.05)
    assert batch.processing_status == "ended", batch
    assert batch.results_url.startswith(fake.url + "/"), batch.results_url
    counts = batch.request_counts
    assert (counts.succeeded, counts.errored, counts.expired, counts.processing) == (2, 2, 1, 0), counts
    results = {r.custom_id: r for r in c.messages.batches.results(batch.id)}
    assert set(results) == {"ok-1", "paused-2", "errored-3", "invalid-4", "expired-5"}
    for r in results.values():
        MessageBatchIndividualResponse.model_validate(r.model_dump())
    ok = results["ok-1"].result.message
    assert ok.usage.service_tier == "batch" and output_ids(ok), ok.usage
    assert results["paused-2"].result.message.stop_reason == "pause_turn"
    assert results["errored-3"].result.error.error.type == "overloaded_error"
    assert results["invalid-4"].result.error.error.type == "invalid_request_error"
    assert results["expired-5"].result.type == "expired"
    # batch items never reach the online endpoint
    assert fake.stats()["requests"].get("messages", 0) == before
    page = c.messages.batches.list(limit=1)
    assert page.data and page.data[0].id == batch.id
    deleted = c.messages.batches.delete(batch.id)
    assert deleted.type == "message_batch_deleted"
    fake.control("batch_delay", {"ms": 60000})
    slow = c.messages.batches.create(requests=[{"custom_id": "a", "params": params("x")}])
    canceled = c.messages.batches.cancel(slow.id)
    assert canceled.cancel_initiated_at is not None
    fake.control("batch_delay", {"ms": 0})
    results = list(c.messages.batches.results(slow.id))
    assert [r.result.type for r in results] == ["canceled"], results
    assert len(fake.control("batch_items")) == 6


# ------------------------------------------------------------------ Skills

SKILL_MD = b"---\nname: house-style\ndescription: Our chart colours and fonts.\n---\nUse navy.\n"


def skill_files(md: bytes = SKILL_MD):
    return [("house-style/SKILL.md", md, "text/markdown"), ("house-style/colours.py", b"NAVY = 1\n")]


@check
def skills_create_version_list_retrieve_delete(fake: Fake, ctx: dict):
    """The Skills API in GA shapes (docs/api.md §8.16): Skill, SkillVersion, the cursor
    pages, DeletedSkill, DeletedSkillVersion; the SDK sends `files[]` parts."""
    from anthropic.pagination import SyncPageCursor
    from anthropic.types import DeletedSkill, Skill
    from anthropic.types.skills import DeletedSkillVersion, SkillVersion
    c = client(fake)
    raw = c.skills.with_raw_response.create(files=skill_files(), display_name="House style")
    Skill.model_validate_json(raw.text())
    skill = raw.parse()
    assert skill.source.type == "custom" and skill.display_name == "House style", skill
    assert skill.id.startswith("skill_") and skill.latest_version_id.startswith("skver_"), skill
    raw = c.skills.versions.with_raw_response.create(skill.id, files=skill_files(SKILL_MD + b"More.\n"))
    SkillVersion.model_validate_json(raw.text())
    version = raw.parse()
    assert (version.skill_id, version.name) == (skill.id, "house-style"), version
    assert c.skills.retrieve(skill.id).latest_version_id == version.id
    assert c.skills.versions.retrieve("latest", skill_id=skill.id) == version
    status, _, data = fake.raw("GET", "/v1/skills?limit=2", {"x-api-key": API_KEY, "anthropic-version": "2026-10-21"})
    assert status == 200, data
    SyncPageCursor[Skill].model_validate_json(data)
    listed = [s.id for s in c.skills.list(limit=2)]  # auto-pagination over page_ cursors
    assert listed == [skill.id, "xlsx", "pptx", "docx", "pdf"], listed
    assert [s.id for s in c.skills.list(source="anthropic")] == ["xlsx", "pptx", "docx", "pdf"]
    for s in c.skills.list(source="anthropic"):
        Skill.model_validate(s.model_dump())
        assert s.source.type == "anthropic"
    versions = [v.id for v in c.skills.versions.list(skill.id, limit=1)]
    assert versions == [version.id, skill.latest_version_id], versions
    raw = c.skills.versions.with_raw_response.delete(skill.latest_version_id, skill_id=skill.id)
    DeletedSkillVersion.model_validate_json(raw.text())
    assert raw.parse().type == "skill_version_deleted"
    e = expect_error(anthropic.BadRequestError,
                     lambda: c.skills.create(files=[("bad/SKILL.md", b"---\nname: Claude\ndescription: x\n---\n")]))
    assert "lowercase" in error_body(e)["error"]["message"]
    raw = c.skills.with_raw_response.delete(skill.id)
    DeletedSkill.model_validate_json(raw.text())
    assert raw.parse().type == "skill_deleted"
    expect_error(anthropic.NotFoundError, lambda: c.skills.retrieve(skill.id))
    stats = fake.stats()
    assert (stats["skills_created"], stats["skill_versions_created"], stats["skills_deleted"]) == (1, 1, 1), stats
    fake.faults("skill_create", {"kind": "cmek_context_unavailable"})
    e = expect_error(anthropic.CMEKContextUnavailableError, lambda: c.skills.create(files=skill_files()))
    assert e.status_code == 503 and error_body(e)


@check
def messages_with_container_skills(fake: Fake, ctx: dict):
    """A Message whose `container.skills` is set (versions resolved), office files as
    generated files, the same list on a follow-up, the 400 without the same list, a
    blocked skill's 409, and skills in batch items (docs/api.md §8.16)."""
    from anthropic.types import (ContainerSkill, SkillReadBlockedUndecryptableError,
                                 SkillReadBlockedUndecryptableErrorDetails)
    from anthropic.types.messages import MessageBatchIndividualResponse
    import time
    c = client(fake)
    skill = c.skills.create(files=skill_files())
    skills = [{"type": "anthropic", "skill_id": "xlsx", "version": "latest"},
              {"type": "anthropic", "skill_id": "pptx", "version": "20251013"},
              {"type": "custom", "skill_id": skill.id, "version": "latest"}]
    first = [user("Build the deck", [ctx["input_file"]])]
    msg = create(c, first, container={"skills": skills})
    for s in msg.container.skills:
        ContainerSkill.model_validate(s.model_dump())
    resolved = [(s.type, s.skill_id, s.version) for s in msg.container.skills]
    assert resolved == [("anthropic", "xlsx", "20261104"), ("anthropic", "pptx", "20251013"),
                        ("custom", skill.id, skill.latest_version_id)], resolved
    names = sorted(c.files.retrieve_metadata(i).filename for i in output_ids(msg))
    assert names == ["deck.pptx", "inventory.csv", "plot.png", "workbook.xlsx"], names
    follow = first + [{"role": "assistant", "content": msg.content}, user("Now the summary.")]
    again = create(c, follow, container={"id": msg.container.id, "skills": skills})
    assert again.container.id == msg.container.id and again.container.skills == msg.container.skills
    e = expect_error(anthropic.BadRequestError, lambda: create(c, follow, container=msg.container.id))
    assert "cannot change" in error_body(e)["error"]["message"]
    e = expect_error(anthropic.BadRequestError, lambda: c.messages.create(
        model=MODEL, max_tokens=100, messages=[user("x")], container={"skills": skills[:1]}))
    assert "code execution tool" in error_body(e)["error"]["message"]
    plain = create(c, [user("no skills")])
    assert plain.container.skills is None
    fake.control("block_skill", {"skill_id": skill.id})
    e = expect_error(SkillReadBlockedUndecryptableError,
                     lambda: create(c, [user("x")], container={"skills": skills[2:]}))
    assert e.status_code == 409 and e.error_code == "skill_read_blocked_undecryptable", e
    body = e.response.json()
    # `conflict_error` is in the SDK's ErrorType but not in its ErrorObject union (like 413's
    # `request_too_large`); the rest is the docs/api.md §4.1 shape, the details the SDK's.
    assert body["error"]["type"] == "conflict_error", body
    ErrorResponse.model_validate({**body, "error": {**body["error"], "type": "invalid_request_error"}})
    SkillReadBlockedUndecryptableErrorDetails.model_validate(body["error"]["details"])
    fake.control("block_skill", {"skill_id": skill.id, "blocked": False})
    params = dict(model=MODEL, max_tokens=4096, messages=[user("Batch deck")], container={"skills": skills[:1]},
                  tools=[{"type": "code_execution_20250825", "name": "code_execution"}])
    for refused in (False, True):
        fake.control("skills_in_batches_refused", {"on": refused})
        batch = c.messages.batches.create(requests=[{"custom_id": "s", "params": params}])
        for _ in range(200):
            if c.messages.batches.retrieve(batch.id).processing_status == "ended":
                break
            time.sleep(0.05)
        [r] = list(c.messages.batches.results(batch.id))
        MessageBatchIndividualResponse.model_validate(r.model_dump())
        if refused:
            assert r.result.type == "errored" and r.result.error.error.type == "invalid_request_error", r
            assert "not supported in Message Batches" in r.result.error.error.message
        else:
            assert r.result.type == "succeeded" and r.result.message.container.skills[0].version == "20261104", r
    fake.control("skills_in_batches_refused", {"on": False})
    carried = fake.stats()["skills_carried"]
    assert carried[-1]["batch"] and carried[-1]["skills"] == skills[:1], carried[-1]
    components = json.loads(SPEC.read_text())["components"]
    validator = Draft202012Validator({"$ref": "#/components/schemas/Message", "components": components})
    for m in (msg, again):
        errors = [e.message[:200] for e in validator.iter_errors(json.loads(m.to_json()))]
        assert not errors, errors[:5]


@check
def captured_bodies_pass_validate_fixtures(fake: Fake, ctx: dict):
    assert CAPTURED, "no Messages bodies captured"
    with tempfile.TemporaryDirectory() as tmp:
        args = []
        for i, body in enumerate(CAPTURED[:: max(1, len(CAPTURED) // 12)]):
            path = Path(tmp) / f"message_{i}.json"
            path.write_text(body)
            args += [f"{path}:anthropic.types.Message", f"{path}:anthropic.types.beta.BetaMessage"]
        run = subprocess.run([sys.executable, str(VALIDATOR), *args], capture_output=True, text=True)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    fake = Fake(argv[1])
    passed = failed = 0
    ctx: dict = {}
    try:
        for fn in CHECKS:
            try:
                fn(fake, ctx)
                passed += 1
                print(f"ok   {fn.__name__}")
            except Exception:  # noqa: BLE001
                failed += 1
                print(f"FAIL {fn.__name__}\n{traceback.format_exc()}")
    finally:
        fake.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
