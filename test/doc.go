// Package test holds the repository-wide checks that no single package
// can make of itself: the layout rules of ARCHITECTURE.md as failing
// tests (presubmit_test.go), and the README's first five minutes walked
// end to end (fiveminute_test.go, with the demo caller's capture checked
// in demo_test.go). It has no code of its own and must not be imported.
package test
