# syntax=docker/dockerfile:1
#
# Casefile as one static binary on distroless: no shell, no libc, no package
# manager, running as an unprivileged numeric user.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t casefile .
#   docker run -p 8080:8080 -v casefile-data:/data -e CASEFILE_ADMIN_PASSWORD=... casefile
#
# Health: the image has no HTTP client and casefile has no health
# subcommand, so there is no HEALTHCHECK. Probe over HTTP from the
# orchestrator instead: GET /healthz (liveness: the process answers) and
# GET /readyz (readiness: store reachable and search index caught up; 503
# until then). compose.yaml has the proxy do it.

# go.mod asks for Go 1.26.8 or later, and the golang images set
# GOTOOLCHAIN=local, so an older 1.26 image refuses to build: pull again.
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# The modules first: a change to the source keeps this layer and the cache.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
# CGO_ENABLED=0 keeps the embedded store: FerretDB's SQLite backend is
# modernc.org/sqlite, SQLite translated to Go, so the static binary holds
# it (checked: this build serves on the embedded store as uid 65532).
# rootfs/data becomes /data, owned by the runtime user, so that a named
# volume mounted there starts with that owner.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/rootfs/usr/local/bin/casefile ./cmd/casefile \
 && mkdir -p /out/rootfs/data \
 && chmod 0700 /out/rootfs/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build --chown=65532:65532 /out/rootfs/ /
# distroless "nonroot" is 65532; numeric, so that runAsNonRoot can check it.
USER 65532:65532
# Listen on every interface inside the container (the default is loopback),
# keep the data (embedded store, search index, generated JWT key) in /data.
ENV CASEFILE_ADDR=:8080 \
    CASEFILE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
# SIGTERM drains requests for CASEFILE_SHUTDOWN_TIMEOUT (20s by default):
# give the container longer than that to stop (docker stop -t 30,
# stop_grace_period, terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/casefile"]
CMD ["serve"]
