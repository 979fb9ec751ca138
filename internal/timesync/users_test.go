package timesync

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/staffomatic"
	"github.com/staffsync/staffsync/internal/store"
)

// TestTimerUsersReadsByUserUpToTheBound: a targeted run reads the user mappings of its
// timers' users one reverse-index lookup each, up to store.MaxFindByTargets users, and
// the whole list (one query) above; either way it maps each user to the person the whole
// list does (a deleted mapping of a user never, of two live ones the same one).
func TestTimerUsersReadsByUserUpToTheBound(t *testing.T) {
	ctx := context.Background()
	mini, _ := awstest.MiniDyn(t)
	var mu sync.Mutex
	full, reverse := 0, 0
	db := dynamodb.New(mini.Options(), awstest.OnRequest(func(in any) {
		if q, ok := in.(*dynamodb.QueryInput); ok {
			mu.Lock()
			defer mu.Unlock()
			if q.IndexName == nil {
				full++
			} else {
				reverse++
			}
		}
	}))
	tables := store.Tables{Tenants: "tenants", Mappings: "mappings", Protocol: "protocol"}
	if err := store.CreateTables(ctx, db, tables); err != nil {
		t.Fatal(err)
	}
	st := store.New(db, tables)
	user := func(src string, uid int, state domain.TransferState) domain.Mapping {
		return domain.Mapping{Tenant: "acme", Kind: domain.KindUser, SourceID: src, TargetIDs: []string{fmt.Sprint(uid)}, State: state}
	}
	var ms []domain.Mapping
	for i := 1; i <= 80; i++ {
		ms = append(ms, user(fmt.Sprintf("p%03d", i), i, domain.StateTransferred))
	}
	// User 1's earlier employee (greater id) was deleted; user 2 has two live mappings.
	ms = append(ms, user("p901", 1, domain.StateDeleted), user("p902", 2, domain.StateTransferred))
	if err := st.PutMappings(ctx, ms); err != nil {
		t.Fatal(err)
	}
	all, err := st.LoadMappings(ctx, "acme", domain.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	want := persons(all)
	if want["1"] != "p001" || want["2"] != "p902" {
		t.Fatalf("the whole list maps user 1 to %s, user 2 to %s", want["1"], want["2"])
	}
	timers := func(users ...int) []staffomatic.WorkTimer {
		var out []staffomatic.WorkTimer
		for i, u := range users {
			out = append(out, staffomatic.WorkTimer{ID: int64(1000 + i), UserID: int64(u)})
		}
		return out
	}
	span := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	}
	l := &Loaded{st: st, tid: "acme"}
	for _, c := range []struct {
		name          string
		users         []int
		full, reverse int
	}{
		{"no timers", nil, 0, 0},
		{"one user's two timers", []int{1, 1}, 0, 1},
		{"three users, one unmapped", []int{1, 2, 999}, 0, 3},
		{"as many users as the bound", span(store.MaxFindByTargets), 0, store.MaxFindByTargets},
		{"one user more", span(store.MaxFindByTargets + 1), 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			full, reverse = 0, 0
			users, err := l.timerUsers(ctx, timers(c.users...))
			if err != nil {
				t.Fatal(err)
			}
			if full != c.full || reverse != c.reverse {
				t.Errorf("%d full lists and %d lookups, want %d and %d", full, reverse, c.full, c.reverse)
			}
			got := persons(users)
			for _, u := range c.users {
				if id := fmt.Sprint(u); got[id] != want[id] {
					t.Errorf("user %s mapped to %q, the whole list to %q", id, got[id], want[id])
				}
			}
			if c.full == 0 && len(got) > len(c.users) {
				t.Errorf("%d users mapped for %d timers' users: %v", len(got), len(c.users), got)
			}
		})
	}
}
