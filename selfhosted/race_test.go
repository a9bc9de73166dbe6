//go:build race

package selfhosted_test

// raceDetector is whether the tests run under the race detector, which
// makes a test of tens of thousands of sequential requests take minutes.
const raceDetector = true
