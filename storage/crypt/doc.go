// Package crypt is Kiroku's client-side envelope encryption. Each
// recording gets its own random 256-bit data key; the audio is sealed with
// AES-256-GCM in fixed-size chunks so that any byte range can be read by
// opening only the chunks that hold it; the data key is wrapped by a
// master key named by an id, so master keys rotate while old ones still
// unwrap. Wrapped keys live in the catalog, never beside the object:
// destroying one makes every copy of that audio unreadable.
//
// It must not know purposes, SIP or the store.
//
// It must not import storage, catalog, spool or sip.
package crypt
