package local

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/staffsync/staffsync/internal/store"
)

// durableDB keeps the embedded DynamoDB (minidyn, in memory) across restarts of
// `staffsync dev`. Every successful item write is appended to a journal before its answer
// leaves, so a killed process loses no write a caller saw succeed (runs, leases, mappings,
// each stored protocol batch); a snapshot of every table compacts the journal on a clean
// stop and whenever the journal has grown past compactAt. A start loads the snapshot and
// replays the journal's later entries in their order. Writes are serialised with their
// journal entries, so the journal's order is the order minidyn applied them, and a replay
// meets the same state each write met (its conditions decide alike).
type durableDB struct {
	h      http.Handler
	tables []string
	// ttl names each table's TTL attribute (epoch seconds): minidyn never expires items, so
	// the snapshot leaves out the expired ones, as DynamoDB would have deleted them.
	ttl         map[string]string
	now         func() time.Time
	snapPath    string
	journalPath string
	log         *slog.Logger
	// before runs under mu before each write: the simulators' changes are saved first, so
	// a mapping on disk never points at a simulator record that is not.
	before    func()
	compactAt int64

	mu      sync.Mutex
	journal *os.File
	seq     int64 // the last journal entry's sequence number
	size    int64
	failed  bool // a journal write failed once (logged once)
}

// newDurableDB keeps the tables of minidyn handler h in the files snap and journal.
func newDurableDB(h http.Handler, tables store.Tables, snap, journal string, log *slog.Logger) *durableDB {
	d := &durableDB{h: h, snapPath: snap, journalPath: journal, log: log, ttl: map[string]string{}}
	for _, spec := range tables.Specs() {
		d.tables = append(d.tables, spec.Name)
		if spec.TTL != "" {
			d.ttl[spec.Name] = spec.TTL
		}
	}
	return d
}

// journalEntry is one line of the journal: a write request exactly as minidyn received it.
type journalEntry struct {
	Seq    int64           `json:"seq"`
	Target string          `json:"target"`
	Body   json.RawMessage `json:"body"`
}

// dbSnapshot is the snapshot file: every table's items in DynamoDB's JSON, and the last
// journal entry they include.
type dbSnapshot struct {
	Version int                          `json:"version"`
	Seq     int64                        `json:"seq"`
	Tables  map[string][]json.RawMessage `json:"tables"`
}

const (
	dbSnapshotVersion = 1
	targetPrefix      = "DynamoDB_20120810."
	// defaultCompactAt is the journal size after which a write compacts it (a few
	// thousand runs' bookkeeping; replaying it takes well under a second).
	defaultCompactAt = 32 << 20
)

// writeOps are the operations that change items; only they are journalled. Tables are
// created by the code at every start (store.CreateTables), so table operations are not.
var writeOps = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "BatchWriteItem": true, "TransactWriteItems": true}

// restore loads the snapshot and replays the journal into the (empty, tables created)
// minidyn and opens the journal for appending. It reports how many items and journal
// entries it loaded.
func (d *durableDB) restore() (items, replayed int, err error) {
	if d.compactAt == 0 {
		d.compactAt = defaultCompactAt
	}
	b, err := os.ReadFile(d.snapPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return 0, 0, fmt.Errorf("read the DynamoDB snapshot: %w", err)
	default:
		var snap dbSnapshot
		if err := json.Unmarshal(b, &snap); err != nil {
			return 0, 0, fmt.Errorf("read the DynamoDB snapshot %s: %w (start with FRESH=1 to discard it)", d.snapPath, err)
		}
		if snap.Version != dbSnapshotVersion {
			return 0, 0, fmt.Errorf("the DynamoDB snapshot %s has version %d, this staffsync reads %d (start with FRESH=1 to discard it)", d.snapPath, snap.Version, dbSnapshotVersion)
		}
		d.seq = snap.Seq
		for table, its := range snap.Tables {
			for _, it := range its {
				body, _ := json.Marshal(map[string]any{"TableName": table, "Item": it})
				if status, out := d.call("PutItem", body); status != http.StatusOK {
					// A table this start does not create (its name was changed, e.g.
					// TENANTS_TABLE) or an item minidyn refuses: say how to go on.
					return items, 0, fmt.Errorf("restore an item of table %s from the DynamoDB snapshot %s: %d %s (were the table names changed? start with the earlier ones, or with FRESH=1 to discard the kept state)",
						table, d.snapPath, status, truncate(out, 200))
				}
				items++
			}
		}
	}
	var good int64 // the journal's length up to the end of its last whole entry
	var newline bool
	f, err := os.Open(d.journalPath)
	if err == nil {
		replayed, good, newline, err = d.replay(f)
		_ = f.Close()
		if err != nil {
			return items, replayed, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return items, 0, fmt.Errorf("read the DynamoDB journal: %w", err)
	}
	if d.journal, err = os.OpenFile(d.journalPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return items, replayed, fmt.Errorf("open the DynamoDB journal: %w", err)
	}
	// What a kill left after the last whole entry goes, and a whole last entry whose
	// newline was cut gets it: otherwise the next entry would be appended to that line,
	// and the next start would drop both (or refuse the journal as damaged).
	if fi, err := d.journal.Stat(); err == nil && fi.Size() > good {
		if err := d.journal.Truncate(good); err != nil {
			return items, replayed, fmt.Errorf("cut the DynamoDB journal's broken last line: %w", err)
		}
	}
	if newline {
		if _, err := d.journal.Write([]byte{'\n'}); err != nil {
			return items, replayed, fmt.Errorf("end the DynamoDB journal's last line: %w", err)
		}
		good++
	}
	d.size = good
	return items, replayed, nil
}

// replay applies the journal's entries after the snapshot's. A last line cut short (the
// process was killed while writing it) is ignored: its write was never answered. It
// returns the entries applied, the length of the journal up to the end of its last whole
// entry, and whether that entry lacks its newline (the kill cut just that).
func (d *durableDB) replay(r io.Reader) (n int, good int64, newline bool, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	line := 0
	var pending error
	for {
		b, rerr := br.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return n, good, false, fmt.Errorf("read the DynamoDB journal: %w", rerr)
		}
		if len(b) == 0 {
			break
		}
		line++
		if pending != nil {
			return n, good, false, pending // a broken line that is not the last one
		}
		var e journalEntry
		if err := json.Unmarshal(bytes.TrimSuffix(b, []byte{'\n'}), &e); err != nil {
			pending = fmt.Errorf("the DynamoDB journal %s is damaged at line %d: %w (start with FRESH=1 to discard it)", d.journalPath, line, err)
			continue
		}
		good += int64(len(b))
		newline = b[len(b)-1] != '\n'
		if e.Seq <= d.seq {
			continue // already in the snapshot
		}
		if status, out := d.call(e.Target, e.Body); status != http.StatusOK {
			// The write succeeded when it was made, against the same state: this one
			// can only be lost, not applied differently.
			d.log.Warn("a journalled DynamoDB write could not be replayed", "line", line, "operation", e.Target, "status", status, "answer", truncate(out, 200))
		}
		d.seq = e.Seq
		n++
	}
	return n, good, newline, nil
}

// ServeHTTP answers a request; a write is applied and journalled under the lock before
// its answer is sent.
func (d *durableDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if !writeOps[strings.TrimPrefix(target, targetPrefix)] {
		d.h.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	d.mu.Lock()
	if d.before != nil {
		d.before()
	}
	d.h.ServeHTTP(rec, r)
	if rec.Code == http.StatusOK {
		d.append(target, body)
	}
	d.mu.Unlock()
	sendRecorded(w, rec)
}

// sendRecorded writes a recorded answer to w.
func sendRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// append writes one journal entry (d.mu held) and compacts once the journal is large.
func (d *durableDB) append(target string, body []byte) {
	if d.journal == nil {
		return
	}
	d.seq++
	line, err := json.Marshal(journalEntry{Seq: d.seq, Target: target, Body: body})
	if err == nil {
		_, err = d.journal.Write(append(line, '\n'))
	}
	if err != nil {
		// A write that failed part-way (a full disk) may have left the start of its line:
		// cut it, or the next entry would be glued onto it and lost with it at the next
		// start.
		if terr := d.journal.Truncate(d.size); terr != nil {
			err = errors.Join(err, terr)
		}
		if !d.failed {
			d.log.Error("the DynamoDB journal could not be written: this write, and any later one that fails too, is lost when the process stops", "file", d.journalPath, "error", err)
			d.failed = true
		}
		return
	}
	d.size += int64(len(line) + 1)
	if d.size >= d.compactAt {
		if err := d.compactLocked(); err != nil {
			d.log.Error("compact the DynamoDB journal", "error", err)
		}
	}
}

// compact writes a snapshot of every table and empties the journal.
func (d *durableDB) compact() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.compactLocked()
}

func (d *durableDB) compactLocked() error {
	snap := dbSnapshot{Version: dbSnapshotVersion, Seq: d.seq, Tables: map[string][]json.RawMessage{}}
	for _, t := range d.tables {
		items, err := d.scan(t)
		if err != nil {
			return err
		}
		snap.Tables[t] = items
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("encode the DynamoDB snapshot: %w", err)
	}
	if err := writeFileAtomic(d.snapPath, b); err != nil {
		return err
	}
	// The snapshot names the last entry it includes, so a crash before the truncation
	// only leaves entries the next start skips.
	if d.journal != nil {
		if err := d.journal.Truncate(0); err != nil {
			return fmt.Errorf("empty the DynamoDB journal: %w", err)
		}
		d.size = 0
	}
	return nil
}

// scan reads every item of a table, page by page, in DynamoDB's JSON.
func (d *durableDB) scan(table string) ([]json.RawMessage, error) {
	var items []json.RawMessage
	var start json.RawMessage
	for {
		in := map[string]any{"TableName": table, "Limit": 1000}
		if start != nil {
			in["ExclusiveStartKey"] = start
		}
		body, _ := json.Marshal(in)
		status, out := d.call("Scan", body)
		if status != http.StatusOK {
			return nil, fmt.Errorf("scan %s: %d %s", table, status, truncate(out, 200))
		}
		var page struct {
			Items            []json.RawMessage `json:"Items"`
			LastEvaluatedKey json.RawMessage   `json:"LastEvaluatedKey"`
		}
		if err := json.Unmarshal(out, &page); err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, it := range page.Items {
			if !d.expired(table, it) {
				items = append(items, it)
			}
		}
		if len(page.LastEvaluatedKey) == 0 || string(page.LastEvaluatedKey) == "null" || len(page.Items) == 0 {
			return items, nil
		}
		start = page.LastEvaluatedKey
	}
}

// expired reports whether item's TTL attribute lies in the past.
func (d *durableDB) expired(table string, item json.RawMessage) bool {
	attr := d.ttl[table]
	if attr == "" {
		return false
	}
	var it map[string]struct {
		N string `json:"N"`
	}
	if err := json.Unmarshal(item, &it); err != nil {
		return false
	}
	exp, err := strconv.ParseInt(it[attr].N, 10, 64)
	now := time.Now
	if d.now != nil {
		now = d.now
	}
	return err == nil && exp > 0 && exp < now().Unix()
}

// call sends one request straight to minidyn (not journalled).
func (d *durableDB) call(target string, body []byte) (int, []byte) {
	if !strings.HasPrefix(target, targetPrefix) {
		target = targetPrefix + target
	}
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("X-Amz-Target", target)
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, r)
	return rec.Code, rec.Body.Bytes()
}

// close compacts (a clean stop starts the next time from one snapshot) and closes the
// journal.
//
// Before restore has finished (the journal is open only then) it writes nothing: a start
// that failed must not replace the kept snapshot with what it had loaded so far.
func (d *durableDB) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.journal == nil {
		return nil
	}
	err := d.compactLocked()
	if cerr := d.journal.Close(); err == nil {
		err = cerr
	}
	d.journal = nil
	return err
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
