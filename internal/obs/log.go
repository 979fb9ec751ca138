// Package obs holds staffsync's observability: a log/slog logger that carries the tenant,
// phase and run id of the current run on every line and redacts secrets, and an Embedded
// Metric Format writer whose lines CloudWatch turns into metrics without an API call.
package obs

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Redacted replaces the value of every attribute whose key names a secret.
const Redacted = "[REDACTED]"

// secretKeyParts are lower-case fragments of attribute keys whose values are secrets.
// Matching by key is deliberate: the logger cannot know a value is secret, but every place
// that handles one names it (client_secret, password, admin_token, Authorization …).
var secretKeyParts = []string{"secret", "password", "token", "authorization", "credential", "api_key", "apikey", "signature", "sealed"}

// IsSecretKey reports whether an attribute, JSON field or header with this name holds a
// secret that must never be logged, returned or written to the protocol.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, p := range secretKeyParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

// runKey is the context key under which the run's identifying attributes travel.
type runKey struct{}

// RunInfo identifies the run a log line belongs to.
type RunInfo struct {
	Tenant string
	Phase  string
	RunID  string
}

// WithRun returns a context whose log lines carry tenant, phase and run id.
func WithRun(ctx context.Context, r RunInfo) context.Context {
	return context.WithValue(ctx, runKey{}, r)
}

// RunFrom returns the run attributes stored by WithRun.
func RunFrom(ctx context.Context) (RunInfo, bool) {
	r, ok := ctx.Value(runKey{}).(RunInfo)
	return r, ok
}

// NewLambdaLogger returns the logger every function uses in AWS Lambda: aws-lambda-go's
// lambdacontext handler (JSON when the function's LoggingConfig says so, with the request
// id of each invocation), wrapped so that every line carries the run attributes and no
// secret. It honours AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL.
func NewLambdaLogger(service string) *slog.Logger {
	return slog.New(Wrap(lambdacontext.NewLogHandler())).With("service", service)
}

// NewLogger returns a logger writing to w, as JSON when json is set (the local runner and
// tests), with the same run attributes and redaction as NewLambdaLogger.
func NewLogger(w io.Writer, json bool, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if json {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(Wrap(h))
}

// Wrap returns a handler that adds the context's run attributes to each record and
// redacts secret attributes before passing the record to next.
func Wrap(next slog.Handler) slog.Handler { return &handler{next: next} }

type handler struct{ next slog.Handler }

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if run, ok := RunFrom(ctx); ok {
		if run.Tenant != "" {
			out.AddAttrs(slog.String("tenant", run.Tenant))
		}
		if run.Phase != "" {
			out.AddAttrs(slog.String("phase", run.Phase))
		}
		if run.RunID != "" {
			out.AddAttrs(slog.String("run_id", run.RunID))
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redact(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = redact(a)
	}
	return &handler{next: h.next.WithAttrs(clean)}
}

func (h *handler) WithGroup(name string) slog.Handler { return &handler{next: h.next.WithGroup(name)} }

// redact hides the value of a secret attribute, looking into groups.
func redact(a slog.Attr) slog.Attr {
	if IsSecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = redact(ga)
		}
		return slog.Group(a.Key, clean...)
	}
	return slog.Attr{Key: a.Key, Value: v}
}
