package secrets

import (
	"regexp"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

type opt func(*Rule)

func kw(k ...string) opt                { return func(r *Rule) { r.Keywords = k } }
func sev(s check.Severity) opt          { return func(r *Rule) { r.Severity = s } }
func verify(f func(string) Verdict) opt { return func(r *Rule) { r.Verify = f } }
func group(n int) opt                   { return func(r *Rule) { r.SecretGroup = n } }
func minEntropy(e float64) opt          { return func(r *Rule) { r.Entropy = e } }
func generic() opt                      { return func(r *Rule) { r.Generic = true } }
func tp(s ...string) opt                { return func(r *Rule) { r.TP = append(r.TP, s...) } }
func fp(s ...string) opt                { return func(r *Rule) { r.FP = append(r.FP, s...) } }
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
	r := &Rule{ID: id, Description: desc, Regex: regexp.MustCompile(re)}
	for _, o := range opts {
		o(r)
	}
	if r.Keywords == nil {
		// The literal prefix of the regexp is the natural keyword.
		if p, _ := regexp.MustCompile(strings.TrimPrefix(re, `\b`)).LiteralPrefix(); len(p) >= 3 {
			r.Keywords = []string{p}
		}
	}
	return r
}

// assign is the regexp of a value assigned to a name containing one of
// names (env files, YAML, JSON, code), with the value as group 1.
func assign(names, value string) string {
	return `(?i:` + names + `)[\w.-]{0,30}["']?[ \t]*(?:=|:=|:|=>)[ \t]*["'\x60]?(` + value + `)(?:["'\x60 \t;,)]|\\[nr]|$)`
}

// DefaultRules returns nixgate's own rules, written from the token formats
// that providers document. Each call returns fresh values.
func DefaultRules() []*Rule {
	gh := verify(verifyGitHubClassic)
	rules := []*Rule{
		// GitHub
		rule("github-pat", "GitHub classic personal access token", `\bghp_[A-Za-z0-9]{36}\b`, gh, sev(check.Critical),
			tp("{gh:ghp}"), fp("ghp_{x:36}", "ghp_{an:20}")),
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
		rule("github-fine-grained-pat", "GitHub fine-grained personal access token", `\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b`,
			verify(notPlaceholder), sev(check.Critical), tp("github_pat_{an:22}_{an:59}"), fp("github_pat_{x:22}_{x:59}")),
		// GitLab
		rule("gitlab-pat", "GitLab personal, project or group access token", `\bglpat-[A-Za-z0-9_-]{20,}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,9})?`,
			verify(notPlaceholder), tp("glpat-{ans:20}"), fp("glpat-{x:20}")),
		rule("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", `\bglptt-[0-9a-f]{40}\b`, tp("glptt-{hex:40}"), fp("glptt-{hex:39}")),
		rule("gitlab-runner-token", "GitLab runner authentication token", `\bglrt-[A-Za-z0-9_-]{20,}`, verify(notPlaceholder),
			tp("glrt-{ans:20}"), fp("glrt-{x:20}")),
		rule("gitlab-deploy-token", "GitLab deploy token", `\bgldt-[A-Za-z0-9_-]{20,}`, verify(notPlaceholder), tp("gldt-{ans:20}"), fp("gldt-short")),
		rule("gitlab-oauth-app-secret", "GitLab OAuth application secret", `\bgloas-[a-f0-9]{64}\b`, tp("gloas-{hex:64}"), fp("gloas-{hex:10}")),
		// Cloud providers
		rule("aws-access-key-id", "AWS access key ID", `\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`,
			kw("akia", "asia", "abia", "acca", "a3t"), verify(notPlaceholder), allowSecret(`.+EXAMPLE$`),
			tp("AKIA{AN2:16}"), fp("AKIAIOSFODNN7EXAMPLE", "AKIA{AN2:8}")),
		rule("aws-secret-access-key", "AWS secret access key",
			`(?i)aws[_.-]?secret[_.-]?(?:access[_.-]?)?key["']?[ \t]*(?:=|:=|:|=>)[ \t]*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)`,
			kw("aws"), verify(notPlaceholder), allowSecret(`EXAMPLE`), sev(check.Critical),
			tp("aws_secret_access_key = {b64:40}", "AWS_SECRET_ACCESS_KEY={b64:40}"),
			fp("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = {x:40}")),
		rule("gcp-api-key", "Google Cloud API key", `\bAIza[0-9A-Za-z_-]{35}\b`, verify(notPlaceholder), tp("AIza{ans:35}"), fp("AIza{x:35}")),
		rule("gcp-service-account-key", "Google Cloud service account key file", `"private_key_id"[ \t]*:[ \t]*"([a-f0-9]{40})"`,
			kw("private_key_id"), tp(`"private_key_id": "{hex:40}"`), fp(`"private_key_id": ""`)),
		rule("google-oauth-client-secret", "Google OAuth client secret", `\bGOCSPX-[A-Za-z0-9_-]{28}\b`, tp("GOCSPX-{ans:28}"), fp("GOCSPX-{ans:10}")),
		rule("azure-storage-account-key", "Azure storage account key", `(?i)AccountKey=([A-Za-z0-9+/]{86}==)`, kw("accountkey="),
			tp("DefaultEndpointsProtocol=https;AccountName=x;AccountKey={b64:86}=="), fp("AccountKey=<key>")),
		rule("azure-ad-client-secret", "Azure AD (Entra ID) client secret",
			`(?:^|[\x60'" \t>=:(,)])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:$|[\x60'" \t<),])`, kw("q~"),
			tp(`client_secret = "{an:3}8Q~{an:34}"`), fp("abc8Q~short")),
		rule("alibaba-access-key-id", "Alibaba Cloud AccessKey ID", `\bLTAI[A-Za-z0-9]{20}\b`, verify(notPlaceholder), tp("LTAI{an:20}"), fp("LTAI{x:20}")),
		rule("digitalocean-token", "DigitalOcean personal access, OAuth or refresh token", `\bdo[opr]_v1_[a-f0-9]{64}\b`,
			kw("dop_v1_", "doo_v1_", "dor_v1_"), tp("dop_v1_{hex:64}"), fp("dop_v1_{hex:12}")),
		rule("heroku-api-key", "Heroku API key", `\bHRKU-AA[A-Za-z0-9_-]{58}\b`, tp("HRKU-AA{ans:58}"), fp("HRKU-AA{ans:5}")),
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
		// Chat and collaboration
		rule("slack-bot-token", "Slack bot token", `\bxoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24,34}\b`,
			tp("xoxb-{dig:12}-{dig:12}-{an:24}"), fp("xoxb-123-456-abc")),
		rule("slack-user-token", "Slack user token", `\bxox[pe](?:-[0-9]{10,13}){3}-[A-Za-z0-9]{28,34}\b`, kw("xoxp-", "xoxe-"),
			tp("xoxp-{dig:12}-{dig:12}-{dig:12}-{hex:32}"), fp("xoxp-1-2-3-4")),
		rule("slack-app-token", "Slack app-level token", `\bxapp-[0-9]-[A-Z0-9]{9,12}-[0-9]{12,14}-[a-f0-9]{64}\b`,
			tp("xapp-1-{AN:11}-{dig:13}-{hex:64}"), fp("xapp-1-X-1-a")),
		rule("slack-webhook-url", "Slack incoming webhook URL", `https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}`,
			kw("hooks.slack.com"), tp("https://hooks.slack.com/services/T{AN:10}/B{AN:10}/{an:24}"), fp("https://hooks.slack.com/services/")),
		rule("discord-webhook-url", "Discord webhook URL", `https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}`,
			kw("discord"), tp("https://discord.com/api/webhooks/{dig:18}/{ans:68}"), fp("https://discord.com/api/webhooks/1/2")),
		rule("telegram-bot-token", "Telegram bot token", `\b[0-9]{8,10}:AA[A-Za-z0-9_-]{33}\b`, kw(":aa"),
			tp("{dig:10}:AA{ans:33}"), fp("12:AAxx")),
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
		rule("stripe-secret-key", "Stripe secret or restricted key", `\b(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,99}\b`,
			kw("sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"), verify(verifyStripe),
			tp("sk_live_{an:24}", "rk_live_{an:24}"), fp("sk_live_{x:24}")),
		rule("stripe-webhook-secret", "Stripe webhook signing secret", `\bwhsec_[A-Za-z0-9+/=]{32,}`, verify(notPlaceholder),
			tp("whsec_{an:32}"), fp("whsec_{x:32}")),
		rule("shopify-token", "Shopify access token or shared secret", `\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b`,
			kw("shpat_", "shpca_", "shppa_", "shpss_"), tp("shpat_{hex:32}"), fp("shpat_{hex:8}")),
		rule("square-token", "Square access token or OAuth secret", `\b(?:EAAA[A-Za-z0-9_-]{60}|sq0atp-[A-Za-z0-9_-]{22}|sq0csp-[A-Za-z0-9_-]{43})\b`,
			kw("eaaa", "sq0atp-", "sq0csp-"), verify(notPlaceholder), tp("EAAA{ans:60}", "sq0csp-{ans:43}"), fp("sq0atp-short")),
		rule("shippo-token", "Shippo API token", `\bshippo_(?:live|test)_[a-f0-9]{40}\b`, kw("shippo_"), tp("shippo_live_{hex:40}"), fp("shippo_live_x")),
		rule("easypost-api-key", "EasyPost API key", `\bEZ[AT]K[A-Za-z0-9]{54}\b`, kw("ezak", "eztk"), tp("EZAK{an:54}"), fp("EZAK{an:10}")),
		// Package registries
		rule("npm-access-token", "npm access token", `\bnpm_[A-Za-z0-9]{36}\b`, verify(notPlaceholder), tp("npm_{an:36}"), fp("npm_{x:36}", "npm_install")),
		rule("pypi-upload-token", "PyPI upload token", `\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}`, tp("pypi-AgEIcHlwaS5vcmc{ans:60}"), fp("pypi-AgEIcHlwaS5vcmc")),
		rule("dockerhub-token", "Docker Hub personal or organisation access token", `\bdckr_(?:pat|oat)_[A-Za-z0-9_-]{27}\b`,
			kw("dckr_pat_", "dckr_oat_"), tp("dckr_pat_{ans:27}"), fp("dckr_pat_{ans:5}")),
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
		// Private keys
		rule("private-key", "PEM private key (RSA, EC, DSA, PKCS#8, encrypted)",
			`-----BEGIN (?:RSA |EC |DSA |ENCRYPTED |)PRIVATE KEY-----[\s\S]{64,}?-----END (?:RSA |EC |DSA |ENCRYPTED |)PRIVATE KEY-----`,
			kw("private key-----"), verify(verifyPEM), sev(check.Critical),
			tp("{pem:RSA PRIVATE KEY}", "{pem:PRIVATE KEY}"), fp("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", "{pem:PUBLIC KEY}")),
		rule("openssh-private-key", "OpenSSH private key", `-----BEGIN OPENSSH PRIVATE KEY-----[\s\S]{64,}?-----END OPENSSH PRIVATE KEY-----`,
			kw("-----begin openssh private key-----"), verify(verifyPEM), sev(check.Critical),
			tp("{pem:OPENSSH PRIVATE KEY}"), fp("-----BEGIN OPENSSH PRIVATE KEY-----\n<redacted>\n-----END OPENSSH PRIVATE KEY-----")),
		rule("pgp-private-key-block", "PGP private key block", `-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]{64,}?-----END PGP PRIVATE KEY BLOCK-----`,
			kw("-----begin pgp private key block-----"), verify(verifyPEM), sev(check.Critical),
			tp("{pem:PGP PRIVATE KEY BLOCK}"), fp("{pem:PGP PUBLIC KEY BLOCK}")),
		rule("putty-private-key", "PuTTY private key file", `PuTTY-User-Key-File-[23]: [a-z0-9-]+\r?\nEncryption: [a-z0-9-]+`,
			kw("putty-user-key-file-"), sev(check.Critical),
			tp("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x"), fp("PuTTY-User-Key-File-3 is the format")),
		rule("age-secret-key", "age identity (secret key)", `\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b`,
			kw("age-secret-key-1"), verify(verifyAge), sev(check.Critical),
			tp("{age}"), fp("age1{lowdig:58}", "AGE-SECRET-KEY-1{x:58}")),
		rule("jwt", "JSON Web Token", `\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`, kw("eyj"), sev(check.Medium), generic(),
			tp("{jwt}"), fp("eyJhbGciOiJub25lIn0.e30.")),
		// Nix and its ecosystem
		rule("nix-signing-key", "Nix binary-cache signing secret key (name:base64 of an ed25519 seed and its public key)",
			`([A-Za-z0-9][A-Za-z0-9._+-]{0,100}:[A-Za-z0-9+/]{86}==)`, kw("=="), verify(verifyNixKey), sev(check.Critical),
			tp("{nixkey:cache.example.org-1}", `secret = "{nixkey:my-cache}";`),
			fp("Sig: {nixsig:cache.nixos.org-1}", "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=")),
		rule("nix-access-tokens", "access-tokens in a Nix configuration", `(?:^|[^\w-])(?:extra-)?access-tokens[ \t]*=[ \t]*["']*([^\n"';]+)`,
			kw("access-tokens"), verify(verifyAccessTokens), sev(check.Critical),
			tp("access-tokens = github.com={an:40}", "extra-access-tokens = gitlab.example.org=PAT:{an:20}"),
			fp("access-tokens = github.com=${GITHUB_TOKEN}", "# access-tokens = github.com=<token>")),
		rule("netrc-password", "netrc credentials", `(?i)\bmachine[ \t]+\S+\s+(?:login[ \t]+\S+\s+)?password[ \t]+([^\s"'\x60\\,;]+)`, kw("machine"),
			verify(verifyPassword), tp("machine cache.example.org login ci password {an:20}", "machine cache.example.org\n  login ci\n  password {an:20}"),
			fp("machine example.org login ci password $NETRC_PASSWORD", "machine state machine", `"machine cache password p\n"`)),
		rule("cachix-auth-token", "Cachix auth token",
			`(?i)(?:cachix[_.-]?auth[_.-]?token["']?[ \t]*(?:=|:|=>)[ \t]*["']?|cachix[ \t]+authtoken[ \t]+)([A-Za-z0-9._-]{20,})`,
			kw("cachix"), verify(notPlaceholder), sev(check.Critical),
			tp("CACHIX_AUTH_TOKEN={jwt}", "cachix authtoken {jwt}"), fp("CACHIX_AUTH_TOKEN=${{ secrets.CACHIX_AUTH_TOKEN }}", "cachix authtoken $TOKEN")),
		rule("cachix-signing-key", "Cachix signing key (base64 ed25519 secret key)",
			`(?i)cachix[_.-]?signing[_.-]?key["']?[ \t]*(?:=|:|=>)[ \t]*["']?([A-Za-z0-9+/]{86}==)`, kw("cachix"), verify(verifyNixKey), sev(check.Critical),
			tp("CACHIX_SIGNING_KEY={nixkeyb64}"), fp("CACHIX_SIGNING_KEY={nixsigb64}")),
		rule("connection-url-password", "password in a connection URL",
			`\b[a-zA-Z][a-zA-Z0-9+.-]{1,30}://[^:/\s@"'<>]{1,100}:([^@/\s"'<>]{3,100})@[A-Za-z0-9._-]+`, kw("://"),
			verify(verifyPassword), generic(), tp("postgres://app:{an:16}@db.internal:5432/app", "amqp://guest:{an:12}@rabbit/"),
			fp("postgres://app:${DB_PASSWORD}@db/app", "https://user:password@example.com", "mysql://root:<password>@localhost")),
		rule("generic-secret-assignment", "high-entropy value assigned to a secret-like name",
			assign(`secret|token|passw(?:or)?d|api[_.-]?key|private[_.-]?key|access[_.-]?key|client[_.-]?secret`, `[A-Za-z0-9+/_.=~!@#$%^&*-]{16,}`),
			kw("secret", "token", "passwd", "password", "api_key", "apikey", "api-key", "api.key", "private_key", "access_key", "access-key"),
			group(1), minEntropy(3.5), verify(verifyGeneric), generic(), sev(check.Medium),
			tp(`DB_PASSWORD="{an:24}"`, `api_key: {an:32}`), fp(`password = "changeme"`, `token := tokenizer.Next()`, `SECRET_KEY_FILE=/run/secrets/key-file-path-x`, `KindSecret = "k8s-secret-manifest"`)),
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

// verifyPEM accepts a private key block with a body of real content.
func verifyPEM(s string) Verdict {
	body := s
	if i := strings.Index(body, "-----\n"); i >= 0 {
		body = body[i+6:]
	} else if i := strings.Index(body, `-----\n`); i >= 0 {
		body = body[i+7:]
	}
	if i := strings.Index(body, "-----END"); i >= 0 {
		body = body[:i]
	}
	n := 0
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			n++
		}
	}
	if n < 64 || isPlaceholder(strings.Join(strings.Fields(body), "")) && entropy(body) < 3 {
		return Verdict{}
	}
	return Verdict{OK: true}
}

// verifyPassword rejects placeholders and variable references.
func verifyPassword(s string) Verdict {
	s = strings.Trim(s, `"'`)
	if len(s) < 4 || strings.ContainsAny(s[:1], "$<{%*[(") || strings.Contains(s, "${") {
		return Verdict{}
	}
	switch strings.ToLower(s) {
	case "password", "passwd", "pass", "secret", "changeme", "pwd", "test", "xxxx", "user", "none", "null":
		return Verdict{}
	}
	if isPlaceholder(s) && len(s) > 6 {
		return Verdict{}
	}
	return Verdict{OK: true}
}

// wordLike matches identifiers such as k8s-secret-manifest or api.v2.name:
// lowercase words joined by separators, not random material.
var wordLike = regexp.MustCompile(`^[a-z0-9]{1,12}(?:[-_.][a-z0-9]{1,12})+$`)

func verifyGeneric(s string) Verdict {
	if wordLike.MatchString(s) {
		return Verdict{}
	}
	if len(s) > 128 || strings.ContainsAny(s[:1], "$<{%/.") || strings.Contains(s, "${") || isPlaceholder(s) {
		return Verdict{}
	}
	return Verdict{OK: true}
}

// verifyAccessTokens accepts a Nix access-tokens value holding at least one
// literal token.
func verifyAccessTokens(v string) Verdict {
	for _, f := range strings.Fields(v) {
		_, tok, ok := strings.Cut(strings.Trim(f, `"';`), "=")
		if !ok {
			continue
		}
		tok = strings.TrimPrefix(strings.TrimPrefix(tok, "PAT:"), "OAuth2:")
		if len(tok) >= 8 && !strings.ContainsAny(tok[:1], "$<{@") && !strings.Contains(tok, "${") && !isPlaceholder(tok) {
			return Verdict{OK: true}
		}
	}
	return Verdict{}
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
		{Description: "checksum and lock files", Paths: res(`(?:^|/)go\.(?:sum|work\.sum)$`, `(?:^|/)(?:package-lock\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.lock|flake\.lock|poetry\.lock|Pipfile\.lock)$`)},
		{Description: "variable and template references", Regexes: res(`^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$`, `^\$\{\{[^}]*\}\}$`, `^\{\{[^}]*\}\}$`, `^<[^>]*>$`, `^%[A-Za-z_]+%$`)},
	}
}
