package local

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/store"
)

// protocolBatch is how many entries a run keeps before it writes them: a process that
// dies mid-run loses at most one batch less one.
const protocolBatch = phase.ProtocolBatch

// Interrupted is what a start found left over by a `staffsync dev` that stopped without
// ending its runs (killed, crashed, the machine went down).
type Interrupted struct {
	// Runs were running or queued; they are failed now, with a reason saying so.
	Runs []domain.RunSummary
	// Leases were released (the runs holding them are gone with the process).
	Leases int
}

// recoverInterrupted ends what a stopped process left: every run still "running" or
// "queued" is marked failed, saying the process stopped and, for a running run, which of
// its protocol entries are stored and what is missing; and every lease is released. It
// runs before the API and the scheduler start, when no run of this process exists, so
// each of them belongs to the stopped process: its in-process bus and its runs ended with
// it, and nothing else would end them (a lease would refuse the phase for up to 16
// minutes, a queued run would wait forever).
func recoverInterrupted(ctx context.Context, st *store.Store, now time.Time) (Interrupted, error) {
	var out Interrupted
	var tenants []string
	if err := st.ListTenants(ctx, func(t domain.Tenant) error { tenants = append(tenants, t.ID); return nil }); err != nil {
		return out, fmt.Errorf("list tenants: %w", err)
	}
	for _, tenant := range tenants {
		for _, p := range domain.Phases {
			l, err := st.GetLease(ctx, tenant, p)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return out, err
			}
			if err := st.ReleaseLease(ctx, l); err != nil && !errors.Is(err, store.ErrLeaseLost) {
				return out, err
			}
			out.Leases++
		}
		for next := ""; ; {
			page, err := st.ListRuns(ctx, tenant, 100, next)
			if err != nil {
				return out, err
			}
			for _, r := range page.Runs {
				if r.Status != domain.RunRunning && r.Status != domain.RunQueued {
					continue
				}
				read := r
				if err := failInterrupted(ctx, st, &r, now); err != nil {
					return out, err
				}
				if err := st.PutRunIfUnchanged(ctx, r, &read); err != nil {
					return out, fmt.Errorf("mark the interrupted run %s of %s failed: %w", r.RunID, tenant, err)
				}
				out.Runs = append(out.Runs, r)
			}
			if next = page.Next; next == "" {
				break
			}
		}
	}
	return out, nil
}

// failInterrupted turns r into the failed run it is. A running run's counts become what
// its stored protocol entries say, and its error what is missing.
func failInterrupted(ctx context.Context, st *store.Store, r *domain.RunSummary, now time.Time) error {
	at := now.UTC().Format(time.RFC3339)
	r.FinishedAt = now.UTC()
	if r.Status == domain.RunQueued {
		r.Status = domain.RunFailed
		r.Error = fmt.Sprintf("not started: the staffsync dev process stopped before this run began; "+
			"marked failed when it started again at %s. Start the phase again (Sync Now) or wait for its next scheduled run", at)
		return nil
	}
	counts := map[domain.Outcome]int{}
	stored := 0
	q := store.ProtocolQuery{Tenant: r.Tenant, Area: domain.AreaOf(r.Phase), RunID: r.RunID, From: r.StartedAt.Add(-time.Second), Limit: 500}
	for {
		page, err := st.QueryProtocol(ctx, q)
		if err != nil {
			return fmt.Errorf("read the protocol of the interrupted run %s: %w", r.RunID, err)
		}
		for _, e := range page.Entries {
			counts[e.Outcome]++
			stored++
		}
		if q.Next = page.Next; q.Next == "" {
			break
		}
	}
	r.Status, r.Counts = domain.RunFailed, counts
	held := "no protocol entry was written before it stopped; missing are the entries of up to %[2]d records it finished"
	if stored > 0 {
		held = "its protocol holds the %[1]d entries written before it stopped%[4]s; missing are the entries of up to %[2]d records finished after the last of them"
	}
	r.Error = fmt.Sprintf("interrupted: the staffsync dev process stopped during this run (killed or crashed); marked failed when it started again at %s. ", at) +
		fmt.Sprintf(held, stored, protocolBatch-1, protocolBatch, countText(counts)) +
		fmt.Sprintf(" (a run writes its entries %d at a time), the counts of records that needed no entry, and the API call counts. "+
			"What it wrote to Personio or Staffomatic stays, and the next run of the phase finds it", protocolBatch)
	return nil
}

func countText(c map[domain.Outcome]int) string {
	if len(c) == 0 {
		return ""
	}
	parts := make([]string, 0, len(c))
	for o, n := range c {
		parts = append(parts, fmt.Sprintf("%s %d", o, n))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}
