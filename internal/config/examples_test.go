package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestExampleConfigs: every example in configs/ passes the same checks as
// kirokud -check-config (its notices are the shipped prompts).
func TestExampleConfigs(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.yaml")
	if len(files) < 3 {
		t.Fatalf("got %d example configs, want at least 3", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}

// TestAlertRules parses the Prometheus rules (promtool is not installed
// here) and checks each names a metric kirokud exports.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile("../../configs/prometheus/kiroku.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr, For string
				Labels           map[string]string
				Annotations      map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	known := []string{"kiroku_spool_oldest_age_seconds", "kiroku_spool_oldest_wait_seconds", "kiroku_recordings_total", "kiroku_purge_failed_total",
		"kiroku_audit_verify_ok", "kiroku_spool_pending", "kiroku_config_reloads_total", "kiroku_recording_silent_channels_total",
		"kiroku_downstream_up", "kiroku_downstream_attempts_total", "kiroku_catalog_integrity_ok",
		"kiroku_webhook_oldest_pending_age_seconds", "kiroku_webhook_dead_lettered_total",
		"kiroku_recordings_truncated_total", "kiroku_spool_stranded", "kiroku_listen_refused_total"}
	n := 0
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("rule %+v lacks alert, expr, severity, summary or description", r)
			}
			ok := false
			for _, k := range known {
				ok = ok || strings.Contains(r.Expr, k)
			}
			if !ok {
				t.Errorf("alert %s: expression %q names no kirokud metric", r.Alert, r.Expr)
			}
		}
	}
	if n < 4 {
		t.Errorf("got %d rules, want at least 4", n)
	}
	// promtool (Debian prometheus, installed by make test) checks them as
	// Prometheus will.
	if path, err := exec.LookPath("promtool"); err == nil {
		out, err := exec.Command(path, "check", "rules", "../../configs/prometheus/kiroku.rules.yml").CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules: %v\n%s", err, out)
		}
		// The rules' unit tests: the alerts fire within minutes of an
		// outage, and not for a failure the next attempt mended.
		cmd := exec.Command(path, "test", "rules", "kiroku.rules.test.yml")
		cmd.Dir = "../../configs/prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool test rules: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not installed; rules checked by parsing only")
	}
}

// TestSchemaKinds: every field of the schema has a kind the decoder
// handles, so no file can reach its panic.
func TestSchemaKinds(t *testing.T) {
	var walk func(rt reflect.Type, path string)
	walk = func(rt reflect.Type, path string) {
		if reflect.PointerTo(rt).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
			return
		}
		switch rt.Kind() {
		case reflect.Struct:
			for i := range rt.NumField() {
				f := rt.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if f.IsExported() && name != "" && name != "-" {
					walk(f.Type, path+"."+name)
				}
			}
		case reflect.Slice:
			walk(rt.Elem(), path+"[]")
		case reflect.String, reflect.Int, reflect.Bool:
		default:
			t.Errorf("%s: kind %s has no YAML decoding", path, rt.Kind())
		}
	}
	walk(reflect.TypeFor[Config](), "")
}
