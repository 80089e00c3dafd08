package secrets

import (
	"encoding/base64"
	"regexp"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/lazyre"
)

type opt func(*Rule)

func kw(k ...string) opt       { return func(r *Rule) { r.Keywords = k } }
func sev(s check.Severity) opt { return func(r *Rule) { r.Severity = s } }

// verify checks the secret alone; check sees the whole match.
func verify(f func(string) Verdict) opt {
	return func(r *Rule) { r.Verify = func(m *Match) Verdict { return f(m.Secret) } }
}
func inspect(f func(*Match) Verdict) opt { return func(r *Rule) { r.Verify = f } }
func group(n int) opt                    { return func(r *Rule) { r.SecretGroup = n } }
func minEntropy(e float64) opt           { return func(r *Rule) { r.Entropy = e } }
func generic() opt                       { return func(r *Rule) { r.Generic = true } }
func keyMaterial() opt                   { return func(r *Rule) { r.KeyMaterial = true } }

// before requires n bytes of a class before a rule's keyword: a cheap
// test run at each keyword hit before any regexp.
func before(n int, class func(byte) bool) opt {
	return func(r *Rule) {
		r.pre = func(data []byte, start int) bool {
			if start < n {
				return false
			}
			for _, c := range data[start-n : start] {
				if !class(c) {
					return false
				}
			}
			return true
		}
	}
}

func withPath(r *Rule, re string) *Rule {
	r.Path = regexp.MustCompile(re)
	return r
}
func tp(s ...string) opt { return func(r *Rule) { r.TP = append(r.TP, s...) } }
func fp(s ...string) opt { return func(r *Rule) { r.FP = append(r.FP, s...) } }
func allowSecret(res ...string) opt {
	return func(r *Rule) {
		a := Allowlist{Description: "known examples"}
		for _, s := range res {
			a.Regexes = append(a.Regexes, regexp.MustCompile(s))
		}
		r.Allowlists = append(r.Allowlists, a)
	}
}

func rule(id, desc, re string, opts ...opt) *Rule {
	r := &Rule{ID: id, Description: desc, expr: re}
	for _, o := range opts {
		o(r)
	}
	if r.Keywords == nil {
		// The literal prefix of the regexp is the natural keyword
		// (written down in derivedPrefixes, which spares a parse of the
		// expression at every start).
		p, ok := derivedPrefixes[derivedKey(re, nil)]
		if !ok {
			p = literalPrefix(strings.TrimPrefix(re, `\b`))
		}
		if len(p) >= 3 {
			r.Keywords = []string{p}
		}
	}
	return r
}

// Shapes shared by several rules.
const (
	// op is an assignment operator of env files, YAML, JSON, TOML, code
	// and Makefiles.
	op = `(?:=|:=|::=|:::=|\?=|\.=|\+=|:|=>|\|\|=|>[ \t]*(?:\r?\n[ \t]*)?)`
	// quoteOpen is what may stand between the operator and the value.
	quoteOpen = `[ \t]*(?:\\?["'\x60])?[ \t]*`
	// valueEnd is what may follow a value.
	valueEnd = `(?:\\?["'\x60 \t;,)\]}<&|\r\n]|\\[nrt]|$)`
	// nameTail is the rest of a name after its keyword, then its closing
	// quote and blanks.
	nameTail = `[\w.-]{0,30}(?:[ \t]+[\w.\[\]*]{1,20})?`
	// sep is what stands between a name and its value: an operator, or a
	// comma after a quoted name (setProperty("KEY", "value"); a comma
	// after a bare name is an argument list, not an assignment).
	sep  = `(?:\\?["'\x60][ \t]*(?:` + op + `|,)|[ \t]*` + op + `)`
	uuid = `[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`
)

// near is a rule regexp in which a secret follows one of the keywords
// within 40 characters (line breaks included), as a provider's keyword
// in a configuration often does: (?i:KEYWORDS)(?:.|\n){0,40}?SECRET.
func near(keywords, secret string) string {
	return `(?i:` + keywords + `)[\s\S]{0,40}?` + secret
}

// assigned is a rule regexp of a value assigned to a name containing one
// of names (env files, YAML, JSON, code), with the value as group 1.
func assigned(names, value string) string {
	return `(?i:` + names + `)` + nameTail + sep + quoteOpen + `(` + value + `)` + valueEnd
}

// DefaultRules returns nixgate's own rules, written from the token formats
// that providers document. Each call returns fresh values.
func DefaultRules() []*Rule {
	gh := verify(verifyGitHubClassic)
	rules := []*Rule{
		// GitHub: classic tokens carry a CRC32 checksum (verified offline).
		rule("github-pat", "GitHub classic personal access token", `\bghp_[A-Za-z0-9]{36}\b`, gh, sev(check.Critical),
			tp("{gh:ghp}", "ghp_{an:36}"), fp("ghp_{x:36}", "ghp_{an:20}")),
		rule("github-oauth", "GitHub OAuth access token", `\bgho_[A-Za-z0-9]{36}\b`, gh, sev(check.Critical),
			tp("{gh:gho}"), fp("gho_{x:36}", "gho_")),
		rule("github-user-to-server", "GitHub App user-to-server token", `\bghu_[A-Za-z0-9]{36}\b`, gh, sev(check.Critical),
			tp("{gh:ghu}"), fp("ghu_{x:36}")),
		rule("github-app-installation", "GitHub App installation token", `\bghs_[A-Za-z0-9]{36}\b`, gh, sev(check.Critical),
			tp("{gh:ghs}"), fp("ghs_{x:36}")),
		rule("github-app-installation-stateless", "GitHub App installation token (stateless ghs_<app id>_<JWT>)",
			`\bghs_[0-9]{1,20}_[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`, sev(check.Critical),
			tp("ghs_{dig:8}_{jwt}"), fp("ghs_1_short.x.y")),
		rule("github-refresh-token", "GitHub refresh token", `\bghr_(?:[A-Za-z0-9]{76}|[A-Za-z0-9]{36})\b`, gh, sev(check.Critical),
			tp("ghr_{an:76}", "{gh:ghr}"), fp("ghr_{x:76}")),
		// Tokens longer than the classic 36 characters (GitHub documents
		// that token lengths may grow; installation tokens already do).
		rule("github-token-long", "GitHub token (longer format)", `\bgh[pousr]_[A-Za-z0-9_]{37,255}\b`,
			kw("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), verify(notPlaceholder), sev(check.High), generic(),
			tp("ghs_{an:10}_{an:120}"), fp("ghs_{x:60}")),
		// github_pat_ + 22 + _ + 59: 82 characters after the prefix.
		rule("github-fine-grained-pat", "GitHub fine-grained personal access token", `\bgithub_pat_[A-Za-z0-9_]{82}\b`,
			verify(notPlaceholder), sev(check.Critical), tp("github_pat_{an:22}_{an:59}", "github_pat_{an:82}"), fp("github_pat_{x:22}_{x:59}")),
		// An OAuth app's client secret: 40 hex, named as a GitHub secret or
		// written beside its client ID.
		rule("github-oauth-client-secret", "GitHub OAuth app client secret",
			`(?i)github[\w.-]{0,20}?(?:client|oauth|app)?[_.-]?secret`+nameTail+sep+quoteOpen+`([a-f0-9]{40})`+valueEnd,
			kw("github"), inspect(verifyAssigned), sev(check.High),
			tp(`GITHUB_CLIENT_SECRET={hex:40}`, `github_oauth_secret: "{hex:40}"`), fp(`GITHUB_CLIENT_SECRET={x:40}`)),
		rule("github-oauth-client-pair", "GitHub OAuth app client ID and secret",
			`(?i:github)[^\n]{0,40}?['"](?:Iv1\.[a-f0-9]{16}|Ov23[A-Za-z0-9]{16}|[A-Za-z0-9]{20})['"][ \t]*,[ \t]*['"]([a-f0-9]{40})['"]`,
			kw("github"), inspect(verifyNearHex), sev(check.High),
			tp(`github = '{an:20}', '{hex:40}'`), fp(`github = '{an:21}', '{hex:40}'`)),
		// Tokens before 2021: 40 hex assigned to a GitHub name.
		rule("github-legacy-token", "GitHub token in the 40-hex format used before 2021",
			assigned(`github[_.-]?(?:token|pat|secret|key|api[_.-]?key|oauth)|gh[_.-]?token`, `[a-f0-9]{40}`),
			kw("github", "gh_token", "gh-token", "ghtoken"), inspect(verifyAssigned), sev(check.Medium), generic(),
			tp(`GITHUB_TOKEN={hex:40}`, `github_token: "{hex:40}"`), fp(`GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}`, `github_sha = "{hex:40}"`)),

		// GitLab
		rule("gitlab-pat", "GitLab personal, project or group access token", `\bglpat-[A-Za-z0-9_-]{20,}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,9})?`,
			verify(notPlaceholder), tp("glpat-{ans:20}"), fp("glpat-{x:20}")),
		rule("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", `\bglptt-[0-9a-f]{40}\b`, tp("glptt-{hex:40}"), fp("glptt-{hex:39}")),
		rule("gitlab-runner-token", "GitLab runner authentication token", `\bglrt-[A-Za-z0-9_-]{20,}`, verify(notPlaceholder),
			tp("glrt-{ans:20}"), fp("glrt-{x:20}")),
		rule("gitlab-deploy-token", "GitLab deploy token", `\bgldt-[A-Za-z0-9_-]{20,}`, verify(notPlaceholder), tp("gldt-{ans:20}"), fp("gldt-short")),
		rule("gitlab-oauth-app-secret", "GitLab OAuth application secret", `\bgloas-[a-f0-9]{64}\b`, tp("gloas-{hex:64}"), fp("gloas-{hex:10}")),

		// AWS
		rule("aws-access-key-id", "AWS access key ID", `\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b`,
			kw("akia", "asia", "abia", "acca", "a3t"), verify(notFillerAWS), allowSecret(`.+EXAMPLE$`),
			tp("AKIA{AN2:16}", "ASIA{AN2:16}"), fp("AKIAIOSFODNN7EXAMPLE", "AKIA{AN2:8}", "AKIAXXXXXXXXXXXXXXXX")),
		rule("aws-secret-access-key", "AWS secret access key",
			`(?i)aws[_.-]?(?:secret[_.-]?(?:access[_.-]?)?key|access[_.-]?key[_.-]?secret|secret)`+nameTail+sep+quoteOpen+`([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)`,
			kw("aws"), inspect(verifySecretKey), allowSecret(`EXAMPLE`), sev(check.Critical),
			tp("aws_secret_access_key = {b64:40}", "AWS_SECRET_ACCESS_KEY={b64:40}"),
			fp("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = {x:40}")),
		// A secret key written next to its key ID, whatever its name.
		rule("aws-secret-key-near-id", "AWS secret access key (beside its access key ID)",
			`\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b[\s\S]{0,200}?[^A-Za-z0-9/+=]([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`,
			kw("akia", "asia", "abia", "acca"), inspect(verifySecretKey), allowSecret(`EXAMPLE`), sev(check.Critical),
			tp("AKIA{AN2:16}\n{b64:40}\n", "id: AKIA{AN2:16}, secret: {b64:40}"), fp("aws {hex:40}")),
		rule("aws-session-token", "AWS session token", `(?i)aws[_.-]?session[_.-]?token`+nameTail+sep+quoteOpen+`([A-Za-z0-9/+=]{100,})`,
			kw("aws"), verify(notPlaceholder), sev(check.High), tp("AWS_SESSION_TOKEN={b64:300}"), fp("AWS_SESSION_TOKEN=${TOKEN}")),
		// Amazon Bedrock API keys: long-term keys are ABSK + base64 of
		// "BedrockAPIKey-…"; short-term keys are bedrock-api-key- + base64
		// of a presigned bedrock.amazonaws.com URL.
		rule("aws-bedrock-api-key", "Amazon Bedrock API key (long-term)", `\bABSK[A-Za-z0-9+/]{109,269}={0,2}`,
			verify(notPlaceholder), sev(check.Critical), tp("ABSKQmVkcm9ja0FQSUtleS1{an:108}=", "ABSKQmVkcm9ja0FQSUtleS1{an:246}"), fp("ABSKQmVkcm9ja0FQSUtleS1EXAMPLE")),
		rule("aws-bedrock-api-key-short", "Amazon Bedrock API key (short-term)", `\bbedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=]{20,}`,
			kw("bedrock-api-key-"), sev(check.High), tp("bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t{b64:40}"), fp("bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29x")),

		// Google Cloud
		rule("gcp-api-key", "Google Cloud API key", `\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)`, verify(notPlaceholder), tp("AIza{ans:35}"), fp("AIza{x:35}", "AIZASY{AN:33}")),
		rule("gcp-service-account-key", "Google Cloud service account key file", `"private_key_id"[ \t]*:[ \t]*"([a-f0-9]{40})"`,
			kw("private_key_id"), sev(check.Critical), tp(`"private_key_id": "{hex:40}"`), fp(`"private_key_id": ""`)),
		rule("google-oauth-client-secret", "Google OAuth client secret", `\bGOCSPX-[A-Za-z0-9_-]{28}\b`, tp("GOCSPX-{ans:28}"), fp("GOCSPX-{ans:10}")),
		rule("google-oauth-access-token", "Google OAuth access token", `\bya29\.[0-9A-Za-z_-]{50,}`, verify(notPlaceholder), sev(check.High),
			tp("ya29.{ans:120}"), fp("ya29.{x:60}")),
		rule("google-oauth-refresh-token", "Google OAuth refresh token (application default credentials)",
			`"refresh_token"[ \t]*:[ \t]*"(1//0[0-9A-Za-z_-]{40,})"`, kw("refresh_token"), sev(check.High),
			tp(`"refresh_token": "1//0{ans:80}"`), fp(`"refresh_token": ""`)),

		// Azure
		rule("azure-storage-account-key", "Azure storage account key", `(?i)(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{43,86}={1,2})`, kw("accountkey=", "sharedaccesskey="),
			verify(notPlaceholder), sev(check.Critical),
			tp("DefaultEndpointsProtocol=https;AccountName=x;AccountKey={b64:86}==", "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={b64:43}="), fp("AccountKey=<key>")),
		rule("azure-storage-key-assigned", "Azure storage or Cosmos DB key",
			`(?i)(?:access|account|storage|primary|secondary|master)[_.-]?key[\s\S]{0,25}?([A-Za-z0-9+/]{86}==)`,
			kw("accesskey", "access_key", "access-key", "access.key", "accountkey", "account_key", "account-key", "account.key",
				"storagekey", "storage_key", "storage-key", "primarykey", "primary_key", "secondarykey", "masterkey", "master_key"),
			group(1), verify(notPlaceholder), sev(check.Critical),
			tp(`AZURE_STORAGE_KEY="{b64:86}=="`, `"storageAccountKey": "{b64:86}=="`), fp(`AZURE_STORAGE_KEY="${KEY}"`)),
		rule("azure-ad-client-secret", "Azure AD (Entra ID) client secret",
			`(?:^|[\\\x60'" \t>=:(,)])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:$|[\\\x60'" \t<),])`, kw("q~"),
			verify(notPlaceholder), sev(check.Critical),
			tp(`client_secret = "{an:3}8Q~{an:34}"`, `({an:3}7Q~{an:31})`), fp("abc8Q~short", "bP88Q~{x:34}")),
		rule("azure-devops-pat", "Azure DevOps personal access token", near(`azure|devops|\bado_|vsts`, `\b([a-z0-9]{52})\b`),
			kw("azure", "devops", "ado_", "vsts"), group(1), verify(notPlaceholder), sev(check.High),
			tp("AZURE_DEVOPS_PAT={az:52}"), fp("azure {x:52}")),
		rule("azure-devops-pat-v2", "Azure DevOps personal access token (84 characters)", `\b[A-Za-z0-9]{52}JQQJ9[9A-D][A-Za-z0-9][A-Za-z0-9]{5}AZDO[A-Za-z0-9]{4}\b`,
			kw("azdo"), sev(check.High), tp("{an:52}JQQJ99{an:6}AZDO{an:4}"), fp("{an:20}AZDO")),
		rule("azure-sas-token", "Azure shared access signature", `\bsv=[0-9]{4}-[0-9]{2}-[0-9]{2}&[^\s"'<>]{0,400}?\bsig=([A-Za-z0-9%+/]{30,}={0,2}(?:%3[Dd]){0,2})`,
			kw("sv="), inspect(verifySAS), sev(check.High),
			tp("https://x.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig={b64:40}%3D"), fp("sv=2022-11-02&sig=<signature>")),

		// Other clouds and platforms
		rule("alibaba-access-key-id", "Alibaba Cloud AccessKey ID", `\bLTAI[A-Za-z0-9]{20}\b`, verify(notPlaceholder), tp("LTAI{an:20}"), fp("LTAI{x:20}")),
		rule("digitalocean-token", "DigitalOcean personal access, OAuth or refresh token", `\bdo[opr]_v1_[a-f0-9]{64}\b`,
			kw("dop_v1_", "doo_v1_", "dor_v1_"), tp("dop_v1_{hex:64}"), fp("dop_v1_{hex:12}")),
		// Heroku: HRKU-AA tokens since 2024; before, a UUID.
		rule("heroku-api-key", "Heroku API key", `\bHRKU-AA[A-Za-z0-9_-]{58}\b`, tp("HRKU-AA{ans:58}"), fp("HRKU-AA{ans:5}")),
		rule("heroku-api-key-legacy", "Heroku API key (legacy UUID format)", near(`heroku`, `\b(`+uuid+`)\b`),
			kw("heroku"), group(1), verify(notFillerUUID), sev(check.Medium),
			tp(`HEROKU_API_KEY={uuid}`, `heroku_api_key = "{UUID}"`), fp(`heroku app id {x:8}-{x:4}-{x:4}-{x:4}-{x:12}`, `HEROKU_API_KEY=00000000-0000-0000-0000-000000000000`)),
		rule("flyio-token", "Fly.io access token", `\b(?:fo1_[A-Za-z0-9_-]{43}\b|FlyV1 fm[12][ar]?_[A-Za-z0-9+/=,_-]{100,})`,
			kw("fo1_", "flyv1 fm"), tp("fo1_{ans:43}", "FlyV1 fm2_{b64:120}"), fp("fo1_{ans:10}")),
		rule("cloudflare-origin-ca-key", "Cloudflare Origin CA key", `\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}\b`, tp("v1.0-{hex:24}-{hex:146}"), fp("v1.0-{hex:24}")),
		rule("supabase-token", "Supabase access token", `\bsbp_[a-f0-9]{40}\b`, tp("sbp_{hex:40}"), fp("sbp_{hex:8}")),
		rule("planetscale-token", "PlanetScale token or password", `\bpscale_(?:tkn|pw|oauth)_[A-Za-z0-9=._-]{32,64}\b`,
			kw("pscale_"), tp("pscale_tkn_{an:43}"), fp("pscale_tkn_x")),
		rule("vault-token", "HashiCorp Vault service or batch token", `\bhv[sb]\.[A-Za-z0-9_-]{90,}`, kw("hvs.", "hvb."),
			tp("hvs.{ans:95}"), fp("hvs.{ans:20}")),
		rule("terraform-cloud-token", "Terraform Cloud / Enterprise API token", `\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}\b`,
			kw(".atlasv1."), tp("{an:14}.atlasv1.{ans:67}"), fp("x.atlasv1.y")),

		rule("databricks-token", "Databricks personal access token", `\bdapi[a-f0-9]{32}(?:-[0-9])?\b`, tp("dapi{hex:32}"), fp("dapi{hex:8}")),

		// Slack
		rule("slack-bot-token", "Slack bot token", `\bxoxb-[0-9]{10,13}-[0-9]{10,13}-?[A-Za-z0-9-]{8,}`, kw("xoxb-"), inspect(verifySlackMatch),
			tp("xoxb-{dig:12}-{dig:13}-{an:24}"), fp("xoxb-123-456-abc", "xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx")),
		rule("slack-legacy-bot-token", "Slack legacy bot token", `\bxoxb-[0-9]{8,14}-[A-Za-z0-9]{18,26}\b`, kw("xoxb-"), inspect(verifySlackMatch),
			tp("xoxb-{dig:12}-{an:24}"), fp("xoxb-12345-abcd234", "xoxb-xoxb-my-bot-token")),
		rule("slack-user-token", "Slack user token", `\bxox[pe](?:-[0-9]{10,13}){3}-[A-Za-z0-9-]{28,34}\b`, kw("xoxp-", "xoxe-"), inspect(verifySlackMatch),
			tp("xoxp-{dig:12}-{dig:12}-{dig:12}-{hex:32}"), fp("xoxp-1-2-3-4", "xoxp-1234-1234-1234-{hex:32}")),
		rule("slack-legacy-token", "Slack legacy token", `\bxox[os]-[0-9]+-[0-9]+-[0-9]+-[A-Fa-f0-9]+\b`, kw("xoxo-", "xoxs-"), inspect(verifySlackMatch),
			tp("xoxs-{dig:10}-{dig:11}-{dig:12}-{hex:64}"), fp("xoxs-x")),
		rule("slack-legacy-workspace-token", "Slack legacy workspace token", `\bxox[ar]-(?:[0-9]-)?[0-9A-Za-z]{8,48}\b`, kw("xoxa-", "xoxr-"), inspect(verifySlackMatch),
			tp("xoxa-2-{an:40}", "xoxr-{an:32}"), fp("xoxr-xxxxxxxx")),
		rule("slack-app-token", "Slack app-level token", `(?i)\bxapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{12,14}-[a-f0-9]{64}\b`, kw("xapp-"),
			tp("xapp-1-{AN:11}-{dig:13}-{hex:64}"), fp("xapp-1-X-1-a")),
		rule("slack-config-token", "Slack configuration access or refresh token", `(?i)\bxoxe(?:\.xox[bp]-[0-9]-[A-Z0-9]{163,166}|-[0-9]-[A-Z0-9]{146})\b`,
			kw("xoxe.xoxb-", "xoxe.xoxp-", "xoxe-"), inspect(verifySlackMatch),
			tp("xoxe.xoxp-1-{an:163}", "xoxe-1-{an:146}"), fp("xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere", "xoxe-1-xxx")),
		rule("slack-webhook-url", "Slack incoming webhook URL", `(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}`,
			kw("hooks.slack.com"), inspect(verifySlackMatch),
			tp("https://hooks.slack.com/services/T{AN:10}/B{AN:10}/{an:24}", "http://hooks.slack.com/services/T{AN:8}/B{AN:8}/{an:24}", "hooks.slack.com/workflows/T{AN:8}/A{AN:8}/{dig:18}/{an:24}"),
			fp("https://hooks.slack.com/services/", "https://hooks.slack.com/apps/T{AN:8}/B{AN:8}/{an:24}")),

		// Chat and messaging
		rule("discord-bot-token", "Discord bot token", near(`discord`, `\b([A-Za-z0-9_-]{24,26}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})\b`),
			kw("discord"), group(1), verify(verifyDiscordBot), sev(check.High),
			tp("discord token: {discord}", "DISCORD_BOT_TOKEN={discord}"), fp("discord {x:24}.{x:6}.{x:27}")),
		rule("discord-webhook-url", "Discord webhook URL", `https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/(?:v[0-9]+/)?webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}`,
			kw("discord"), tp("https://discord.com/api/webhooks/{dig:18}/{ans:68}"), fp("https://discord.com/api/webhooks/1/2")),
		rule("discord-client-secret", "Discord client secret or API token",
			assigned(`discord`, `[a-f0-9]{64}|[A-Za-z0-9_-]{32}`), kw("discord"), inspect(verifyAssigned), sev(check.High),
			tp(`DISCORD_CLIENT_SECRET={ans:32}`, `discord_api_token = "{hex:64}"`), fp(`discord_client_secret = "{x:32}"`)),
		rule("discord-client-id", "Discord client ID", assigned(`discord`, `[0-9]{17,20}`), kw("discord"), inspect(verifyDiscordID), sev(check.Low),
			tp(`discord_client_id = "{dig:18}"`), fp(`discord=000000000000000000`)),
		// Telegram: <bot id>:<35 characters>, usually starting AA.
		rule("telegram-bot-token", "Telegram bot token", `\b[0-9]{8,10}:AA[A-Za-z0-9_-]{33}\b`, kw(":aa"),
			verify(notPlaceholder), tp("{dig:10}:AA{ans:33}"), fp("12:AAxx")),
		rule("telegram-bot-token-near", "Telegram bot token", near(`telegr|tgram://|\btg[_.-]|bot[_.-]?token`, `(?:^|[^0-9A-Za-z_-])([0-9]{5,16}:[A-Za-z0-9_-]{35})(?:[^0-9A-Za-z_-]|$)`),
			kw("telegr", "tgram://", "tg_", "tg-", "tg.", "bot_token", "bottoken", "bot-token", "bot.token"), group(1), verify(notPlaceholder), sev(check.High),
			tp("TELEGRAM_BOT_TOKEN={dig:9}:{ans:35}", "telegram bot: {dig:16}:A{ans:34}"), fp("telegram_api_token = \"{dig:8}:Ahello{ans:34}\"", "telegram_api_token = \"{dig:4}:A{ans:34}\"")),
		rule("linear-api-key", "Linear API key", `\blin_api_[A-Za-z0-9]{40}\b`, tp("lin_api_{an:40}"), fp("lin_api_{an:10}")),
		rule("atlassian-api-token", "Atlassian API token", `\bATATT3[A-Za-z0-9_=-]{186}`, tp("ATATT3{ans:186}"), fp("ATATT3{ans:20}")),
		rule("twilio-api-key", "Twilio API key", `(?i:twilio)[\w.-]{0,30}["']?[ \t]*(?:=|:|=>)[ \t]*["']?(SK[0-9a-fA-F]{32})\b`,
			kw("twilio"), tp("TWILIO_API_KEY=SK{hex:32}"), fp("TWILIO_API_KEY=SK{hex:10}")),
		rule("sendgrid-api-key", "SendGrid API key", `\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b`, kw("sg."),
			tp("SG.{ans:22}.{ans:43}"), fp("SG.a.b")),
		rule("mailgun-api-key", "Mailgun API key", `\bkey-[0-9a-f]{32}\b`, verify(notPlaceholder), tp("key-{hex:32}"), fp("key-{x:32}")),
		rule("mailchimp-api-key", "Mailchimp API key", `\b[0-9a-f]{32}-us[0-9]{1,2}\b`, kw("-us"), verify(notPlaceholder),
			tp("{hex:32}-us14"), fp("{hex:20}-us14")),
		rule("postman-api-key", "Postman API key", `\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b`, tp("PMAK-{hex:24}-{hex:34}"), fp("PMAK-{hex:24}")),

		// Payments and commerce
		rule("stripe-secret-key", "Stripe secret or restricted key", `\b(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,247}\b`,
			kw("sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"), verify(verifyStripe),
			tp("sk_live_{an:24}", "rk_live_{an:24}", "sk_prod_{an:99}"), fp("sk_live_{x:24}", "task_test_{an:30}")),
		rule("stripe-webhook-secret", "Stripe webhook signing secret", `\bwhsec_[A-Za-z0-9+/=]{32,}`, verify(notPlaceholder),
			tp("whsec_{an:32}"), fp("whsec_{x:32}")),
		rule("shopify-token", "Shopify access token or shared secret", `\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b`,
			kw("shpat_", "shpca_", "shppa_", "shpss_"), tp("shpat_{hex:32}"), fp("shpat_{hex:8}")),
		rule("square-token", "Square access token or OAuth secret", `\b(?:EAAA[A-Za-z0-9_-]{60}|sq0atp-[A-Za-z0-9_-]{22}|sq0csp-[A-Za-z0-9_-]{43})\b`,
			kw("eaaa", "sq0atp-", "sq0csp-"), verify(notPlaceholder), tp("EAAA{ans:60}", "sq0csp-{ans:43}"), fp("sq0atp-short")),
		rule("shippo-token", "Shippo API token", `\bshippo_(?:live|test)_[a-f0-9]{40}\b`, kw("shippo_"), tp("shippo_live_{hex:40}"), fp("shippo_live_x")),
		rule("easypost-api-key", "EasyPost API key", `\bEZ[AT]K[A-Za-z0-9]{54}\b`, kw("ezak", "eztk"), tp("EZAK{an:54}"), fp("EZAK{an:10}")),

		// Package registries
		rule("npm-access-token", "npm access token", `(?i)\bnpm_[A-Za-z0-9]{36}\b`, kw("npm_"), verify(notPlaceholder), tp("npm_{an:36}"), fp("npm_{x:36}", "npm_install")),
		rule("npmrc-auth", "npm registry credential (.npmrc _authToken, _auth or _password)",
			`(?:^|[\s"'])(?://[^\s:]+/:)?_(?:authToken|auth|password)[ \t]*=[ \t]*["']?([^\s"'$]{8,})`,
			kw("_authtoken", "_auth", "_password"), inspect(verifyNpmrc), sev(check.High),
			tp("//registry.npmjs.org/:_authToken={an:36}", "_auth={dockerauth}"), fp("//registry.npmjs.org/:_authToken=${NPM_TOKEN}")),
		rule("npm-legacy-token", "npm access token (legacy UUID format)", near(`npm`, `\b(`+uuid+`)\b`),
			kw("npm"), group(1), verify(notFillerUUID), sev(check.Medium), tp("npm token = '{uuid}'"), fp("npm {x:8}-{x:4}-{x:4}-{x:4}-{x:12}")),
		rule("pypi-upload-token", "PyPI upload token", `\bpypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}`,
			kw("pypi-ageichlwas5vcmc", "pypi-agendgvzdc5wexbplm9yzw"), tp("pypi-AgEIcHlwaS5vcmc{ans:60}", "pypi-AgEIcHlwaS5vcmc{hex:64}"), fp("pypi-AgEIcHlwaS5vcmc")),
		rule("dockerhub-token", "Docker Hub personal or organisation access token", `\bdckr_(?:pat|oat)_[A-Za-z0-9_-]{27,}`,
			kw("dckr_pat_", "dckr_oat_"), verify(notPlaceholder), tp("dckr_pat_{ans:27}"), fp("dckr_pat_{ans:5}")),
		// A docker config's auths.<registry>.auth: base64 of user:password.
		rule("docker-config-auth", "registry credential in a docker config (auths.*.auth)",
			`[\\"]{0,7}auth[\\"]{1,7}[ \t]*:[ \t]*[\\"]{1,7}([A-Za-z0-9+/]{6,}={0,2})[\\"]`,
			kw("auth"), verify(verifyDockerAuth), sev(check.High), generic(),
			tp(`{"auths":{"ghcr.io":{"auth":"{dockerauth}"}}}`), fp(`{"auths":{"ghcr.io":{"auth":""}}}`, `"auth": "{x:12}"`)),
		rule("docker-login-password", "password on a docker login command line",
			`\bdocker[ \t]+login\b[^\n]{0,200}?[ \t](?:-p|--password)(?:[ \t]+|=)["']?([^\s"'$]{6,})`,
			kw("docker"), verify(verifyPassword), sev(check.High),
			tp("docker login -u ci -p {an:20} ghcr.io"), fp("docker login -u ci -p $TOKEN ghcr.io", "docker login --password-stdin")),
		rule("rubygems-api-key", "RubyGems API key", `\brubygems_[a-f0-9]{48}\b`, tp("rubygems_{hex:48}"), fp("rubygems_{hex:4}")),
		rule("nuget-api-key", "NuGet API key", `\boy2[a-z0-9]{43}\b`, verify(notPlaceholder), tp("oy2{lowdig:43}"), fp("oy2{x:43}")),
		rule("clojars-token", "Clojars deploy token", `\bCLOJARS_[a-z0-9]{60}\b`, tp("CLOJARS_{lowdig:60}"), fp("CLOJARS_{lowdig:6}")),
		rule("artifactory-api-key", "JFrog Artifactory API key", `\bAKCp[A-Za-z0-9]{69}\b`, tp("AKCp{an:69}"), fp("AKCp{an:9}")),

		// AI providers
		rule("huggingface-token", "Hugging Face access token", `\bhf_[A-Za-z]{34}\b`, verify(notPlaceholder), tp("hf_{alpha:34}"), fp("hf_{x:34}")),
		rule("huggingface-org-token", "Hugging Face organisation API token", `\bapi_org_[A-Za-z]{34}\b`, verify(notPlaceholder),
			tp("api_org_{alpha:34}"), fp("api_org_{x:34}")),
		rule("openai-api-key", "OpenAI API key", `\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}\b`,
			kw("t3blbkfj"), tp("sk-proj-{ans:40}T3BlbkFJ{ans:40}", "sk-{an:20}T3BlbkFJ{an:20}"), fp("sk-T3BlbkFJ")),
		rule("anthropic-api-key", "Anthropic API key", `\bsk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA\b`, kw("sk-ant-"),
			tp("sk-ant-api03-{ans:93}AA"), fp("sk-ant-api03-{ans:10}AA")),
		rule("groq-api-key", "Groq API key", `\bgsk_[A-Za-z0-9]{52}\b`, tp("gsk_{an:52}"), fp("gsk_{an:12}")),
		rule("replicate-api-token", "Replicate API token", `\br8_[A-Za-z0-9]{37}\b`, kw("r8_"), tp("r8_{an:37}"), fp("r8_{an:7}")),
		rule("perplexity-api-key", "Perplexity API key", `\bpplx-[A-Za-z0-9]{48}\b`, tp("pplx-{an:48}"), fp("pplx-{an:8}")),

		// Observability and developer platforms
		rule("grafana-token", "Grafana Cloud or service account token", `\b(?:glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\b)`,
			kw("glc_", "glsa_"), verify(notPlaceholder), tp("glc_{b64:48}", "glsa_{an:32}_{hex:8}"), fp("glc_{x:40}")),
		rule("newrelic-user-api-key", "New Relic user API key", `\bNRAK-[A-Z0-9]{27}\b`, tp("NRAK-{AN:27}"), fp("NRAK-{AN:7}")),
		rule("sentry-token", "Sentry organisation or user auth token", `\bsntry[su]_[A-Za-z0-9+/=_-]{40,}`, kw("sntrys_", "sntryu_"),
			tp("sntryu_{hex:64}"), fp("sntryu_{hex:4}")),
		rule("dynatrace-token", "Dynatrace API token", `\bdt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}\b`, tp("dt0c01.{AN:24}.{AN:64}"), fp("dt0c01.X.Y")),
		rule("doppler-token", "Doppler token", `\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}\b`, kw("dp."),
			tp("dp.pt.{an:43}"), fp("dp.pt.{an:4}")),
		rule("pulumi-access-token", "Pulumi access token", `\bpul-[a-f0-9]{40}\b`, tp("pul-{hex:40}"), fp("pul-{hex:4}")),
		rule("prefect-api-key", "Prefect API key", `\bpnu_[A-Za-z0-9]{36}\b`, tp("pnu_{an:36}"), fp("pnu_{an:6}")),
		rule("readme-api-key", "ReadMe API key", `\brdme_[a-z0-9]{70}\b`, tp("rdme_{lowdig:70}"), fp("rdme_{lowdig:7}")),
		rule("typeform-token", "Typeform personal access token", `\btfp_[A-Za-z0-9_.=-]{59}`, tp("tfp_{ans:59}"), fp("tfp_{ans:9}")),
		rule("adobe-client-secret", "Adobe client secret", `\bp8e-[A-Za-z0-9]{32}\b`, tp("p8e-{an:32}"), fp("p8e-{an:3}")),

		// Private keys. The body may be written with real line breaks, with
		// \n escapes (inside a JSON string) or indented (inside a Nix or
		// YAML string).
		rule("openssh-private-key", "OpenSSH private key", `-----BEGIN OPENSSH PRIVATE KEY-----[\s\S]*?-----END OPENSSH PRIVATE KEY-----`,
			kw("-----begin openssh private key-----"), verify(verifyPEM), sev(check.Critical), keyMaterial(),
			tp("{pem:OPENSSH PRIVATE KEY}"), fp("-----BEGIN OPENSSH PRIVATE KEY-----\n<redacted>\n-----END OPENSSH PRIVATE KEY-----")),
		rule("pgp-private-key-block", "PGP private key block", `-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]*?-----END PGP PRIVATE KEY BLOCK-----`,
			kw("-----begin pgp private key block-----"), verify(verifyPEM), sev(check.Critical), keyMaterial(),
			tp("{pem:PGP PRIVATE KEY BLOCK}"), fp("{pem:PGP PUBLIC KEY BLOCK}", "{pem:PGP MESSAGE}")),
		rule("private-key", "PEM private key (RSA, EC, DSA, PKCS#8, encrypted)",
			`-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY-----[\s\S]*?-----END[ A-Z0-9_-]{0,40}PRIVATE KEY-----`,
			kw("private key-----"), verify(verifyPEM), sev(check.Critical), keyMaterial(),
			tp("{pem:RSA PRIVATE KEY}", "{pem:PRIVATE KEY}", "{pem:EC PRIVATE KEY}"),
			fp("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", "{pem:PUBLIC KEY}")),
		rule("putty-private-key", "PuTTY private key file", `PuTTY-User-Key-File-[23]: [a-z0-9-]+\r?\nEncryption: [a-z0-9-]+`,
			kw("putty-user-key-file-"), sev(check.Critical),
			tp("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x"), fp("PuTTY-User-Key-File-3 is the format")),
		rule("age-secret-key", "age identity (secret key)", `\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b`,
			kw("age-secret-key-1"), verify(verifyAge), sev(check.Critical), keyMaterial(),
			tp("{age}"), fp("age1{lowdig:58}", "AGE-SECRET-KEY-1{x:58}")),
		rule("age-plugin-identity", "age plugin identity (AGE-PLUGIN-…)", `\bAGE-PLUGIN-[A-Z0-9]+-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{20,}\b`,
			kw("age-plugin-"), verify(verifyAge), sev(check.High),
			tp("{ageplugin}"), fp("AGE-PLUGIN-YUBIKEY-1{x:30}")),

		// Tokens of any issuer
		rule("jwt", "JSON Web Token", `\b(?:eyJ|ewog|ewoi)[A-Za-z0-9_-]{10,}={0,2}\.(?:eyJ|ewo)[A-Za-z0-9_/\\-]{10,}={0,2}\.(?:[A-Za-z0-9_/\\-]{10,}={0,2})?`,
			kw("eyj", "ewog", "ewoi"), verify(verifyJWT), sev(check.Medium), generic(),
			tp("{jwt}", "{jwtnone}"), fp("eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJIUzI1NiJ9.eyJ.x")),
		rule("authorization-header", "credential in an HTTP Authorization header",
			`(?i)\bauthorization\\?["']?[ \t]*[:=][ \t]*\\?["']?[ \t]*(?:bearer|token|basic|bot)[ \t]+([A-Za-z0-9._~+/=-]{16,})`,
			kw("authorization"), inspect(verifyAuthHeader), sev(check.High), generic(),
			tp(`curl -H "Authorization: Bearer {an:40}" https://api.example.org`, `Authorization: Basic {basic}`),
			fp(`Authorization: Bearer ${TOKEN}`, `"Authorization": "Bearer " + token`, `Authorization: Bearer <token>`)),
		rule("curl-user-password", "password on a curl command line", `\bcurl\b[^\n]{0,200}?[ \t](?:-u|--user)[ \t=]+["']?[^\s:"']{1,64}:([^\s"'$@]{6,})`,
			kw("curl"), verify(verifyPassword), sev(check.High), generic(),
			tp("curl -u admin:{an:16} https://x.example.org"), fp("curl -u admin:$PASSWORD https://x", "curl -u user:password https://x")),

		// Nix and its ecosystem. A Nix secret key is name:base64 of 64 bytes,
		// an ed25519 seed and its public key; the same 64 bytes without a
		// name are Cachix's signing key format. Both are checked by deriving
		// the public half from the seed, so a signature of the same shape
		// stays silent.
		rule("nix-signing-key", "Nix binary-cache signing secret key (an ed25519 seed and its public key, base64)",
			`(?:\b[A-Za-z0-9][A-Za-z0-9._+-]{0,100}:)?[A-Za-z0-9+/]{86}==`, kw("=="), verify(verifyNixKey), sev(check.Critical), keyMaterial(),
			before(86, isB64Byte),
			tp("{nixkey:cache.example.org-1}", `secret = "{nixkey:my-cache}";`, "SIGNING_KEY: {nixkeyb64}"),
			fp("Sig: {nixsig:cache.nixos.org-1}", "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=", "{nixsigb64}")),
		rule("nix-access-tokens", "access-tokens in a Nix configuration", `(?:^|[^\w-])(?:extra-)?access-tokens\\?["']?[ \t]*(?:=|:)[ \t]*(?:\[[ \t]*)?([^\n;\]]+)`,
			kw("access-tokens"), verify(verifyAccessTokens), sev(check.Critical),
			tp("access-tokens = github.com={an:40}", "extra-access-tokens = gitlab.example.org=PAT:{an:20}", `nixConfig.access-tokens = "github.com={gh:ghp}";`),
			fp("access-tokens = github.com=${GITHUB_TOKEN}", "# access-tokens = github.com=<token>", "access-tokens = github.com=23ac...b289 gitlab.mycompany.com=PAT:A123Bp_Cd..EfG gitlab.com=OAuth2:1jklw3jk")),
		rule("netrc-password", "netrc credentials", `(?i)\bmachine[ \t]+\S+(?:[ \t]+|[ \t]*\r?\n[ \t]*)(?:login[ \t]+\S+(?:[ \t]+|[ \t]*\r?\n[ \t]*))?password[ \t]+([^\s"'\x60\\,;]+)`, kw("machine"),
			inspect(verifyNetrc), tp("machine cache.example.org login ci password {an:20}", "machine cache.example.org\n  login ci\n  password {an:20}"),
			fp("machine example.org login ci password $NETRC_PASSWORD", "machine state machine", `"machine cache password p\n"`, "password project-token")),
		rule("cachix-auth-token", "Cachix auth token",
			`(?i)(?:cachix[_.-]?auth[_.-]?token\\?["']?[ \t]*(?:=|:|=>)[ \t]*\\?["']?|cachix[ \t]+authtoken[ \t]+)([A-Za-z0-9._-]{20,})(?:["'\x60 \t;,)]|\\[nr]|$)`,
			kw("cachix"), inspect(verifyAssigned), sev(check.Critical),
			tp("CACHIX_AUTH_TOKEN={jwt}", "cachix authtoken {jwt}"),
			fp("CACHIX_AUTH_TOKEN=${{ secrets.CACHIX_AUTH_TOKEN }}", "cachix authtoken $TOKEN", "cachix_auth_token: MY_TEAM_CACHIX_TOKEN",
				"cachix_auth_token: base.cachix_auth_token", "let project_cachix_auth_token = cachix_auth_token_secret.and_then(|secret_name| {")),
		withPath(rule("cachix-config-auth-token", "Cachix auth token in a cachix.dhall configuration", `\bauthToken[ \t]*=[ \t]*"([A-Za-z0-9._-]{20,})"`,
			kw("authtoken"), inspect(verifyAssigned), sev(check.Critical), tp(`{ authToken = "{jwt}" }`), fp(`{ authToken = "" }`)), `(?i)\.dhall$`),
		rule("connection-url-password", "password in a connection URL",
			`\b[a-zA-Z][a-zA-Z0-9+.-]{1,30}://[^:/\s@"'<>]{1,100}:([^@/\s"'<>]{3,100})@[A-Za-z0-9._-]{2,}`, kw("://"),
			verify(verifyPassword), generic(), tp("postgres://app:{an:16}@db.internal:5432/app", "amqp://guest:{an:12}@rabbit/"),
			fp("postgres://app:${DB_PASSWORD}@db/app", "https://user:password@example.com", "mysql://root:<password>@localhost", "postgres://postgres:urlencodedpassword@localhost/foo")),
		rule("generic-secret-assignment", "high-entropy value assigned to a secret-like name",
			assigned(`secret|token|passw(?:or)?d|pwd|credential|creds|api[_.-]?key|apikey|auth|access[_.-]?key|private[_.-]?key|(?:account|storage|master|encryption|client|app)[_.-]?key`,
				`[A-Za-z0-9+/_.=~!@#$%^&*-]{10,}`),
			kw("secret", "token", "passwd", "password", "pwd", "credential", "creds", "api_key", "apikey", "api-key", "api.key", "auth",
				"access_key", "access-key", "accesskey", "access.key", "private_key", "private-key", "privatekey", "private.key",
				"account_key", "accountkey", "storage_key", "storagekey", "master_key", "masterkey",
				"encryption_key", "encryptionkey", "client_key", "clientkey", "app_key", "appkey"),
			group(1), inspect(verifyGeneric), generic(), sev(check.Medium),
			tp(`DB_PASSWORD="{an:24}"`, `api_key: {an:32}`, `"credentials" : "{hex:64}"`, `creds = {an:30}`),
			fp(`password = "changeme"`, `token := tokenizer.Next()`, `SECRET_KEY_FILE=/run/secrets/key-file-path-x`, `KindSecret = "k8s-secret-manifest"`,
				`LLM_SECRET_NAME = "NEXUS-GPT4-API-KEY"`, `secret_length = X25519.secret_length`,
				`csrf-token=Mj2qykJO5rELyHgezQ69nzUX0i3OH67V7+V4eUrLfpuyOuxmiW9rhROG/Whikle15syazJOkrjJa3U2AbhIvUw==`,
				`password_sha256_hex = "{hex:64}";  # echo -n verysecret | sha256sum`, `token_endpoint=https%3A%2F%2Flogin.example.org%2Ftoken`,
				`public_key = "{an:40}"`, `key_length = XSalsa20.key_length`, `apiUrl=apigee.corpint.com`)),
	}
	return rules
}

func verifyStripe(s string) Verdict {
	if isPlaceholder(s[strings.LastIndexByte(s, '_')+1:]) {
		return Verdict{}
	}
	if strings.Contains(s, "_test_") {
		return Verdict{OK: true, Severity: check.Low, Note: "test-mode key"}
	}
	return Verdict{OK: true}
}

// verifyPEM accepts a private key block with a body of real content, and
// notes one protected by a passphrase.
func verifyPEM(s string) Verdict {
	typ, body := pemBody(s)
	n := 0
	for i := 0; i < len(body); i++ {
		if isB64Byte(body[i]) {
			n++
		}
	}
	if n < 64 || isPlaceholder(body) && entropy(body) < 3 || strings.Contains(body, "...") {
		return Verdict{}
	}
	encrypted := strings.Contains(typ, "ENCRYPTED") || strings.Contains(s, "Proc-Type: 4,ENCRYPTED")
	if typ == "OPENSSH PRIVATE KEY" {
		if der, err := base64.StdEncoding.DecodeString(body); err == nil && opensshEncrypted(der) {
			encrypted = true
		}
	}
	if encrypted {
		return Verdict{OK: true, Severity: check.Medium, Note: "passphrase-encrypted"}
	}
	return Verdict{OK: true}
}

// verifyPassword rejects placeholders and variable references.
func verifyPassword(s string) Verdict {
	s = strings.Trim(s, `"'`)
	if len(s) < 4 || notSecretValue(s, "") != "" || strings.ContainsAny(s, "{}") {
		return Verdict{}
	}
	return Verdict{OK: true}
}

// verifyNetrc is verifyPassword for a netrc password, which also must not
// be the end of a string literal in code ("…password p\n").
func verifyNetrc(m *Match) Verdict {
	if strings.HasPrefix(m.After, `\n`) || strings.HasPrefix(m.After, `\"`) {
		return Verdict{}
	}
	return verifyPassword(m.Secret)
}

// providerPrefixRe matches the start of a provider token: a value that
// begins so and that the provider's rule did not accept is malformed or a
// placeholder, not a generic secret.
var providerPrefixRe = lazyre.New(`^(?:xox[abeoprs]-|gh[pousr]_|github_pat_|[sr]k_(?:live|test|prod)_|pk_(?:live|test)_|AKIA|ASIA|glpat-|npm_|pypi-|dckr_pat_|hf_|sk-)`)

// testWordRe finds "test" as a word of a value (task_test_…, test-key-…).
var testWordRe = lazyre.New(`(?i)(?:^|[_-])test(?:[_-]|$)`)

func verifyGeneric(m *Match) Verdict {
	s := m.Secret
	// Codecov's badge graph tokens are public by design.
	if strings.Contains(m.Before, "codecov") || strings.Contains(m.Before, "badge.svg") {
		return Verdict{}
	}
	if len(s) > 128 || strings.ContainsAny(s[:1], "$<{%/.*&!#@") || strings.Contains(s, "${") || strings.Contains(s, "://") ||
		providerPrefixRe().MatchString(s) || testWordRe().MatchString(s) {
		return Verdict{}
	}
	// Enough randomness for its length: 16 characters and more above 3.5
	// bits per character, shorter ones a little less; hex (at most 4
	// bits per character) above 3.0.
	need := 3.5
	switch {
	case len(s) >= 32 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == "":
		need = 3.0
	case len(s) < 16:
		need = 3.2
	}
	if entropy(s) <= need || !strings.ContainsAny(s, "0123456789") {
		return Verdict{}
	}
	// Lower-case letters with a digit or two, short: a word-like name
	// (fts5yyminor) more often than a random value.
	if len(s) < 16 && lowerNameRe().MatchString(s) && digitCount(s) <= 2 {
		return Verdict{}
	}
	return verifyAssigned(m)
}

// verifyAccessTokens accepts a Nix access-tokens value holding at least one
// literal token. A value in which any token is elided ("23ac...b289", as in
// Nix's manual) or a placeholder is documentation.
func verifyAccessTokens(v string) Verdict {
	found := false
	for _, f := range strings.Fields(strings.NewReplacer(`"`, " ", `'`, " ", ",", " ").Replace(v)) {
		_, tok, ok := strings.Cut(strings.Trim(f, `;`), "=")
		if !ok {
			continue
		}
		tok = strings.TrimPrefix(strings.TrimPrefix(tok, "PAT:"), "OAuth2:")
		if strings.Contains(tok, "..") || strings.Contains(tok, "…") || strings.ContainsAny(tok, "{}") {
			return Verdict{}
		}
		if len(tok) >= 12 && entropy(tok) > 3 && notSecretValue(tok, "") == "" {
			found = true
		}
	}
	return Verdict{OK: found}
}

// verifySecretKey checks a 40-character AWS secret key: random, with the
// character classes of a real key.
func verifySecretKey(m *Match) Verdict {
	s := m.Secret
	if notSecretValue(s, "") != "" || entropy(s) < 4.0 {
		return Verdict{}
	}
	var upper, lower, digit bool
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		}
	}
	if !upper || !lower || !digit {
		return Verdict{}
	}
	return Verdict{OK: true}
}

// verifyNearHex accepts a 40-hex secret that is random-looking and not a
// commit hash named as such.
func verifyNearHex(m *Match) Verdict {
	low := strings.ToLower(m.Before + m.Text)
	for _, w := range []string{"commit", "sha", "rev", "hash", "checksum", "digest", "ref", "/archive/", "/tree/", "/blob/", "tarball", "zipball"} {
		if strings.Contains(low, w) {
			return Verdict{}
		}
	}
	if entropy(m.Secret) < 3.3 {
		return Verdict{}
	}
	return Verdict{OK: true}
}

// notFillerAWS rejects key IDs whose random part is filler.
func notFillerAWS(s string) Verdict {
	if isPlaceholder(s[4:]) {
		return Verdict{}
	}
	return Verdict{OK: true}
}

// notFillerUUID rejects the nil UUID and UUIDs of one repeated character.
func notFillerUUID(s string) Verdict {
	h := strings.ReplaceAll(strings.ToLower(s), "-", "")
	if entropy(h) < 2.0 || strings.Count(h, "x") > 4 {
		return Verdict{}
	}
	return Verdict{OK: true}
}

// verifySlackMatch rejects a token cut short by a character tokens do not
// hold (xoxb-123?456), then checks it.
func verifySlackMatch(m *Match) Verdict {
	if strings.HasPrefix(m.After, "?") || strings.HasPrefix(m.After, "#") {
		return Verdict{}
	}
	return verifySlack(m.Secret)
}

func verifySlack(s string) Verdict {
	tail := s[strings.LastIndexAny(s, "-/")+1:]
	if strings.Count(strings.ToLower(s), "x") > len(s)/3 || strings.Contains(s, "#") || isPlaceholder(tail) && len(tail) < 20 {
		return Verdict{}
	}
	low := strings.ToLower(s)
	for _, w := range []string{"token", "here", "example", "xoxb-xoxb", "random", "initial"} {
		if strings.Contains(low[4:], w) {
			return Verdict{}
		}
	}
	return Verdict{OK: true}
}

// verifyDiscordBot checks a bot token's structure: its first part is the
// base64 of the bot's numeric user ID (a snowflake).
func verifyDiscordBot(s string) Verdict {
	if isPlaceholder(s[strings.LastIndexByte(s, '.')+1:]) {
		return Verdict{}
	}
	id, _, _ := strings.Cut(s, ".")
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(id, "="))
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(id, "="))
	}
	invalid := Verdict{OK: true, Severity: check.Low, Note: "token-shaped, its first part is not a user ID"}
	if err != nil || len(raw) < 17 || len(raw) > 20 {
		return invalid
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return invalid
		}
	}
	return Verdict{OK: true, Note: "user ID part decodes"}
}

func verifyDiscordID(m *Match) Verdict {
	if entropy(m.Secret) < 2.5 {
		return Verdict{}
	}
	if name := strings.ToLower(assignedName(m)); !strings.Contains(name, "id") && !strings.Contains(name, "client") && !strings.Contains(name, "discord") {
		return Verdict{}
	}
	return Verdict{OK: true, Note: "a client ID identifies an application; look for its secret nearby"}
}

// verifyDockerAuth decodes a docker config auth value: base64 of
// user:password with a password that is not a placeholder.
func verifyDockerAuth(s string) Verdict {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil || !isText(raw) {
		return Verdict{}
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	// A user:password pair is a credential even when the password is weak;
	// only references and placeholders are not.
	if !ok || user == "" || len(pass) < 3 || fillerValues[strings.ToLower(pass)] || refRe().MatchString(pass) ||
		strings.Count(strings.ToLower(pass), "x") == len(pass) {
		return Verdict{}
	}
	return Verdict{OK: true, Note: "base64 of user:password"}
}

// verifyNpmrc judges an .npmrc credential: _auth is base64 of
// user:password, _password base64 of a password, _authToken a token.
func verifyNpmrc(m *Match) Verdict {
	key, _, _ := strings.Cut(m.Text, "=")
	key = strings.TrimSpace(key)
	switch {
	case strings.HasSuffix(key, "_auth"):
		return verifyDockerAuth(m.Secret)
	case strings.HasSuffix(key, "_password"):
		if raw, err := base64.StdEncoding.DecodeString(m.Secret); err == nil && isText(raw) {
			return verifyPassword(string(raw))
		}
	}
	return verifyPassword(m.Secret)
}

// verifyJWT checks that a token's header decodes to a JSON object, and
// notes unsigned tokens.
func verifyJWT(s string) Verdict {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || isPlaceholder(parts[1]) {
		return Verdict{}
	}
	if len(parts) < 3 || parts[2] == "" {
		return Verdict{OK: true, Severity: check.Low, Note: "unsigned token"}
	}
	return Verdict{OK: true}
}

// verifySAS checks a shared access signature's parameters: the
// permissions (sp=) are letters Azure defines, an IP restriction (sip=) is
// an IPv4 address or range.
var sasPermRe = lazyre.New(`[?&]sp=([^&]*)`)
var sasIPRe = lazyre.New(`[?&]sip=([^&]*)`)
var ipv4Re = lazyre.New(`^(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:-(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9]))?$`)

func verifySAS(m *Match) Verdict {
	text := m.Before + m.Text
	if p := sasPermRe().FindStringSubmatch("&" + text); p != nil && strings.Trim(p[1], "racwdxyltmeopfi") != "" {
		return Verdict{}
	}
	if p := sasIPRe().FindStringSubmatch("&" + text); p != nil && !ipv4Re().MatchString(p[1]) {
		return Verdict{}
	}
	return notPlaceholder(m.Secret)
}

// verifyAuthHeader accepts a header credential that is not a reference,
// and decodes Basic credentials.
func verifyAuthHeader(m *Match) Verdict {
	if strings.Contains(strings.ToLower(m.Text), "basic") {
		return verifyDockerAuth(m.Secret)
	}
	if notSecretValue(m.Secret, m.After) != "" || strings.HasPrefix(strings.TrimSpace(m.After), "+") || entropy(m.Secret) < 3.3 {
		return Verdict{}
	}
	return Verdict{OK: true}
}

// DefaultAllowlists are the global allowlists of the default rule set:
// lock and checksum files, and variable or template references.
func DefaultAllowlists() []Allowlist {
	res := func(ss ...string) []*regexp.Regexp {
		var out []*regexp.Regexp
		for _, s := range ss {
			out = append(out, regexp.MustCompile(s))
		}
		return out
	}
	return []Allowlist{
		{Description: "checksum and lock files", Paths: res(`(?:^|/)go\.(?:sum|work\.sum)$`, `(?:^|/)(?:package-lock\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.lock|flake\.lock|poetry\.lock|Pipfile\.lock|composer\.lock|Gemfile\.lock|gradle\.lockfile)$`)},
		{Description: "variable and template references", Regexes: res(`^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$`, `^\$\{\{[^}]*\}\}$`, `^\{\{[^}]*\}\}$`, `^<[^>]*>$`, `^%[A-Za-z_]+%$`)},
		{Description: "sops-encrypted values", Regexes: res(`^ENC\[[A-Z0-9_]+,data:`)},
	}
}
