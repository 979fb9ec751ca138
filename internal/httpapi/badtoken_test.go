package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestUnknownTokenNamesTheLikelyCauses: a token no tenant knows is a 401 naming what
// usually causes it. make run keeps its tenants and tokens across restarts, so an earlier
// make run's token fails only after a start with FRESH=1; the message must not claim that
// every start begins anew.
func TestUnknownTokenNamesTheLikelyCauses(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	r := e.do(t, "GET", "/v1/tenants/"+c.TenantID, "sst_not-a-token-of-this-deployment", nil)
	if r.Code != http.StatusUnauthorized || r.errCode(t) != "unauthorized" {
		t.Fatalf("unknown token: %d %s", r.Code, r.Body)
	}
	msg := string(r.Body)
	for _, want := range []string{"copied whole", "another deployment", "FRESH=1", "hand-over"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the 401 does not mention %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "begins anew") {
		t.Errorf("the 401 claims every start of the local runner begins anew (make run keeps its state): %s", msg)
	}
}
