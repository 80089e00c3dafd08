package hostaudit

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/check"
)

//go:embed advisories.json
var advisoriesJSON []byte

// Advisory is one known vulnerability of Nix and/or Lix.
type Advisory struct {
	ID         string         `json:"id"`
	Aliases    []string       `json:"aliases"`
	Severity   check.Severity `json:"severity"`
	Title      string         `json:"title"`
	Nix        Affected       `json:"nix"`
	Lix        Affected       `json:"lix"`
	References []string       `json:"references"`
}

// Affected says which versions of one implementation are affected.
type Affected struct {
	// Status is "ranges", "not-affected" or "unknown".
	Status string  `json:"status"`
	Ranges []Range `json:"ranges"`
	// FixedIn lists the releases that fix it, one per branch.
	FixedIn []string `json:"fixedIn"`
	Note    string   `json:"note"`
}

// Range is [Introduced, Fixed); an empty Fixed means no fixed release.
type Range struct {
	Introduced string `json:"introduced"`
	Fixed      string `json:"fixed"`
	Uncertain  bool   `json:"uncertain"`
}

var loadAdvisories = sync.OnceValues(func() ([]Advisory, error) {
	var f struct {
		SchemaVersion int        `json:"schemaVersion"`
		Advisories    []Advisory `json:"advisories"`
	}
	if err := json.Unmarshal(advisoriesJSON, &f); err != nil {
		return nil, fmt.Errorf("advisories.json: %w", err)
	}
	return f.Advisories, nil
})

// Advisories returns the shipped advisory data.
func Advisories() ([]Advisory, error) { return loadAdvisories() }

// Match is an advisory that applies to a version.
type Match struct {
	Advisory  Advisory
	Range     Range
	Uncertain bool
	// Unknown is set when the data has no ranges for the implementation.
	Unknown bool
}

// MatchVersion returns the advisories that affect impl ("nix" or "lix")
// at version, plus those whose data is unknown for impl.
func MatchVersion(advs []Advisory, impl, version string) []Match {
	var out []Match
	for _, a := range advs {
		af := a.Nix
		if impl == "lix" {
			af = a.Lix
		}
		switch af.Status {
		case "unknown", "":
			out = append(out, Match{Advisory: a, Unknown: true})
			continue
		case "not-affected":
			continue
		}
		for _, r := range af.Ranges {
			if compareVersions(version, r.Introduced) >= 0 && (r.Fixed == "" || compareVersions(version, r.Fixed) < 0) {
				out = append(out, Match{Advisory: a, Range: r, Uncertain: r.Uncertain})
				break
			}
		}
	}
	return out
}

// compareVersions compares dotted numeric versions; a suffix such as
// "pre20240101" or "+1" after the numbers is ignored.
func compareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionParts(v string) []int {
	var out []int
	for _, p := range strings.Split(v, ".") {
		n := 0
		for n < len(p) && p[n] >= '0' && p[n] <= '9' {
			n++
		}
		if n == 0 {
			break
		}
		x, _ := strconv.Atoi(p[:n])
		out = append(out, x)
		if n < len(p) {
			break
		}
	}
	return out
}
