// Package spool owns the local, crash-safe folder where each call leaves
// its manifest (and, once recorded, its audio) until the uploader has
// stored it. Every write is atomic and fsynced: a reader finds either the
// old manifest or the new one, never half of one.
//
// It owns its folder: the paths in it (RecordingPath, ManifestPath), the
// listing of calls that have ended (Finished, Count), their removal
// (Remove) and temporaries (CreateTemp); other packages go through these
// rather than build paths or read the folder.
//
// Beside each call in progress it keeps the call's dialogs (WriteDialogs:
// tags, URIs, route set, CSeq, addresses), so that after a crash the
// daemon can end them (Recover leaves such a call for FinishTeardown).
//
// A final manifest the disk refuses (full) is kept in memory by
// WriteFinal and written by RetryStranded once there is room, so that a
// call that ended on a full disk keeps its end reason; FreeRecent lets
// every recorder check the disk's free space at one statfs for all.
//
// A call's audio is never in the clear in the folder: NewAudio makes its
// data key (wrapped through Keys and kept as the call's UploadKey before
// any audio is written) and the recorder's writes are sealed as they are
// made (sealed.go); OpenAudio reads them back as the WAV they hold,
// Recover repairs them to the last authentic record, and a stage's copy
// of the audio waits in a sealed temporary (CreateSealedTemp).
//
// It must not know SIP, media or the store: callers fill a Manifest (and
// the dialogs, as plain strings), the spool keeps it safe.
package spool
