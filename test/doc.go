// Package test holds the repository-wide checks that no single package
// can make of itself: the layout rules of ARCHITECTURE.md as failing
// tests (presubmit_test.go). It has no code of its own and must not be
// imported.
package test
