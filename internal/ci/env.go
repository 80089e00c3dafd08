package ci

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Change is what the CI environment says about the change under test.
type Change struct {
	// Provider is "github", "gitlab" or "".
	Provider string
	// Base is the change's base revision ("" when unknown); From says
	// where it came from.
	Base, From string
	// Event is the GitHub event payload file (for the pr gate's labels).
	Event string
	// Labels are the merge request's labels (GitLab).
	Labels []string
}

// zeroSHA is what GitHub and GitLab give for a revision that does not
// exist (a new branch).
const zeroSHA = "0000000000000000000000000000000000000000"

// DetectChange reads the change from the environment of GitHub Actions
// (GITHUB_EVENT_NAME and the event payload at GITHUB_EVENT_PATH: a
// pull_request's base.sha, a merge_group's base_sha) or GitLab CI (a merge
// request pipeline's CI_MERGE_REQUEST_DIFF_BASE_SHA, its labels). A push
// has no base: the pr and lock gates judge a change, and are skipped.
func DetectChange(env map[string]string, readFile func(string) ([]byte, error)) (Change, error) {
	switch {
	case env["GITHUB_ACTIONS"] == "true":
		c := Change{Provider: "github", Event: env["GITHUB_EVENT_PATH"]}
		name := env["GITHUB_EVENT_NAME"]
		if c.Event == "" {
			return c, nil
		}
		data, err := readFile(c.Event)
		if err != nil {
			return c, fmt.Errorf("GITHUB_EVENT_PATH: %w", err)
		}
		var ev struct {
			PullRequest *struct {
				Base struct {
					SHA string `json:"sha"`
					Ref string `json:"ref"`
				} `json:"base"`
			} `json:"pull_request"`
			MergeGroup *struct {
				BaseSHA string `json:"base_sha"`
			} `json:"merge_group"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			return c, fmt.Errorf("GITHUB_EVENT_PATH %s: %w", c.Event, err)
		}
		switch {
		case ev.PullRequest != nil && validSHA(ev.PullRequest.Base.SHA):
			c.Base = ev.PullRequest.Base.SHA
			c.From = fmt.Sprintf("GitHub %s event, base %s", name, ev.PullRequest.Base.Ref)
		case ev.MergeGroup != nil && validSHA(ev.MergeGroup.BaseSHA):
			c.Base = ev.MergeGroup.BaseSHA
			c.From = "GitHub merge_group event"
		}
		return c, nil
	case env["GITLAB_CI"] == "true":
		c := Change{Provider: "gitlab"}
		for _, k := range []string{"CI_MERGE_REQUEST_DIFF_BASE_SHA", "CI_MERGE_REQUEST_TARGET_BRANCH_SHA"} {
			if v := env[k]; validSHA(v) {
				c.Base, c.From = v, "GitLab merge request ("+k+")"
				break
			}
		}
		if c.Base != "" {
			for _, l := range strings.Split(env["CI_MERGE_REQUEST_LABELS"], ",") {
				if l = strings.TrimSpace(l); l != "" {
					c.Labels = append(c.Labels, l)
				}
			}
		}
		return c, nil
	}
	return Change{}, nil
}

func validSHA(s string) bool {
	return (len(s) == 40 || len(s) == 64) && s != zeroSHA && strings.Trim(s, "0123456789abcdef") == ""
}
