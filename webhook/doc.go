// Package webhook tells an integrator's HTTP endpoint what became of each
// recording: every event is POSTed as JSON, retried with back-off, from one
// worker goroutine that Run owns. A full queue drops the event with an
// error in the log, so uploads never wait for the endpoint.
//
// It must not import storage/upload: the daemon hands it the uploader's
// events as JSON-encodable values.
package webhook
