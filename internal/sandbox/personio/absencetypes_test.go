package personiosim_test

import (
	"net/url"
	"strings"
	"testing"

	personiosim "github.com/staffsync/staffsync/internal/sandbox/personio"
)

// TestV2AbsenceTypes: GET /v2/absence-types pages the types by cursor with the v2 quirks
// (limit 1..100, an invalid limit or cursor is a 400 problem, next absent on the last
// page, relative links when configured), names each by the UUID v1 sends as id_v2, and
// GET /v2/absence-types/{id} answers one type or a 404 problem. An older credential's v1
// types come without id_v2.
func TestV2AbsenceTypes(t *testing.T) {
	f := start(t, personiosim.Config{})
	tok := f.v2Token(t)
	want := map[string]personiosim.TimeOffType{}
	for _, ty := range f.sim.TimeOffTypes() {
		want[ty.IDv2] = ty
	}
	read := func(t *testing.T, f *fixture, path string, relative bool) map[string]map[string]any {
		t.Helper()
		got := map[string]map[string]any{}
		pages := 0
		for path != "" {
			r := f.do(t, "GET", path, "", "", tok)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", path, r.status, r.raw)
			}
			pages++
			for _, d := range r.body["_data"].([]any) {
				m := d.(map[string]any)
				got[m["id"].(string)] = m
			}
			path = ""
			if next, ok := r.body["_meta"].(map[string]any)["links"].(map[string]any)["next"].(map[string]any); ok {
				u, _ := url.Parse(next["href"].(string))
				if u.IsAbs() == relative || u.Query().Get("limit") != "1" || u.Query().Get("cursor") == "" {
					t.Fatalf("next link %q", next["href"])
				}
				path = u.RequestURI()
			}
		}
		if pages != len(want) {
			t.Fatalf("%d pages of one type each for %d types", pages, len(want))
		}
		return got
	}
	got := read(t, f, "/v2/absence-types?limit=1", false)
	if len(got) != len(want) {
		t.Fatalf("types %v, want %v", got, want)
	}
	for id, ty := range want {
		g := got[id]
		if g == nil || g["name"] != ty.Name || g["unit"] != strings.ToUpper(ty.Unit) {
			t.Fatalf("type %s: %v, want %+v", id, g, ty)
		}
	}
	rel := start(t, personiosim.Config{RelativeNextLinks: true})
	tok = rel.v2Token(t)
	read(t, rel, "/v2/absence-types?limit=1", true)
	tok = f.v2Token(t)

	first := f.g.TimeOffTypes[0]
	for _, tt := range []struct {
		name, path string
		status     int
		body       string
	}{
		{"all on one page by default", "/v2/absence-types", 200, first.IDv2},
		{"one", "/v2/absence-types/" + first.IDv2, 200, `"name":"` + first.Name + `"`},
		{"unknown id", "/v2/absence-types/nope", 404, "There is no resource for the specified id."},
		{"limit 0", "/v2/absence-types?limit=0", 400, "Provided request parameters are invalid."},
		{"limit over 100", "/v2/absence-types?limit=101", 400, "Provided request parameters are invalid."},
		{"bad cursor", "/v2/absence-types?cursor=bm9wZQ", 400, "Provided request parameters are invalid."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, "GET", tt.path, "", "", tok)
			if r.status != tt.status || !strings.Contains(r.raw, tt.body) {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			if r.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("content type %q", r.header.Get("Content-Type"))
			}
		})
	}
	t.Run("scope and token", func(t *testing.T) {
		if r := f.do(t, "GET", "/v2/absence-types", "", "", ""); r.status != 401 {
			t.Fatalf("no token: %d", r.status)
		}
		f.sim.AddCredential(personiosim.Credential{ClientID: "att", ClientSecret: "s", Scopes: []string{"personio:attendances:read"}})
		r := f.do(t, "POST", "/v2/auth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=att&client_secret=s", "")
		if r := f.do(t, "GET", "/v2/absence-types", "", "", r.body["access_token"].(string)); r.status != 403 {
			t.Fatalf("without the absences scope: %d %s", r.status, r.raw)
		}
	})
	t.Run("older credential: v1 types without id_v2", func(t *testing.T) {
		f.sim.AddCredential(personiosim.Credential{ClientID: "old", ClientSecret: "s", WithoutIDv2: true})
		r := f.do(t, "POST", "/v1/auth", "application/json", `{"client_id":"old","client_secret":"s"}`, "")
		old := r.body["data"].(map[string]any)["token"].(string)
		r = f.do(t, "GET", "/v1/company/time-off-types", "", "", old)
		if r.status != 200 || strings.Contains(r.raw, "id_v2") || !strings.Contains(r.raw, first.Name) {
			t.Fatalf("older credential: %d %s", r.status, r.raw)
		}
		if r := f.do(t, "GET", "/v1/company/time-off-types", "", "", f.v1Token(t)); !strings.Contains(r.raw, `"id_v2":"`+first.IDv2) {
			t.Fatalf("current credential: %s", r.raw)
		}
	})
	if n := f.sim.CallCount("GET /v2/absence-types"); n < len(want)+5 {
		t.Fatalf("calls recorded under the endpoint: %d", n)
	}
}
