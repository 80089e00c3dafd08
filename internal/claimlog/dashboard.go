package claimlog

import (
	"embed"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nixgate/nixgate/internal/claim"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

//go:embed ui/*.html ui/style.css
var uiFiles embed.FS

// uiTemplates are parsed on the dashboard's first page, not when every
// nixgate command starts.
var uiTemplates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"short": func(s string) string {
			if len(s) > 20 {
				return s[:20] + "…"
			}
			return s
		},
	}).ParseFS(uiFiles, "ui/*.html"))
})

// csp is the dashboard's Content-Security-Policy: no script at all, styles
// only from the log itself, nothing framed, forms only to the log.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-cache, max-age=0")
}

type uiCosig struct {
	Witness string
	Time    string
}

type uiPage struct {
	Origin     string
	Size       int64
	Root       string
	Sequenced  int64
	Cosigs     []uiCosig
	Builders   []string
	Disagree   []PathSummary
	Equivocate []Equivocation
	Recent     []PathSummary
	Query      string
	Path       *uiPath
	Error      string
}

type uiPath struct {
	StorePath  string
	Groups     []uiGroup
	Equivocate []string
}

type uiGroup struct {
	NarHash string
	NarSize uint64
	Refs    int
	Claims  []uiClaim
}

type uiClaim struct {
	Builder  string
	Index    int64
	Received string
}

func (s *Server) page(r *http.Request) (*uiPage, error) {
	ctx := r.Context()
	cp, size := s.Published()
	_, seqSize := s.seq.Latest()
	p := &uiPage{Origin: s.seq.Origin(), Size: size, Sequenced: seqSize}
	if sn, err := c2sp.SplitNote(cp); err == nil {
		if c, err := c2sp.ParseCheckpoint(sn.Text); err == nil {
			p.Root = c2sp.EncodeHash(c.Hash)
		}
		for _, l := range sn.Sigs {
			name, b64, _ := strings.Cut(l, " ")
			if name == s.seq.Origin() {
				continue
			}
			t, err := c2sp.CosignatureTime(b64)
			ts := "?"
			if err == nil {
				ts = t.Format(time.RFC3339)
			}
			p.Cosigs = append(p.Cosigs, uiCosig{Witness: name, Time: ts})
		}
	}
	keys, err := s.store.Builders(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		p.Builders = append(p.Builders, k)
	}
	slices.Sort(p.Builders)
	if p.Disagree, err = s.store.Disagreements(ctx, 50); err != nil {
		return nil, err
	}
	if p.Equivocate, err = s.store.Equivocations(ctx, 50); err != nil {
		return nil, err
	}
	if p.Recent, err = s.store.RecentPaths(ctx, 20); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/ui/" {
		http.NotFound(w, r)
		return
	}
	p, err := s.page(r)
	if err != nil {
		textError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	s.render(w, p)
}

func (s *Server) dashboardPath(w http.ResponseWriter, r *http.Request) {
	p, err := s.page(r)
	if err != nil {
		textError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("p"))
	p.Query = q
	if !strings.HasPrefix(q, "/nix/store/") {
		if len(q) == 32 { // a hash part
			q = "/nix/store/" + q
		}
	}
	hp := claim.HashPart(q)
	if len(hp) != 32 {
		p.Error = "enter a store path (/nix/store/HASH-NAME) or its hash part"
		s.render(w, p)
		return
	}
	rows, err := s.store.ClaimsForHashPart(r.Context(), hp, 1<<62)
	if err != nil {
		textError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	up := &uiPath{StorePath: q}
	byBuilder := map[string]int{}
	for _, a := range agreements(rows) {
		g := uiGroup{NarHash: a.Claims[0].NarHash, NarSize: a.Claims[0].NarSize, Refs: len(a.Claims[0].References)}
		up.StorePath = a.Claims[0].StorePath
		for i, c := range a.Claims {
			g.Claims = append(g.Claims, uiClaim{Builder: c.Builder, Index: a.Indexes[i], Received: receivedOf(rows, a.Indexes[i])})
			byBuilder[c.Builder]++
		}
		up.Groups = append(up.Groups, g)
	}
	for b, n := range byBuilder {
		if n > 1 {
			up.Equivocate = append(up.Equivocate, b)
		}
	}
	if len(up.Groups) == 0 {
		p.Error = "no claim for " + q
	}
	p.Path = up
	s.render(w, p)
}

func receivedOf(rows []StoredClaim, idx int64) string {
	for _, r := range rows {
		if r.Index == idx {
			return r.Received.Format(time.RFC3339)
		}
	}
	return ""
}

func (s *Server) render(w http.ResponseWriter, p *uiPage) {
	uiHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := uiTemplates().ExecuteTemplate(w, "index.html", p); err != nil {
		s.log.Warn("dashboard", "err", err)
	}
}

func (s *Server) dashboardCSS(w http.ResponseWriter, r *http.Request) {
	b, _ := uiFiles.ReadFile("ui/style.css")
	uiHeaders(w)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(b)
}
