package corbadotest

import (
	"regexp"
	"testing"
)

func TestEmulatorIDsHaveCorbadosShape(t *testing.T) {
	shape := regexp.MustCompile(`^usr-[1-9][0-9]{18}$`)
	for range 1000 {
		if id := newID("usr"); !shape.MatchString(id) {
			t.Fatalf("ID %q is not usr- and 19 digits", id)
		}
	}
}
