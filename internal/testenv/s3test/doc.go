// Package s3test runs a real S3 server for tests: versitygw (Versity S3
// Gateway) with its posix backend, on 127.0.0.1, its data in the test's
// temporary folder. Start gives a server with one bucket; Stop and
// Restart take it down and bring it back on the same port and data, for
// tests of what Kiroku does while its storage is away.
//
// The binary is built from the Go module proxy into the repository's
// .tools/bin once (`make s3-server`, which `make test` runs) and reused;
// a test that finds it missing builds it, which takes minutes. Set
// KIROKU_S3TEST_SKIP=1 to skip the tests that need it instead.
//
// What versitygw v1.8.0's posix backend does, as server_test.go pins it:
// object tags and user metadata; x-amz-checksum-sha256 sent as a header
// is checked (a mismatch stores nothing) and kept for HEAD; ranged GETs
// (416 without a body past the end); multi-object delete; listing in
// byte order of keys; Object Lock on a bucket made with it, with
// retention (GOVERNANCE, COMPLIANCE) and legal hold refusing deletes and
// overwrites, also without versioning; versioning with
// Options.Versioning. Not: checksums sent as trailers of a signed
// streaming upload (plain HTTP), which it miscomputes, and
// GetObjectRetention, which answers in XML minio-go cannot read (HEAD
// shows the retention instead).
//
// It is for _test.go files only: no code that ships in kirokud may
// import it. It takes a testing.TB, fails the test itself, and ties the
// process and its files to the test's lifetime.
package s3test
