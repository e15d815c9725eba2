# ringup container image: built from source in a Rust stage, run from a slim Debian stage as a
# non-root user with the data directory as a volume.
#   docker build -t ringup .            (or: podman build -t ringup .)
#   docker run -p 8080:8080 -v ringup-data:/var/lib/ringup -e RINGUP_ADMIN_PASSWORD=… ringup
# compose.yaml runs it with PostgreSQL and Redis for a chain.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p ringup \
 && install -m 0755 target/release/ringup /usr/local/bin/ringup

FROM debian:bookworm-slim
# curl only for the health check; ca-certificates for SMTP over TLS and OTLP over HTTPS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/ringup --shell /usr/sbin/nologin ringup \
 && install -d -m 0700 -o ringup -g ringup /var/lib/ringup
COPY --from=build /usr/local/bin/ringup /usr/local/bin/ringup
ENV RINGUP_DATA_DIR=/var/lib/ringup \
    RINGUP_BIND=0.0.0.0:8080 \
    RINGUP_LOG_FORMAT=json
VOLUME ["/var/lib/ringup"]
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/readyz >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/ringup"]
CMD ["serve"]
