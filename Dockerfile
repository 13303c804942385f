# Build and run steps are the ones .ci/run executes on every change.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p room-chats

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/room-chats --create-home room-chats
COPY --from=build /src/target/release/room-chats /usr/local/bin/room-chats
USER room-chats
WORKDIR /var/lib/room-chats
ENV BIND=0.0.0.0:8000 DATA_DIR=/var/lib/room-chats/data LOG_FORMAT=json
EXPOSE 8000
# The image has no curl: the binary asks its own /healthz (alive; `--ready` for /readyz).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["room-chats", "healthcheck"]
ENTRYPOINT ["room-chats"]
CMD ["serve"]
