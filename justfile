# The developer front door. `just --list` shows the recipes; `just ci` runs what CI runs.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Build the runner and the fake API (debug).
build:
    cargo build --workspace

# Run every test (the README's test command).
test:
    cargo test --workspace

# Lints as CI has them: rustfmt check and clippy with warnings as errors.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# Run every example in jobs/ against the bundled fake API; output in out/demo.
demo *MANIFESTS:
    cargo run -p runner-demo -- {{MANIFESTS}}

# Serve the fake API on a port for manual runs (ANTHROPIC_BASE_URL=http://127.0.0.1:PORT).
fake port="8787":
    cargo run -p fake-anthropic -- --port {{port}}

# Check the fake API's responses with the official Python SDK's models.
fidelity:
    bash .ci/fidelity

# Everything CI runs.
ci:
    bash .ci/run

# Benchmarks against the ideal schedule and the Python SDK (BENCHMARKS.md); e.g. `just bench --quick 1 3`.
bench *ARGS:
    bash bench/bench.sh {{ARGS}}
