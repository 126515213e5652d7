package pgtest

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestServer: each DSN is a new, empty database of its own on a server
// that listens on loopback only, keeps its socket in its own folder and
// does not run as root.
func TestServer(t *testing.T) {
	a, b := DSN(t), DSN(t)
	if a == b {
		t.Fatalf("two DSN calls gave the same database %q", a)
	}
	conn, err := pgx.Connect(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if _, err := conn.Exec(t.Context(), `CREATE TABLE t (x int)`); err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(t.Context())
	var n int
	if err := other.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the second database sees %d tables t (%v), want 0", n, err)
	}
	for setting, want := range map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": shared.dir,
		"server_encoding":         "UTF8",
	} {
		var got string
		if err := conn.QueryRow(t.Context(), `SELECT current_setting($1)`, setting).Scan(&got); err != nil || got != want {
			t.Errorf("%s: got %q (%v), want %q", setting, got, err, want)
		}
	}
	if !strings.HasPrefix(shared.dir, os.TempDir()) {
		t.Errorf("cluster in %s, want it under %s", shared.dir, os.TempDir())
	}
	fi, err := os.Stat(shared.dir + "/data")
	if err != nil {
		t.Fatal(err)
	}
	if uid := fileUID(fi); uid == 0 {
		t.Error("the cluster belongs to root; postgres must run as an unprivileged user")
	}
}

// TestWrongPassword: the server asks for the password (scram-sha-256),
// so a DSN without it is refused.
func TestWrongPassword(t *testing.T) {
	dsn := DSN(t)
	bad := strings.Replace(dsn, "password="+shared.password, "password=wrong", 1)
	if _, err := pgx.Connect(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("got %v, want the password refused", err)
	}
}

func fileUID(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return 0
}
