package passkeys

import (
	"context"
	"encoding/json"
	"time"
)

// CorbadoCeremonyForTest holds what [CorbadoTakeCeremony] finds.
type CorbadoCeremonyForTest struct {
	Kind      string
	Challenge []byte
}

// CorbadoTakeCeremony runs the Corbado backend's ceremony lookup of a
// finish of kind on response, against a fresh keeper that holds the
// ceremonies given. It returns the index of the ceremony taken.
func CorbadoTakeCeremony(response json.RawMessage, kind string, kept []CorbadoCeremonyForTest) (int, error) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &Corbado{keeper: NewMemoryKeeper(0), clock: func() time.Time { return now }}
	for i, k := range kept {
		st := ceremonyState{Kind: k.Kind, ProcessID: string(rune('a' + i))}
		if err := c.add(ctx, ceremonyKey(k.Challenge), st, now.Add(time.Minute)); err != nil {
			return -1, err
		}
	}
	st, err := c.takeCeremony(ctx, response, kind)
	if err != nil {
		return -1, err
	}
	return int(st.ProcessID[0] - 'a'), nil
}
