package driver

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestSetArgChangesTheNextStartsFlagAndReturnsTheOldValue(t *testing.T) {
	d := &Driver{args: []string{"--user-prefix=cosi-", "--resync-period=2s"}}
	if old := d.SetArg("--user-prefix", "other-"); old != "cosi-" {
		t.Errorf("SetArg returned %q, want cosi-", old)
	}
	if want := []string{"--user-prefix=other-", "--resync-period=2s"}; !slices.Equal(d.Args(), want) {
		t.Errorf("args = %v, want %v", d.Args(), want)
	}
	if old := d.SetArg("--wait-timeout", "5s"); old != "" {
		t.Errorf("SetArg of a flag the driver runs without returned %q", old)
	}
}

func TestScrapeNamesSeriesWithSortedLabels(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(strings.Join([]string{
			`# TYPE reqs_total counter`,
			`reqs_total{service="S3",operation="CreateBucket"} 3`,
			`# TYPE leader gauge`,
			`leader 1`,
			`# TYPE took_seconds histogram`,
			`took_seconds_bucket{kind="bucket",le="+Inf"} 2`,
			`took_seconds_sum{kind="bucket"} 0.5`,
			`took_seconds_count{kind="bucket"} 2`,
			``,
		}, "\n")))
	}))
	defer srv.Close()
	d := &Driver{HTTPAddr: strings.TrimPrefix(srv.URL, "http://")}
	got, err := d.Scrape()
	if err != nil {
		t.Fatal(err)
	}
	for series, want := range map[string]float64{
		Series("reqs_total", "service", "S3", "operation", "CreateBucket"): 3,
		Series("leader"): 1,
		Series("took_seconds_count", "kind", "bucket"): 2,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v (scraped %v)", series, got[series], want, got)
		}
	}
	if s := Series("reqs_total", "service", "S3", "operation", "CreateBucket"); s != "reqs_total{operation=CreateBucket,service=S3}" {
		t.Errorf("Series = %s", s)
	}
}
