# Builds the driver image: a static binary on a distroless base, non-root.
# Multi-arch: the build stage runs on the builder's platform and cross-compiles
# for TARGETOS/TARGETARCH (docker buildx build --platform linux/amd64,linux/arm64).
# `make image` passes VERSION and REVISION.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
# Every package the binary imports; test/image checks this list
# against `go list -deps ./cmd/cosi-seaweedfs`.
COPY bucketclass/ bucketclass/
COPY cmd/ cmd/
COPY crashpoint/ crashpoint/
COPY grpcapi/ grpcapi/
COPY health/ health/
COPY metrics/ metrics/
COPY names/ names/
COPY objectevents/ objectevents/
COPY reconcile/ reconcile/
COPY s3admin/ s3admin/
COPY store/ store/
COPY version/ version/
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
    -ldflags="-s -w -X github.com/cosi-seaweedfs/cosi-seaweedfs/version.Version=${VERSION}" \
    -o /out/cosi-seaweedfs ./cmd/cosi-seaweedfs

FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="cosi-seaweedfs" \
      org.opencontainers.image.description="COSI driver for SeaweedFS: buckets and S3 users for Kubernetes BucketClaims and BucketAccesses" \
      org.opencontainers.image.source="https://github.com/cosi-seaweedfs/cosi-seaweedfs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/cosi-seaweedfs /cosi-seaweedfs
USER 65532:65532
ENTRYPOINT ["/cosi-seaweedfs"]
