// Package domain holds the types at the centre of staffsync: sync phases, modes and
// triggers, the SyncRequested request and run summaries, the timetable, tenants (owner,
// settings, sync sources, sealed credentials), the employee selection and its
// auto-include rules, mappings and their retry bookkeeping, protocol entries and planned
// actions; and the concepts the phases and the admin API share: employees and users,
// matching (MatchAll, NormalizeEmail), the one selection decision (Selection.Includes),
// placement (Placer) and absence-category matching (CategoryFor). It imports no AWS SDK, no net/http, no vendor client and no other internal
// package (internal/archtest checks this), so that planners, adapters and the API can
// all share it.
package domain
