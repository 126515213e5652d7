// Package webhook tells an integrator's HTTP endpoint what became of each
// recording. Events are written to the catalog's outbox (Enqueue), in
// the transaction of the change they report where there is one, so that
// none is lost to a full queue, a crash or a restart; Run delivers them,
// each POSTed as JSON and signed (Sign: HMAC-SHA-256 over the event's
// id, the time of the try and the body, in the Standard Webhooks
// headers), retried with exponential back-off and jitter across
// restarts until the endpoint takes it or it is dead-lettered after
// MaxTries tries or MaxAge. An event about a recording that is then
// destroyed is dropped with it (catalog.DropOutbox).
//
// It must not import storage/upload: the daemon hands it the uploader's
// events as JSON-encodable values.
package webhook
