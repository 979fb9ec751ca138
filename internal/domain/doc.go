// Package domain holds the types at the centre of staffsync: sync phases, modes and
// triggers, the timetable, tenants and their settings, mappings, protocol entries and run
// summaries. It has no dependency on AWS, HTTP or any vendor API so that planners and
// every adapter can share it.
package domain
