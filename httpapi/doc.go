// Package httpapi serves Kiroku's HTTP API. For now it holds the control
// routes for calls in progress (list, pause, resume) on a loopback-only
// listener; authentication, recordings and the web UI come with the
// supervisor-access work. It must not touch storage or the catalog except
// through their packages, and must not bypass the audit log.
package httpapi
