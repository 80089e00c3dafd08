// Command logtessera appends the leaves of a file (16-bit big-endian
// length-prefixed entries, as written by `logload -mode dump`) to a
// Tessera log on its POSIX driver, with the given concurrency, and waits
// until a checkpoint covering every leaf is published: the reference log
// engine of bench/log.sh. It is a separate module so that Tessera's
// dependencies stay out of nixgate's go.mod.
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	leaves := flag.String("leaves", "", "file of length-prefixed leaves")
	dir := flag.String("dir", "", "the log's directory (created)")
	conc := flag.Int("c", 64, "concurrent adders, each waiting for its entry to be published (0: add every entry, then wait for all)")
	flag.Parse()
	if err := run(*leaves, *dir, *conc); err != nil {
		fmt.Fprintln(os.Stderr, "logtessera:", err)
		os.Exit(1)
	}
}

func run(leavesFile, dir string, conc int) error {
	data, err := os.ReadFile(leavesFile)
	if err != nil {
		return err
	}
	var leaves [][]byte
	for len(data) > 0 {
		n := int(binary.BigEndian.Uint16(data))
		leaves = append(leaves, data[2:2+n])
		data = data[2+n:]
	}
	skey, _, err := note.GenerateKey(rand.Reader, "bench.example/tessera")
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	driver, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return err
	}
	opts := tessera.NewAppendOptions().WithCheckpointSigner(signer).
		WithBatching(4096, 50*time.Millisecond).WithCheckpointInterval(100 * time.Millisecond)
	app, shutdown, reader, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		return err
	}
	awaiter := tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, 20*time.Millisecond)
	start := time.Now()
	if conc == 0 {
		futures := make([]tessera.IndexFuture, len(leaves))
		for i, l := range leaves {
			futures[i] = app.Add(ctx, tessera.NewEntry(l))
		}
		for _, f := range futures {
			if _, _, err := awaiter.Await(ctx, f); err != nil {
				return err
			}
		}
		return report(len(leaves), conc, time.Since(start), shutdown(ctx))
	}
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	next := make(chan []byte)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range next {
				if _, _, err := awaiter.Await(ctx, app.Add(ctx, tessera.NewEntry(l))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for _, l := range leaves {
		next <- l
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return err
	default:
	}
	return report(len(leaves), conc, elapsed, shutdown(ctx))
}

func report(n, conc int, elapsed time.Duration, err error) error {
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"engine": "tessera-posix", "version": "v1.0.4", "leaves": n, "concurrency": conc,
		"seconds": elapsed.Seconds(), "perSecond": float64(n) / elapsed.Seconds(),
	})
}
