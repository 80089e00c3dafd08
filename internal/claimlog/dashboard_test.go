package claimlog

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardInChromium loads the dashboard in Debian's headless Chromium:
// the page shows the checkpoint size and a disagreement row, the
// Content-Security-Policy holds (no script, no inline style: any violation
// would be a console error), and nothing is logged as an error. The
// screenshots are kept in $TMPDIR/nixgate-test-artifacts (printed).
func TestDashboardInChromium(t *testing.T) {
	exe := "/usr/bin/chromium"
	if _, err := os.Stat(exe); err != nil {
		t.Fatal("chromium is not installed (scripts/deps.sh installs Debian's chromium)")
	}
	a, b, c := testBuilder(t, "builder-a-1"), testBuilder(t, "builder-b-1"), testBuilder(t, "builder-c-1")
	l := startLog(t, "sqlite://"+filepath.Join(t.TempDir(), "log.db"), Config{}, a, b, c)
	ctx := context.Background()
	var size int64
	for _, cl := range []struct {
		k       string
		path    string
		content string
	}{{"a", "hello-2.12", "hello"}, {"b", "hello-2.12", "hello"}, {"c", "hello-2.12", "hello, differently"},
		{"a", "zlib-1.3", "zlib"}, {"a", "zlib-1.3", "zlib, again"}, {"b", "agreed-1.0", "x"}} {
		sk := a
		switch cl.k {
		case "b":
			sk = b
		case "c":
			sk = c
		}
		ack, err := l.client.Submit(ctx, newClaim(t, sk, cl.path, cl.content))
		if err != nil {
			t.Fatal(err)
		}
		size = ack.TreeSize
	}
	l.waitPublished(t, size)

	resp, err := http.Get(l.http.URL + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Content-Security-Policy"); got != csp {
		t.Fatalf("Content-Security-Policy %q", got)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s %s)", m, m.Source, m.URL))
				mu.Unlock()
			}
		}
	}()
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	shoot := func() []byte {
		t.Helper()
		b, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(l.http.URL+"/ui/"), chromedp.WaitVisible("#tree-size")); err != nil {
		t.Fatal(err)
	}
	treeSize := text("#tree-size")
	disagreement := text("#disagreements tbody")
	equivocation := text("#equivocations tr.equivocation")
	shot := shoot()
	// Search for the disagreeing path through the form.
	if err := chromedp.Do(bctx, chromedp.SetValue(`input[name="p"]`, storePath("hello-2.12")),
		chromedp.Submit(`form[role="search"]`), chromedp.WaitVisible("#path")); err != nil {
		t.Fatal(err)
	}
	pathText := text("#path")
	pathShot := shoot()
	if !strings.Contains(pathText, "Builders disagree") || !strings.Contains(pathText, c.Name) {
		t.Errorf("path page: %q", pathText)
	}
	time.Sleep(200 * time.Millisecond) // let late console messages arrive
	if treeSize != fmt.Sprint(size) {
		t.Errorf("tree size shown %q, want %d", treeSize, size)
	}
	if !strings.Contains(disagreement, storePath("hello-2.12")) {
		t.Errorf("disagreement row %q does not name hello", disagreement)
	}
	if !strings.Contains(equivocation, a.Name) || !strings.Contains(equivocation, storePath("zlib-1.3")) {
		t.Errorf("equivocation row %q", equivocation)
	}
	mu.Lock()
	if len(problems) > 0 {
		t.Errorf("the browser logged:\n%s", strings.Join(problems, "\n"))
	}
	problems = nil
	mu.Unlock()
	// The control: the same policy on a page with an inline script and an
	// inline style yields console errors, so the check above can fail.
	ctl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>x</title><p id="x" style="color:red">x</p><script>document.title="ran"</script>`)
	}))
	defer ctl.Close()
	if err := chromedp.Do(bctx, chromedp.Navigate(ctl.URL), chromedp.WaitVisible("#x")); err != nil {
		t.Fatal(err)
	}
	title, _ := chromedp.Run(bctx, chromedp.Title())
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if title == "ran" || len(problems) == 0 {
		t.Errorf("the control page: title %q, %d console errors; the CSP check cannot fail", title, len(problems))
	}
	dir := filepath.Join(os.TempDir(), "nixgate-test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"dashboard.png": shot, "dashboard-path.png": pathShot} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", p, len(b))
	}
}
