package kconfig

import "testing"

func loadBuiltin(t testing.TB, names ...string) []*Profile {
	t.Helper()
	out, err := LoadProfiles(names...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
