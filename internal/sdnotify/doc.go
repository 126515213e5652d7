// Package sdnotify tells the service manager (systemd) how kirokud's
// lifecycle goes, with the sd_notify datagram protocol: ready, reloading,
// stopping and a free-form status line.
//
// It is the small in-house client Caddy also keeps rather than linking
// libsystemd or go-systemd: one unixgram datagram per call to the socket
// named by NOTIFY_SOCKET (a path, or "@name" for an abstract socket). When
// NOTIFY_SOCKET is unset, as outside systemd or in tests, every call is a
// no-op returning nil.
//
// It must not log, start goroutines or decide when to notify: cmd/kirokud
// owns the lifecycle and calls it.
package sdnotify
