package personio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/personio"
	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

// BenchmarkThroughputAgainstDefaultLimits reports the calls per second the
// client achieves against the simulator with Personio's default rate limits
// (calls/s) next to the sustained rate the limit allows (allowed/s) and the
// 429s it provoked. Each family is paced by its own bucket, so runs take
// b.N / allowed seconds; use e.g. -benchtime=60x.
func BenchmarkThroughputAgainstDefaultLimits(b *testing.B) {
	families := []struct {
		name string
		fam  personiosim.Family
		call func(ctx context.Context, cl *personio.Client, g personiosim.Generated, abs []personiosim.AbsencePeriod, i int) error
	}{
		{"v1-employee", personiosim.FamilyEmployees, func(ctx context.Context, cl *personio.Client, g personiosim.Generated, _ []personiosim.AbsencePeriod, i int) error {
			_, err := cl.Employee(ctx, g.Employees[i%len(g.Employees)].ID)
			return err
		}},
		{"v2-absence-period", personiosim.FamilyAbsencePeriods, func(ctx context.Context, cl *personio.Client, _ personiosim.Generated, abs []personiosim.AbsencePeriod, i int) error {
			_, err := cl.AbsencePeriod(ctx, abs[i%len(abs)].ID)
			return err
		}},
	}
	for _, f := range families {
		b.Run(f.name, func(b *testing.B) {
			sim := personiosim.New(personiosim.Config{RateLimits: personiosim.DefaultRateLimits()})
			sim.AddCredential(personiosim.Credential{ClientID: testID, ClientSecret: testSecret})
			g := sim.Generate(personiosim.GenerateOptions{Employees: 50, Seed: 1, AbsencesPerEmployee: 1})
			abs := sim.AbsencePeriods()
			srv := newServer(sim)
			defer srv.Close()
			cl, err := personio.New(personio.Config{BaseURL: srv.URL, ClientID: testID, ClientSecret: testSecret})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						if err := f.call(ctx, cl, g, abs, i); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start).Seconds()
			b.StopTimer()
			limit := personiosim.DefaultRateLimits()[f.fam]
			b.ReportMetric(float64(b.N)/elapsed, "calls/s")
			b.ReportMetric(limit.PerSecond, "allowed/s")
			b.ReportMetric(float64(limit.Burst), "burst")
			b.ReportMetric(float64(sim.StatusCount(f.fam, http.StatusTooManyRequests)), "429s")
		})
	}
}

func newServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }
