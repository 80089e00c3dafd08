// Package progress shows the progress of a long job (cache verify,
// rebuilds, boot tests) as a bar on stderr, and only on a terminal: on a
// pipe, a file or in CI nothing is written. It wraps
// github.com/vbauerster/mpb/v8.
package progress

import (
	"io"
	"os"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Bar counts done items out of a total. The zero value and a nil *Bar
// are valid and show nothing.
type Bar struct {
	mu  sync.Mutex
	p   *mpb.Progress
	bar *mpb.Bar
}

// IsTerminal reports whether w is a terminal (a character device), and
// CI is not set.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("CI") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// New starts a bar named label on w when w is a terminal; otherwise it
// returns a bar that shows nothing. total may be 0 when unknown yet
// (SetTotal sets it).
func New(w io.Writer, label string, total int64) *Bar {
	if !IsTerminal(w) {
		return &Bar{}
	}
	p := mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithAutoRefresh())
	bar := p.AddBar(total,
		mpb.PrependDecorators(decor.Name(label+" ", decor.WCSyncSpaceR), decor.CountersNoUnit("%d/%d", decor.WCSyncWidth)),
		mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5}), decor.Name(" "), decor.AverageETA(decor.ET_STYLE_GO)),
		mpb.BarRemoveOnComplete(),
	)
	return &Bar{p: p, bar: bar}
}

// SetTotal sets the number of items.
func (b *Bar) SetTotal(total int64) {
	if b == nil || b.bar == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bar.SetTotal(total, false)
}

// Add counts n items done.
func (b *Bar) Add(n int) {
	if b == nil || b.bar == nil {
		return
	}
	b.bar.IncrBy(n)
}

// Done completes the bar and waits until it is cleared from the
// terminal, so that what follows starts on a clean line.
func (b *Bar) Done() {
	if b == nil || b.bar == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bar.SetTotal(b.bar.Current(), true)
	b.p.Wait()
	b.bar = nil
}
