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
# Migrations are embedded at compile time by sqlx::migrate!, templates by askama.
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
# Cache the registry and target dir across builds; the cached target/ is not part of
# the layer, so the binary is copied out of it.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/app/target,sharing=locked \
    cargo build --release --locked \
 && cp target/release/munjigi /usr/local/bin/munjigi

FROM debian:bookworm-slim
# libssl3 for josekit; ca-certificates for outbound TLS; curl only for HEALTHCHECK.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
 && rm -rf /var/lib/apt/lists/*
# Fixed uid/gid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 munjigi \
 && useradd --system --uid 10001 --gid munjigi --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin munjigi \
 && mkdir -p /app/data /app/keys \
 && chown -R munjigi:munjigi /app \
 && chmod 0700 /app/keys
# Relative defaults (data/, keys/kek, static/) resolve against /app.
WORKDIR /app
COPY --from=builder /usr/local/bin/munjigi /usr/local/bin/munjigi
# Root-owned so the service cannot modify what it serves.
COPY static ./static
COPY templates ./templates
ENV MUNJIGI_BIND=0.0.0.0:8080
EXPOSE 8080
# /readyz answers 503 while the database is unreachable, so it reflects real readiness.
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD ["curl", "--fail", "--silent", "--show-error", "--output", "/dev/null", "http://127.0.0.1:8080/readyz"]
# Numeric (= munjigi) so Kubernetes runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
ENTRYPOINT ["munjigi"]
CMD ["serve"]
