package driver

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics scrapes /metrics.
func (d *Driver) Metrics() (map[string]*dto.MetricFamily, error) {
	code, body, err := d.Get("/metrics")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics = %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	return families, nil
}

// Samples are scraped values by Series; a histogram contributes
// name_count.
type Samples map[string]float64

// Series names one series: name{label=value,...} with the labels sorted.
func Series(name string, labels ...string) string {
	var pairs []string
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, labels[i]+"="+labels[i+1])
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// Scrape is Metrics by Series.
func (d *Driver) Scrape() (Samples, error) {
	families, err := d.Metrics()
	if err != nil {
		return nil, err
	}
	out := Samples{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName(), l.GetValue())
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[Series(name, labels...)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[Series(name, labels...)] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[Series(name+"_count", labels...)] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out, nil
}
