package main

import (
	"strings"
	"testing"
	"time"
)

// TestRetentionCommands: a privacy officer holds every recording of a
// caller and releases them by time range, previews a shorter limit and
// runs a purge, each through the API under its own token; a supervisor
// is refused the plan; a bulk hold selecting nothing is a usage error.
func TestRetentionCommands(t *testing.T) {
	k := startKirokud(t)
	if code, out, stderr := k.ctl(t, "po", "hold", "bulk", "-reason", "訴訟"); code != exitUsage || out != "" || !strings.Contains(stderr, "select recordings with -ids, -caller, -from or -to") {
		t.Errorf("bulk hold of nothing: exit %d %q %q", code, out, stderr)
	}
	if code, out, stderr := k.ctl(t, "po", "hold", "bulk", "-caller", "03-1234-5678", "-reason", "訴訟 2026-001"); code != 0 || out != "3 recordings held\n" {
		t.Fatalf("bulk hold by caller: exit %d %q %q", code, out, stderr)
	}
	for _, id := range k.ids {
		if r, err := k.d.Catalog().Get(t.Context(), id); err != nil || !r.LegalHold {
			t.Errorf("%s not held: %v", id, err)
		}
	}
	from := time.Now().Add(-2 * time.Hour).UTC().Format("2006-01-02T15:04")
	if code, out, stderr := k.ctl(t, "po", "-tz", "UTC", "hold", "bulk", "-release", "-from", from, "-reason", "和解"); code != 0 || out != "3 recordings released\n" {
		t.Errorf("bulk release by time: exit %d %q %q", code, out, stderr)
	}

	code, out, stderr := k.ctl(t, "po", "-tz", "UTC", "retention", "plan", "-purpose", "cs-quality", "-retention", "1d")
	if code != 0 || !strings.HasPrefix(out, "PURPOSE") || !strings.Contains(out, "cs-quality: 90d → 1d (extend existing: no), at ") ||
		!strings.Contains(out, "2 stored: 2 dates earlier, 0 later, 0 unchanged; 0 would be deleted by the next purge, 0 more are held") {
		t.Errorf("plan with a preview: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := k.ctl(t, "po", "retention", "plan", "-purpose", "cs-quality"); code != exitUsage || !strings.Contains(stderr, "needs both -purpose and -retention") {
		t.Errorf("preview without a limit: exit %d %q", code, stderr)
	}
	if code, _, stderr := k.ctl(t, "sup", "retention", "plan"); code != exitFail || !strings.Contains(stderr, "privacy officers, auditors and admins") {
		t.Errorf("plan as a supervisor: exit %d %q", code, stderr)
	}
	if code, out, stderr := k.ctl(t, "po", "retention", "purge", "-reason", "月次"); code != 0 || !strings.HasPrefix(out, "deleted 0 (0 from the spool), 0 held") {
		t.Errorf("purge: exit %d %q %q", code, out, stderr)
	}
}
