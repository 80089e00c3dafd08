package lazyre

import (
	"sync"
	"testing"
)

func TestNew(t *testing.T) {
	re := New(`^a+b$`)
	var wg sync.WaitGroup
	got := make([]bool, 8)
	for i := range got {
		wg.Go(func() { got[i] = re().MatchString("aab") })
	}
	wg.Wait()
	for i, ok := range got {
		if !ok {
			t.Errorf("call %d: no match", i)
		}
	}
	if re() != re() {
		t.Error("two calls compiled twice")
	}
}

func TestNewInvalidPanicsOnUse(t *testing.T) {
	re := New(`(`) // no panic here: nothing is compiled yet
	defer func() {
		if recover() == nil {
			t.Error("an invalid expression did not panic on first use")
		}
	}()
	re()
}
