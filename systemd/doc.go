// Package systemd holds no code: the folder keeps kirokud's systemd files,
// the hardened kirokud.service, kiroku.sysusers (the service user) and
// kiroku.tmpfiles (its state folder and spool), and the test that checks
// them with systemd-analyze verify and security, as `make check-systemd`
// does, so that `make test` covers them too.
package systemd
