package deploy

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/staffsync/staffsync/internal/absencesync"
	"github.com/staffsync/staffsync/internal/awstest"
	"github.com/staffsync/staffsync/internal/domain"
	"github.com/staffsync/staffsync/internal/phase"
	"github.com/staffsync/staffsync/internal/seal"
	"github.com/staffsync/staffsync/internal/store"
	"github.com/staffsync/staffsync/internal/synctest"
	"github.com/staffsync/staffsync/internal/timesync"
	"github.com/staffsync/staffsync/internal/usersync"
	"github.com/staffsync/staffsync/internal/workspacesync"
)

// TestPhasePoliciesCoverTheirCalls runs the users, workspaces, timesheets and absences phases through the
// harness (full runs, a partial run, a dry run and a repeated run) against the demo
// company, with the tenant's credentials sealed under KMS (moto) as a deployed stack
// seals them, and checks that each function's policies allow every DynamoDB request it
// made and every KMS request with the encryption context it passed, and that each KMS
// grant requires the tenant context.
func TestPhasePoliciesCoverTheirCalls(t *testing.T) {
	env := synctest.New(t, synctest.Options{})
	env.Select(t, nil, domain.AutoInclude{Field: domain.RuleStatus, Values: []string{"active", "onboarding"}})
	env.UpdateSettings(t, func(s *domain.Settings) { s.CreateMissingWorkspaces = true })
	ctx := context.Background()

	moto := awstest.StartMoto(t)
	key, err := moto.KMS().CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("staffsync phases test")})
	if err != nil {
		t.Fatal(err)
	}
	kmsSealer := func(rec *kmsRecorder) seal.Sealer { return recordingSealer(t, moto, *key.KeyMetadata.KeyId, rec) }
	tn := env.Tenant(t)
	creds, err := seal.OpenCredentials(ctx, env.Sealer, tn.ID, tn.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	if tn.Sealed, err = seal.SealCredentials(ctx, kmsSealer(&kmsRecorder{}), tn.ID, creds); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.SaveTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}

	// An absence removed years ago: the absences full run prunes its mapping (batch delete).
	if err := env.Store.PutMapping(ctx, domain.Mapping{Tenant: tn.ID, Kind: domain.KindAbsence, SourceID: absencesync.SourceKey(domain.SystemPersonio, "removed-long-ago"),
		State: domain.StateDeleted, UpdatedAt: env.Clock().AddDate(-3, 0, 0)}); err != nil {
		t.Fatal(err)
	}

	usersRec, wsRec, tsRec, asRec := &callRecorder{}, &callRecorder{}, &callRecorder{}, &callRecorder{}
	usersStore := recordingStore(t, env.DynamoDBEndpoint, env.Tables, usersRec, store.WithClock(env.Clock))
	wsStore := recordingStore(t, env.DynamoDBEndpoint, env.Tables, wsRec, store.WithClock(env.Clock))
	tsStore := recordingStore(t, env.DynamoDBEndpoint, env.Tables, tsRec, store.WithClock(env.Clock))
	asStore := recordingStore(t, env.DynamoDBEndpoint, env.Tables, asRec, store.WithClock(env.Clock))
	usersKMS, wsKMS, tsKMS, asKMS := &kmsRecorder{}, &kmsRecorder{}, &kmsRecorder{}, &kmsRecorder{}
	deps := func(st *store.Store, k *kmsRecorder) phase.Deps {
		return phase.Deps{Store: st, Sealer: kmsSealer(k), Log: env.Log, LeaseTTL: 10 * time.Minute}
	}
	users := phase.New[*usersync.Loaded, usersync.Planned](usersync.NewPhase(usersync.Deps{Store: usersStore, Vendors: env.Vendors(), Now: env.Clock}), deps(usersStore, usersKMS))
	ws := phase.New[*workspacesync.Loaded, workspacesync.Planned](workspacesync.NewPhase(workspacesync.Deps{Store: wsStore, Vendors: env.Vendors(), Now: env.Clock}), deps(wsStore, wsKMS))
	ts := phase.New[*timesync.Loaded, timesync.Planned](timesync.NewPhase(timesync.Deps{Store: tsStore, Vendors: env.Vendors(), Now: env.Clock}), deps(tsStore, tsKMS))
	as := phase.New[*absencesync.Loaded, absencesync.Planned](absencesync.NewPhase(absencesync.Deps{Store: asStore, Vendors: env.Vendors(), Now: env.Clock}), deps(asStore, asKMS))

	runs := []struct {
		run  func(context.Context, domain.SyncRequest) (domain.RunSummary, error)
		p    domain.Phase
		mode domain.Mode
		dry  bool
		age  time.Duration
	}{
		// A targeted run before any mapping exists reads the mappings by source id and
		// looks the matched users up by target id.
		{users.Run, domain.PhaseUsers, domain.ModeTargeted, false, 0},
		{users.Run, domain.PhaseUsers, domain.ModeFull, true, 0},
		{users.Run, domain.PhaseUsers, domain.ModeFull, false, 0},
		{ws.Run, domain.PhaseWorkspaces, domain.ModeFull, true, 0},
		{ws.Run, domain.PhaseWorkspaces, domain.ModeFull, false, 0},
		{ts.Run, domain.PhaseTimesheets, domain.ModeFull, true, 0},
		{ts.Run, domain.PhaseTimesheets, domain.ModeFull, false, 0},
		{ts.Run, domain.PhaseTimesheets, domain.ModePartial, false, 0},
		{ts.Run, domain.PhaseTimesheets, domain.ModeTargeted, false, 0},
		{as.Run, domain.PhaseAbsences, domain.ModeFull, true, 0},
		{as.Run, domain.PhaseAbsences, domain.ModeFull, false, 0},
		{as.Run, domain.PhaseAbsences, domain.ModePartial, false, 0},
		{as.Run, domain.PhaseAbsences, domain.ModeTargeted, false, 0},
		// Past the run retention each run prunes the old run summaries.
		{users.Run, domain.PhaseUsers, domain.ModeFull, false, store.RunRetention + 24*time.Hour},
		{ws.Run, domain.PhaseWorkspaces, domain.ModeFull, false, store.RunRetention + 24*time.Hour},
		{ts.Run, domain.PhaseTimesheets, domain.ModeFull, false, store.RunRetention + 24*time.Hour},
		{as.Run, domain.PhaseAbsences, domain.ModeFull, false, store.RunRetention + 24*time.Hour},
	}
	var matched string
	for _, u := range env.Demo.ExistingUsers {
		if u.PersonioEmployeeID != 0 {
			matched = strconv.FormatInt(u.PersonioEmployeeID, 10)
		}
	}
	for _, r := range runs {
		env.Advance(time.Minute + r.age)
		req := env.Request(r.p, r.mode, r.dry)
		switch {
		case r.mode == domain.ModeTargeted && r.p == domain.PhaseAbsences:
			req = env.Request(r.p, r.mode, r.dry, domain.Target{Kind: domain.KindAbsence, ID: env.Demo.HalfDayAbsenceID}, domain.Target{Kind: domain.KindAbsence, ID: "gone"})
		case r.mode == domain.ModeTargeted && r.p == domain.PhaseTimesheets:
			req = env.Request(r.p, r.mode, r.dry, domain.Target{Kind: domain.KindTimer, ID: "9100"}, domain.Target{Kind: domain.KindTimer, ID: "999999"},
				domain.Target{Kind: domain.KindAttendance, ID: "00000000-0000-4000-8000-000000000000"})
		case r.mode == domain.ModeTargeted:
			req = env.Request(r.p, r.mode, r.dry, domain.Target{Kind: domain.KindUser, ID: matched})
		}
		sum, err := r.run(ctx, req)
		// The demo's unmatched Staffomatic user has timers and no employee: a timesheets
		// run reports them as failed records (partially_failed).
		if err != nil || (sum.Status != domain.RunSucceeded && sum.Status != domain.RunPartiallyFailed) {
			t.Fatalf("%s %s run: %v %+v\n%s", r.p, r.mode, err, sum, env.Logs.String())
		}
	}
	tpl := load(t)
	for _, f := range []struct {
		fn  string
		db  *callRecorder
		kms *kmsRecorder
	}{
		{"UsersyncFunction", usersRec, usersKMS},
		{"WorkspacesyncFunction", wsRec, wsKMS},
		{"TimesyncFunction", tsRec, tsKMS},
		{"AbsencesyncFunction", asRec, asKMS},
	} {
		for _, p := range CheckDynamoDBAccess(tpl, f.fn, f.db.recorded(), true) {
			t.Error(p)
		}
		calls := f.kms.recorded()
		if len(calls) == 0 {
			t.Errorf("%s: the runs never opened the credentials through KMS", f.fn)
		}
		for _, p := range CheckKMSAccess(tpl, f.fn, calls, seal.EncryptionContextKey) {
			t.Error(p)
		}
	}
}
