package httpapi

import (
	"runtime"
	"strings"
	"testing"
)

// TestJSONDepth: the nesting check counts brackets outside strings only and stops at the
// limit.
func TestJSONDepth(t *testing.T) {
	cases := []struct {
		body string
		ok   bool
	}{
		{`{"a":[{"b":1}]}`, true},
		{strings.Repeat("[", 32) + strings.Repeat("]", 32), true},
		{strings.Repeat("[", 33) + strings.Repeat("]", 33), false},
		{`{"name":"` + strings.Repeat("[", 100) + `"}`, true},     // inside a string
		{`{"name":"a\"` + strings.Repeat("{", 100) + `"}`, true},  // after an escaped quote, still inside
		{`{"name":"a\\"` + strings.Repeat(",{", 40) + `}`, false}, // an escaped backslash ends the string
		{strings.Repeat("[", 256*1024), false},
	}
	for i, c := range cases {
		if got := jsonDepthOK([]byte(c.body), MaxJSONDepth); got != c.ok {
			t.Errorf("case %d: %v, want %v", i, got, c.ok)
		}
	}
}

// TestDeeplyNestedBodyIsRefusedCheaply: 256 KB of "[[[[…" (and of "{"a":{"a":…") is a
// 400 that names the limit, and answering it allocates a bounded amount (it took a
// process to 554 MB before: the key check recursed once per level); the routes that read
// bodies, with and without a token, answer alike.
func TestDeeplyNestedBodyIsRefusedCheaply(t *testing.T) {
	e := newEnv(t)
	c := e.createDemo(t)
	bodies := map[string][]byte{
		"arrays":  []byte(strings.Repeat("[", 255*1024)),
		"objects": []byte(strings.Repeat(`{"a":`, 255*1024/5)),
	}
	for name, body := range bodies {
		for _, route := range []struct{ path, token string }{
			{"/v1/tenants", operatorKey},
			{"/v1/tenants/" + c.TenantID + "/selection", c.AdminToken},
		} {
			method := "POST"
			if strings.HasSuffix(route.path, "/selection") {
				method = "PUT"
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := e.do(t, method, route.path, route.token, body)
			runtime.ReadMemStats(&after)
			if r.Code != 400 || !strings.Contains(string(r.Body), "more than 32 levels deep") {
				t.Fatalf("%s %s (%s): %d %s", method, route.path, name, r.Code, r.Body)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
				t.Errorf("%s %s (%s): answering allocated %d MiB", method, route.path, name, grew>>20)
			}
		}
	}
}

// TestDisplayNames: a tenant or owner name has a visible character, no control
// characters and no bidirectional overrides or isolates.
func TestDisplayNames(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"Demo Gastro GmbH", true},
		{"Café Müller & Söhne", true},
		{"שלום", true},
		{"", false},
		{"a\nb", false},
		{"Acme\u202Egnp.exe", false},  // right-to-left override
		{"Acme\u2066x\u2069", false},  // isolate
		{"\u200B\u200C\u200D", false}, // zero-width only
		{"\u3164\u3164", false},       // Hangul filler only
		{" \u00A0 ", false},
		{"Bar\u200Bista", true}, // a zero-width space inside a visible name is harmless
		{strings.Repeat("x", 201), false},
	} {
		if got := displayNameOK(c.name); got != c.ok {
			t.Errorf("displayNameOK(%q) = %v, want %v", c.name, got, c.ok)
		}
	}
	e := newEnv(t)
	in := e.demoInput()
	in["name"] = "Acme\u202Egnp.exe"
	if r := e.do(t, "POST", "/v1/tenants", operatorKey, in); r.Code != 400 || !strings.Contains(string(r.Body), "bidirectional") {
		t.Fatalf("create with an override: %d %s", r.Code, r.Body)
	}
}
