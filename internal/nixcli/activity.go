package nixcli

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Activity is what a running Nix reports doing, read from its structured
// log (--log-format internal-json): the derivations being built now, since
// when, and the last lines of each build's log. It is safe for concurrent
// use; a nil *Activity records nothing.
type Activity struct {
	mu     sync.Mutex
	builds map[float64]*build // running builds by activity id
	byID   map[float64]string // every build activity's derivation
	tails  map[string][]string
}

type build struct {
	drv   string
	since time.Time
}

// tailLines is how many log lines of each build are kept.
const tailLines = 25

// NewActivity returns an empty record.
func NewActivity() *Activity {
	return &Activity{builds: map[float64]*build{}, byID: map[float64]string{}, tails: map[string][]string{}}
}

// Running is a build in progress.
type Running struct {
	Drv   string
	Since time.Time
}

// Running returns the builds in progress, oldest first.
func (a *Activity) Running() []Running {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Running
	for _, b := range a.builds {
		out = append(out, Running{Drv: b.drv, Since: b.since})
	}
	slices.SortFunc(out, func(x, y Running) int {
		if c := x.Since.Compare(y.Since); c != 0 {
			return c
		}
		return strings.Compare(x.Drv, y.Drv)
	})
	return out
}

// LogTail returns the last lines (at most 25) of drv's build log.
func (a *Activity) LogTail(drv string) []string {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.tails[drv])
}

func (a *Activity) start(id float64, drv string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.builds[id] = &build{drv: drv, since: time.Now()}
	a.byID[id] = drv
	delete(a.tails, drv) // a new attempt
}

func (a *Activity) stop(id float64) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.builds, id)
}

func (a *Activity) line(id float64, l string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	drv, ok := a.byID[id]
	if !ok {
		return
	}
	t := append(a.tails[drv], l)
	if len(t) > tailLines {
		t = append(t[:0:0], t[len(t)-tailLines:]...)
	}
	a.tails[drv] = t
}
