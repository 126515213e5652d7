// Package pgtest runs a real PostgreSQL server for tests: Debian's
// postgresql package, one cluster per test binary made by initdb in a
// temporary folder, listening on a free port of 127.0.0.1 only, with its
// unix socket in that folder too, and run as an unprivileged user
// (postgres, or nobody) when the tests run as root, since PostgreSQL
// refuses root. Each test gets a new database of its own from DSN.
//
// A package whose tests use it calls Main from TestMain, which stops the
// server and removes its folder when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// The server starts at the first DSN call, so a run of the package's
// other tests alone costs nothing.
//
// The binaries are found in $KIROKU_PG_BIN when set, else in the newest
// /usr/lib/postgresql/<version>/bin (where Debian puts them), else next
// to an initdb on PATH. When they are missing and the tests run as root,
// pgtest installs the Debian package with apt-get (make test-deps does
// the same beforehand); without root it skips the test, saying why.
//
// It is for _test.go files only: no code that ships in kirokud may
// import it.
package pgtest
