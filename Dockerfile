# syntax=docker/dockerfile:1
# Pins a frontend with RUN --mount cache mounts (BuildKit, the default builder).

FROM rust:1.95-bookworm AS builder
# josekit links the system OpenSSL. Unpinned on purpose: Debian drops superseded
# versions from its archive, so pins would break rebuilds and block security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Compiled into the binary: migrations (sqlx::migrate!), templates (askama) and the
# stylesheet (include_str!), so the runtime image needs none of these folders.
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
# Cache the registry and target dir across builds; the cached target/ is not part of
# the layer, so the binary is copied out of it.
# `--build-arg FEATURES=otlp` adds OpenTelemetry trace export (docs/operations.md).
ARG FEATURES=""
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/app/target,sharing=locked \
    cargo build --release --locked --features "$FEATURES" \
 && cp target/release/munjigi /usr/local/bin/munjigi

FROM debian:bookworm-slim
# libssl3 for josekit, which has no other backend; vendoring it would only move OpenSSL into
# the binary and out of reach of the base image's security updates (docs/decisions.md).
# ca-certificates for outbound TLS (upstream providers, back-channel logout). The health
# check is the binary's own `munjigi healthcheck`: no curl.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/*
# Fixed uid/gid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 munjigi \
 && useradd --system --uid 10001 --gid munjigi --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin munjigi \
 && mkdir -p /app/data /app/keys \
 && chown -R munjigi:munjigi /app \
 && chmod 0700 /app/keys
# Relative defaults (data/ for SQLite, keys/kek for a generated development KEK) resolve
# against /app.
WORKDIR /app
COPY --from=builder /usr/local/bin/munjigi /usr/local/bin/munjigi
ENV MUNJIGI_BIND=0.0.0.0:8080
EXPOSE 8080
# The SQLite file and a generated KEK must outlive the container. With PostgreSQL and
# MUNJIGI_KEK set (compose.yaml) both stay empty. Losing keys/kek loses every signing key.
VOLUME ["/app/data", "/app/keys"]
# Readiness: /readyz answers 503 while the database is unreachable. The probe reads the
# bind address from the same configuration as the server (MUNJIGI_BIND, MUNJIGI_CONFIG).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["munjigi", "healthcheck"]
# Numeric (= munjigi) so Kubernetes runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
ENTRYPOINT ["munjigi"]
CMD ["serve"]
