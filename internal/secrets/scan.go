package secrets

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// kubeMax is the largest YAML file parsed as Kubernetes objects; larger
// ones are only streamed.
const kubeMax = 4 << 20

// File scans one file's content: a Kubernetes YAML file (up to 4 MiB) is
// parsed first, its encoded values decoded and scanned and its sealed
// values skipped; then the content is streamed through the rules. It
// returns the Kubernetes objects found, if any.
func (s *Scanner) File(in Input, r io.Reader, size int64, emit func(Finding)) (*Kube, error) {
	if size > kubeMax || !KubeName(in.Path) {
		return nil, s.Scan(in, r, emit)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var k *Kube
	if LooksKubernetes(in.Path, data) {
		if k, _ = s.rs.Kubernetes(in.Path, data); k != nil {
			for _, f := range k.Findings {
				f.Commit = in.Commit
				emit(f)
			}
			prev := in.Skip
			in.Skip = func(l int) bool { return k.Skip(l) || prev != nil && prev(l) }
		}
	}
	return k, s.ScanBytes(in, data, emit)
}

// File is an open file of a scan.
type File interface {
	io.ReadCloser
	Stat() (fs.FileInfo, error)
}

// Opener opens a file of a scan by its slash-separated name.
type Opener func(name string) (File, error)

// Sink receives a scan's results. It is called from one goroutine at a
// time.
type Sink struct {
	Finding  func(Finding)
	Manifest func(Manifest)
	// Error is told about files that could not be read; nil ignores them.
	Error func(name string, err error)
	// Stats, when set, counts what was scanned.
	Stats *Stats
}

// Stats counts the files of a scan.
type Stats struct {
	Files, Bytes, Binary atomic.Int64
}

// ScanFiles scans the named files with one goroutine per CPU.
func (rs *Ruleset) ScanFiles(ctx context.Context, names <-chan string, open Opener, sink Sink) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := rs.NewScanner()
			var local []Finding
			for name := range names {
				if ctx.Err() != nil {
					continue // drain
				}
				if rs.SkipPath(name) {
					continue
				}
				local = local[:0]
				k, err := scanOne(sc, name, open, sink.Stats, func(f Finding) { local = append(local, f) })
				mu.Lock()
				if err != nil && !errors.Is(err, ErrBinary) && sink.Error != nil {
					sink.Error(name, err)
				}
				for _, f := range local {
					if sink.Finding != nil {
						sink.Finding(f)
					}
				}
				if k != nil && sink.Manifest != nil {
					for _, m := range k.Manifests {
						sink.Manifest(m)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func scanOne(sc *Scanner, name string, open Opener, stats *Stats, emit func(Finding)) (*Kube, error) {
	f, err := open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil
	}
	k, err := sc.File(Input{Path: name}, f, st.Size(), emit)
	if stats != nil {
		stats.Files.Add(1)
		if errors.Is(err, ErrBinary) {
			stats.Binary.Add(1)
		} else {
			stats.Bytes.Add(st.Size())
		}
	}
	return k, err
}

// ScanDir scans every regular file under dir (not following symlinks,
// skipping .git directories). Paths in findings are relative to dir.
func (rs *Ruleset) ScanDir(ctx context.Context, dir string, sink Sink) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	names := make(chan string, 256)
	var walkErr error
	if sink.Error != nil {
		var mu sync.Mutex
		report := sink.Error
		sink.Error = func(name string, err error) {
			mu.Lock()
			defer mu.Unlock()
			report(name, err)
		}
	}
	go func() {
		defer close(names)
		walkErr = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if sink.Error != nil && p != dir {
					sink.Error(p, err)
					return nil
				}
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if d.IsDir() {
				if d.Name() == ".git" && p != dir {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			names <- filepath.ToSlash(rel)
			return nil
		})
	}()
	rs.ScanFiles(ctx, names, func(name string) (File, error) {
		// O_NONBLOCK: a FIFO must not block the scan; scanOne reads only
		// regular files.
		f, err := root.OpenFile(filepath.FromSlash(name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, err
		}
		return f, nil
	}, sink)
	if walkErr != nil {
		return walkErr
	}
	return ctx.Err()
}
