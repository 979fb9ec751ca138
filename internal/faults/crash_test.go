package faults_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
)

// isWrite is a call that changes vendor data (a token request changes nothing).
func isWrite(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead && !strings.Contains(r.URL.Path, "/auth")
}

// TestCrashAfterKOfNWritesThenRerun: for each phase, an undisturbed run of the demo makes
// n writes. In fresh worlds the run is killed (its context cancelled, as Lambda ends a
// timed-out invocation) right after its k-th write was answered, for the k of the table,
// and run again. Afterwards every record exists exactly once and they are the undisturbed
// run's; the protocol tells the story (checkStory): the killed run failed and says so,
// each record is told as created once, or as failed by the killed run (its answer was
// never read) and then linked by the rerun; a further run writes nothing. On minidyn, and
// on moto_server for the middle write.
func TestCrashAfterKOfNWritesThenRerun(t *testing.T) {
	at := []struct {
		name string
		k    func(n int) int
	}{
		{"first", func(int) int { return 1 }},
		{"half", func(n int) int { return (n + 1) / 2 }},
		{"last", func(n int) int { return n }},
	}
	for _, sp := range specs {
		t.Run(string(sp.phase), func(t *testing.T) {
			t.Parallel()
			r := reference(t, sp, options{})
			for _, c := range at {
				t.Run(c.name, func(t *testing.T) { crashAndRerun(t, sp, r, c.k(r.n), options{}) })
			}
		})
	}
	// The same on moto_server, killed halfway: one server, one world at a time.
	t.Run("moto", func(t *testing.T) {
		moto := awstest.StartMoto(t)
		on := func(t *testing.T) options { moto.Reset(t); return options{db: moto.DynamoDB()} }
		for _, sp := range specs {
			t.Run(string(sp.phase), func(t *testing.T) {
				r := reference(t, sp, on(t))
				crashAndRerun(t, sp, r, (r.n+1)/2, on(t))
			})
		}
	})
}

// ref is what an undisturbed run of a phase did: its n writes, the records it made and
// the records its protocol tells as created.
type ref struct {
	n       int
	want    map[string]int
	created map[string]int
}

func reference(t *testing.T, sp spec, o options) ref {
	t.Helper()
	w := newWorld(t, sp, o)
	w.resetCalls()
	sum, entries, err := w.fullRun(t, context.Background())
	if err != nil || (sum.Status != domain.RunSucceeded && sum.Status != domain.RunPartiallyFailed) {
		t.Fatalf("undisturbed run: %v %+v", err, sum)
	}
	r := ref{n: w.writes(), want: sp.records(w.env), created: createdIDs(entries)}
	if r.n < 2 || len(r.want) == 0 || len(r.created) == 0 {
		t.Fatalf("the demo gives the %s phase too little to write: %d writes, records %v, created %v", sp.phase, r.n, r.want, r.created)
	}
	return r
}

// crashAndRerun kills a run of the phase right after its k-th write and checks the rerun.
func crashAndRerun(t *testing.T, sp spec, r ref, k int, o options) {
	w := newWorld(t, sp, o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen atomic.Int32
	w.env.Transport.SetAfter(func(req *http.Request, resp *http.Response) {
		if isWrite(req) && resp.StatusCode < 300 && seen.Add(1) == int32(k) {
			cancel()
		}
	})
	crashed, crashEntries, err := w.fullRun(t, ctx)
	w.env.Transport.SetAfter(nil)
	if int(seen.Load()) < k {
		t.Fatalf("the run made %d writes, fewer than the %d of the undisturbed run's %d it was to be killed after", seen.Load(), k, r.n)
	}
	if k < r.n && (err == nil || crashed.Status != domain.RunFailed || crashed.Error == "") {
		t.Fatalf("killed after write %d of %d: %v, summary %+v", k, r.n, err, crashed)
	}
	w.env.Advance(time.Minute)
	sum, rerunEntries, err := w.fullRun(t, context.Background())
	if err != nil || sum.Status == domain.RunFailed {
		t.Fatalf("rerun after write %d of %d: %v %+v\n%s", k, r.n, err, sum, w.env.Logs.String())
	}
	checkOnce(t, sp.records(w.env), r.want)
	checkStory(t, r.created, crashEntries, rerunEntries)
	w.quiet(t)
}

// checkStory checks that the protocols of a killed run and its rerun tell what became of
// each record an undisturbed run created: created once by one of them, or failed in the
// killed run (its answer never read) and then found and linked by the rerun (outcome
// updated). Nothing is told as created twice, nor created that the undisturbed run did
// not create.
func checkStory(t *testing.T, created map[string]int, killed, rerun []domain.ProtocolEntry) {
	t.Helper()
	told := func(entries []domain.ProtocolEntry) map[string]map[domain.Outcome]int {
		out := map[string]map[domain.Outcome]int{}
		for _, e := range entries {
			id := string(e.Kind) + "/" + e.SourceID
			if out[id] == nil {
				out[id] = map[domain.Outcome]int{}
			}
			out[id][e.Outcome]++
		}
		return out
	}
	k, r := told(killed), told(rerun)
	for id := range created {
		switch n := k[id][domain.OutcomeCreated] + r[id][domain.OutcomeCreated]; {
		case n > 1:
			t.Errorf("%s told as created %d times", id, n)
		case n == 0 && (k[id][domain.OutcomeFailed] == 0 || r[id][domain.OutcomeUpdated] == 0):
			t.Errorf("%s: not told as created; the killed run told %v, the rerun %v (want failed, then updated)", id, k[id], r[id])
		}
	}
	for id, m := range r {
		if created[id] == 0 && m[domain.OutcomeCreated]+k[id][domain.OutcomeCreated] > 0 {
			t.Errorf("%s told as created; the undisturbed run did not create it", id)
		}
	}
	if t.Failed() {
		for _, e := range append(killed, rerun...) {
			t.Logf("%s %s %s %s %s", e.RunID, e.Kind, e.SourceID, e.Action, e.Outcome)
		}
	}
}

// createdIDs counts the protocol's created entries by kind and source id.
func createdIDs(entries []domain.ProtocolEntry) map[string]int {
	out := map[string]int{}
	for _, e := range entries {
		if e.Outcome == domain.OutcomeCreated {
			out[string(e.Kind)+"/"+e.SourceID]++
		}
	}
	return out
}
