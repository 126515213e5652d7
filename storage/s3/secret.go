package s3

import (
	"os"
)

// Secret is a credential that prints as "<secret>" however it is
// formatted or marshalled to JSON; string(s) gives the value.
type Secret string

const redacted = "<secret>"

// String returns "<secret>".
func (Secret) String() string { return redacted }

// GoString returns "<secret>", for %#v.
func (Secret) GoString() string { return redacted }

// MarshalJSON returns "<secret>" as a JSON string.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Environment variables CredentialsFromEnv reads.
const (
	EnvAccessKey = "KIROKU_S3_ACCESS_KEY"
	EnvSecretKey = "KIROKU_S3_SECRET_KEY"
)

// CredentialsFromEnv returns the access and secret keys in
// KIROKU_S3_ACCESS_KEY and KIROKU_S3_SECRET_KEY, empty where unset. New
// uses them when Options has neither key.
func CredentialsFromEnv() (accessKey string, secretKey Secret) {
	return os.Getenv(EnvAccessKey), Secret(os.Getenv(EnvSecretKey))
}
