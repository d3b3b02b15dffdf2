# Builds the driver image: a static binary on a distroless base, non-root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY grpcapi/ grpcapi/
COPY reconcile/ reconcile/
COPY s3admin/ s3admin/
COPY store/ store/
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/cosi-seaweedfs ./cmd/cosi-seaweedfs

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/cosi-seaweedfs /cosi-seaweedfs
USER 65532:65532
ENTRYPOINT ["/cosi-seaweedfs"]
