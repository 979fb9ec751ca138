package obs

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every staffsync metric.
const Namespace = "staffsync"

// Metrics writes CloudWatch Embedded Metric Format lines. In Lambda the line goes to stdout
// and CloudWatch Logs extracts the metrics asynchronously, so recording a metric costs no
// API call and cannot fail a run. Dimensions are {Service, Phase}; the tenant is a property
// (searchable in Logs Insights) rather than a dimension, because a dimension per tenant
// would multiply the metric count and its cost by the number of tenants.
type Metrics struct {
	mu      sync.Mutex
	w       io.Writer
	service string
	now     func() time.Time
}

// NewMetrics returns a writer for the given service (function) name.
func NewMetrics(w io.Writer, service string) *Metrics {
	return &Metrics{w: w, service: service, now: time.Now}
}

// MetricRunPartiallyFailed is the metric a run that ended with failed records emits
// (value 1; the phase harness emits Run_<status> for every run). Its function does not
// fail, so the Lambda errors alarm misses it: the template alarms on this metric, per
// phase function, with the dimensions Emit writes (Service = the function's name, Phase).
const MetricRunPartiallyFailed = "Run_partially_failed"

// MetricRecordsFailed carries a run's failed records (zero included, every run).
const MetricRecordsFailed = "Records_failed"

// Unit is a CloudWatch metric unit.
type Unit string

const (
	UnitCount        Unit = "Count"
	UnitMilliseconds Unit = "Milliseconds"
)

// Metric is one value to publish.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Emit writes one EMF line with the metrics for a phase and tenant. Metrics with an empty
// name are rejected, since CloudWatch would drop the whole line.
func (m *Metrics) Emit(phase, tenant string, metrics ...Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	sort.Slice(metrics, func(i, j int) bool { return metrics[i].Name < metrics[j].Name })
	defs := make([]map[string]string, 0, len(metrics))
	doc := map[string]any{
		"Service": m.service,
		"Phase":   phase,
		"tenant":  tenant,
	}
	for _, mt := range metrics {
		if mt.Name == "" {
			return fmt.Errorf("emf: metric without a name")
		}
		if _, clash := doc[mt.Name]; clash {
			return fmt.Errorf("emf: metric name %q clashes with a dimension or property", mt.Name)
		}
		unit := mt.Unit
		if unit == "" {
			unit = UnitCount
		}
		defs = append(defs, map[string]string{"Name": mt.Name, "Unit": string(unit)})
		doc[mt.Name] = mt.Value
	}
	doc["_aws"] = map[string]any{
		"Timestamp": m.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{"Service", "Phase"}},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("emf: encode: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err = m.w.Write(append(line, '\n'))
	return err
}
