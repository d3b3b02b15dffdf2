package dockerfile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = `# comment
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG VERSION=dev
RUN CGO_ENABLED=0 go build \
    -ldflags="-s -w -X main.v=${VERSION}" -o /out/x ./cmd/x

FROM example.org/base:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="$REVISION"
COPY --from=build /out/x /x
USER 65532:65532
ENTRYPOINT ["/x"]
`

func TestParse(t *testing.T) {
	df, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(df.Stages) != 2 || df.Stages[0].Name != "build" || df.Stages[0].From != "golang:1.26" || df.Final().From != "example.org/base:nonroot" {
		t.Fatalf("stages: %+v", df.Stages)
	}
	final := df.Final()
	labels, err := final.Labels(final.Args(map[string]string{"VERSION": "v1"}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"org.opencontainers.image.version": "v1", "org.opencontainers.image.revision": "unknown"}, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	ep, err := final.Entrypoint()
	if err != nil || !cmp.Equal(ep, []string{"/x"}) {
		t.Errorf("entrypoint %v, %v", ep, err)
	}
	copies, err := final.Copies()
	if err != nil || !cmp.Equal(copies, []Copy{{From: "build", Srcs: []string{"/out/x"}, Dst: "/x"}}) {
		t.Errorf("copies %+v, %v", copies, err)
	}
	words, err := Words(df.Stages[0].Last("RUN"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CGO_ENABLED=0", "go", "build", "-ldflags=-s -w -X main.v=${VERSION}", "-o", "/out/x", "./cmd/x"}; !cmp.Equal(words, want) {
		t.Errorf("words %q, want %q", words, want)
	}
	if _, err := Expand("${NOPE}", nil); err == nil {
		t.Error("Expand of an unknown name succeeded")
	}
}
