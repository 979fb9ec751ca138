package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/store"
)

// BenchmarkProtocolPages reads the newest five pages of 100 entries of a tenant with
// 10,000 protocol entries in four areas, one area and all areas merged (minidyn
// in-process: the numbers compare the two reads, they are not DynamoDB latencies).
func BenchmarkProtocolPages(b *testing.B) {
	ctx := context.Background()
	db, _ := awstest.MiniDyn(b)
	tables := store.Tables{Tenants: "tenants", Mappings: "mappings", Protocol: "protocol"}
	if err := store.CreateTables(ctx, db, tables); err != nil {
		b.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := store.New(db, tables, store.WithClock(func() time.Time { return base.Add(24 * time.Hour) }))
	areas := []domain.Area{domain.AreaUsers, domain.AreaWorkspaces, domain.AreaTimesheets, domain.AreaAbsences}
	es := make([]domain.ProtocolEntry, 0, 10000)
	for i := range 10000 {
		es = append(es, domain.ProtocolEntry{Tenant: "acme", Area: areas[i%4], Time: base.Add(time.Duration(i) * time.Second), RunID: "r",
			Kind: domain.KindUser, SourceID: fmt.Sprint(i), Action: "update_user", Outcome: domain.OutcomeUpdated})
	}
	if err := s.AppendProtocol(ctx, es...); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		area domain.Area
	}{{"one-area", domain.AreaUsers}, {"all-areas", ""}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				q := store.ProtocolQuery{Tenant: "acme", Area: c.area, Limit: 100, Newest: true}
				n := 0
				for range 5 {
					page, err := s.QueryProtocol(ctx, q)
					if err != nil {
						b.Fatal(err)
					}
					n += len(page.Entries)
					q.Next = page.Next
				}
				if n != 500 {
					b.Fatalf("%d entries in five pages", n)
				}
			}
		})
	}
}
