package samples

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sample is one labelled file of the set.
type Sample struct {
	// Name is the file's path in the set: CLASS/pos-NNN.EXT or
	// CLASS/neg-NNN.EXT.
	Name     string `json:"file"`
	Class    string `json:"class"`
	Positive bool   `json:"positive"`
	// Source names the public test case or real-world case the sample is
	// modelled on.
	Source  string `json:"source"`
	Content string `json:"-"`
}

// wrapper is a file syntax a secret is written in: {i} is an identifier,
// {I} the identifier in upper case, {s} the secret.
type wrapper struct{ name, ext, tpl string }

// The syntaxes of configuration and code files in which secrets are
// usually assigned (env files, INI, JSON, YAML, TOML, XML, Go, Python,
// JavaScript, Java, C#, PHP, Makefiles, Nix, Dockerfiles, GitHub Actions,
// Markdown, properties, Logstash), as gitleaks' GenerateSampleSecrets and
// trufflehog's "keyword token = 'value'" pattern tests wrap their
// secrets.
var wrappers = []wrapper{
	{"env", ".env", "{I}_TOKEN={s}\n"},
	{"sh-export", ".sh", "#!/bin/sh\nexport {I}_TOKEN=\"{s}\"\n"},
	{"ini", ".ini", "[{i}]\n{i}Token = \"{s}\"\n"},
	{"ini-bare", ".cfg", "{i}Token={s}\n"},
	{"json", ".json", "{\n    \"{i}_token\": \"{s}\"\n}\n"},
	{"json-escaped", ".json", "{\"config.ini\": \"{I}_TOKEN={s}\\nBACKUP_ENABLED=true\"}\n"},
	{"yaml", ".yaml", "{i}_token: {s}\n"},
	{"yaml-quoted", ".yml", "{i}_token: '{s}'\n"},
	{"toml", ".toml", "[{i}]\ntoken = \"{s}\"\n"},
	{"xml", ".xml", "<{i}Token>\n    {s}\n</{i}Token>\n"},
	{"go", ".go", "package main\n\nvar {i}Token string = \"{s}\"\n"},
	{"go-short", ".go", "package main\n\nfunc f() {\n\t{i}Token := `{s}`\n\t_ = {i}Token\n}\n"},
	{"python", ".py", "{i}_token = '{s}'\n"},
	{"js", ".js", "const {i}Token = \"{s}\";\n"},
	{"java", ".java", "class C { String {i}Token = \"{s}\"; }\n"},
	{"csharp", ".cs", "string {i}Token = \"{s}\";\n"},
	{"php", ".php", "<?php\n${i}Token .= \"{s}\";\n"},
	{"make", ".mk", "{I}_TOKEN ?= \"{s}\"\n"},
	{"nix", ".nix", "{\n  {i}Token = \"{s}\";\n}\n"},
	{"dockerfile", ".dockerfile", "FROM alpine\nENV {I}_TOKEN={s}\n"},
	{"actions", ".yml", "jobs:\n  build:\n    env:\n      {I}_TOKEN: {s}\n"},
	{"markdown", ".md", "Set the token:\n\n```sh\nexport {I}_TOKEN={s}\n```\n"},
	{"properties", ".properties", "{i}.token={s}\n"},
	{"logstash", ".conf", "  \"{i}Token\" => \"{s}\"\n"},
	{"setprop", ".java", "System.setProperty(\"{I}_TOKEN\", \"{s}\");\n"},
	{"keyword-quote", ".txt", "{i} token = '{s}'\n"},
}

// shape is a secret's template and the test case it is modelled on.
type shape struct{ tpl, src string }

// file is a whole sample file's template.
type file struct{ ext, tpl, src string }

// spec describes one class: the identifier its secrets are assigned to,
// the shapes written in wrappers (perWrap of them each), and whole files.
type spec struct {
	class string
	ident string
	// bare: the shapes are distinctive without a keyword, so they are also
	// written alone on a line.
	bare    bool
	perWrap int
	shapes  []shape
	pos     []file
	neg     []file
}

// Classes lists the classes of the set in report order.
func Classes() []string {
	var out []string
	for _, s := range specs() {
		out = append(out, s.class)
	}
	return out
}

// Set returns the labelled samples (deterministic for a seed, except the
// few real RSA keys).
func Set(seed uint64) []Sample {
	g := New(seed)
	var out []Sample
	for _, sp := range specs() {
		npos, nneg := 0, 0
		add := func(positive bool, ext, content, src string) {
			n := &nneg
			kind := "neg"
			if positive {
				n, kind = &npos, "pos"
			}
			*n++
			out = append(out, Sample{Name: fmt.Sprintf("%s/%s-%03d%s", sp.class, kind, *n, ext), Class: sp.class,
				Positive: positive, Source: src, Content: content})
		}
		ws := wrappers
		per := sp.perWrap
		if per == 0 {
			per = 6
		}
		for si, sh := range sp.shapes {
			for k := 0; k < per; k++ {
				w := ws[(si*per+k)%len(ws)]
				secret := g.MustRender(sh.tpl)
				content := strings.NewReplacer("{i}", sp.ident, "{I}", strings.ToUpper(sp.ident), "{s}", secret).Replace(w.tpl)
				add(true, w.ext, content, sh.src+" ("+w.name+")")
			}
			if sp.bare {
				add(true, ".txt", g.MustRender(sh.tpl)+"\n", sh.src+" (alone)")
			}
		}
		for _, f := range sp.pos {
			add(true, f.ext, g.MustRender(f.tpl), f.src)
		}
		for _, f := range sp.neg {
			add(false, f.ext, g.MustRender(f.tpl), f.src)
		}
	}
	out = append(out, encrypted(g)...)
	return out
}

// Write writes samples under dir, with labels.json listing them.
func Write(dir string, samples []Sample) error {
	for _, s := range samples {
		p := filepath.Join(dir, filepath.FromSlash(s.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(s.Content), 0o644); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(samples, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "labels.json"), append(b, '\n'), 0o644)
}

const (
	gl = "gitleaks v8.30.1 rule test cases, "
	th = "trufflehog v3.97.0 detector tests, "
)

func specs() []spec {
	return []spec{
		{class: "github-classic", ident: "github", bare: true, shapes: []shape{
			{"ghp_{an:36}", gl + "github-pat"},
			{"{gh:ghp}", th + "github v2 (checksum valid)"},
			{"ghu_{an:36}", gl + "github-app-token"},
			{"ghs_{an:36}", gl + "github-app-token"},
			{"ghr_{an:36}", gl + "github-refresh-token"},
			{"{gh:ghs}", th + "github v2 (checksum valid)"},
		}, pos: []file{
			{".sh", "git clone https://x-access-token:{gh:ghs}@github.com/org/repo.git\n", th + "github v2 (token in a clone URL)"},
			{".env", "GITHUB_TOKEN={hex:40}\n", th + "github v1 (40-hex token before 2021)"},
			{".yaml", "github_token: \"{hex:40}\"\n", th + "github v1"},
			{".sh", "echo {gh:ghp} | gh auth login --with-token\n", "gh CLI documentation"},
		}, neg: []file{
			{".env", "GITHUB_TOKEN=ghp_{x:36}\n", gl + "github-pat fps"},
			{".txt", "ghp_{an:20}\n", "too short"},
			{".md", "Tokens start with `ghp_` (classic) or `github_pat_` (fine-grained).\n", "documentation"},
			{".yml", "env:\n  GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n", "GitHub Actions secret reference"},
			{".yml", "- uses: actions/checkout@{hex:40} # v4\n  with:\n    token: ${{ github.token }}\n", "pinned action, token reference"},
			{".nix", "src = fetchFromGitHub {\n  owner = \"nixos\";\n  repo = \"nix\";\n  rev = \"{hex:40}\";\n  hash = \"sha256-{b64:43}=\";\n};\n", "Nix fetcher pin"},
			{".txt", "github commit {hex:40} fixed it\n", "commit hash in prose"},
			{".go", "token := os.Getenv(\"GITHUB_TOKEN\")\n", "code"},
		}},
		{class: "github-fine-grained", ident: "github", bare: true, shapes: []shape{
			{"github_pat_{an:22}_{an:59}", th + "github v2"},
			{"github_pat_{an:82}", gl + "github-fine-grained-pat"},
		}, neg: []file{
			{".txt", "github_pat_{x:22}_{x:59}\n", gl + "github-fine-grained-pat fps"},
			{".txt", "github_pat_{an:10}\n", "too short"},
			{".md", "Fine-grained tokens look like `github_pat_…`.\n", "documentation"},
		}},
		{class: "github-oauth", ident: "github", bare: true, shapes: []shape{
			{"gho_{an:36}", gl + "github-oauth"},
			{"{gh:gho}", th + "github v2 (checksum valid)"},
		}, pos: []file{
			{".py", "github = '{an:20}', '{hex:40}'\n", th + "github_oauth2 (client ID and secret)"},
			{".env", "GITHUB_CLIENT_ID=Iv1.{hex:16}\nGITHUB_CLIENT_SECRET={hex:40}\n", "GitHub OAuth app documentation"},
			{".yaml", "oauth:\n  github:\n    client_id: Ov23{an:16}\n    client_secret: {hex:40}\n", "GitHub OAuth app documentation"},
		}, neg: []file{
			{".txt", "gho_{x:36}\n", gl + "github-oauth fps"},
			{".py", "github = '{an:21}', '{hex:40}'\n", th + "github_oauth2 (invalid client ID)"},
			{".env", "GITHUB_CLIENT_ID=Iv1.{hex:16}\n", "a client ID alone is public"},
			{".env", "GITHUB_CLIENT_SECRET=${GITHUB_CLIENT_SECRET}\n", "reference"},
		}},
		{class: "aws", ident: "aws", bare: true, perWrap: 4, shapes: []shape{
			{"AKIA{AN2:16}", gl + "aws-access-token"},
			{"ASIA{AN2:16}", gl + "aws-access-token"},
			{"ABIA{AN2:16}", gl + "aws-access-token"},
			{"ACCA{AN2:16}", gl + "aws-access-token"},
			{"ABSKQmVkcm9ja0FQSUtleS1{an:108}=", gl + "aws-amazon-bedrock-api-key-long-lived"},
			{"ABSKQmVkcm9ja0FQSUtleS1{an:246}", gl + "aws-amazon-bedrock-api-key-long-lived"},
			{"bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t{b64:180}", gl + "aws-amazon-bedrock-api-key-short-lived"},
		}, pos: []file{
			{".ini", "[default]\naws_access_key_id = AKIA{AN2:16}\naws_secret_access_key = {awssecret}\n", th + "aws (credentials file)"},
			{".env", "AWS_SECRET_ACCESS_KEY={awssecret}\n", gl + "aws secret via generic-api-key"},
			{".txt", "key: AKIA{AN2:16}\nsecret: {awssecret}\n", th + "aws (key pair)"},
			{".json", "{\"AccessKeyId\": \"ASIA{AN2:16}\", \"SecretAccessKey\": \"{awssecret}\", \"SessionToken\": \"{b64:300}\"}\n", th + "aws session_keys"},
			{".env", "AWS_SESSION_TOKEN={b64:320}\n", th + "aws session_keys"},
		}, neg: []file{
			{".txt", "key = AKIAXXXXXXXXXXXXXXXX\n", gl + "aws-access-token fps (low entropy)"},
			{".yaml", "aws_access_key: AKIAIOSFODNN7EXAMPLE\n", gl + "aws-access-token fps (documentation example)"},
			{".po", "msgstr \"Näytä asiakirjamallikansio.\"\n", gl + "aws-access-token fps (lower case)"},
			{".txt", "TODAYINASIAASACKOFRICEFELLOVER\n", gl + "aws-access-token fps (wrong length)"},
			{".env", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "AWS documentation example"},
			{".txt", "ABSKQmVkcm9ja0FQSUtleS1EXAMPLE\n", gl + "aws-amazon-bedrock-api-key-long-lived fps"},
			{".txt", "bedrock-api-key-\n", gl + "aws-amazon-bedrock-api-key-short-lived fps"},
			{".txt", "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29x\n", gl + "aws-amazon-bedrock-api-key-short-lived fps"},
			{".env", "AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}\n", "reference"},
			{".tf", "provider \"aws\" {\n  access_key = var.aws_access_key\n  secret_key = var.aws_secret_key\n}\n", "Terraform variables"},
		}},
		{class: "gcp", ident: "gcp", bare: true, shapes: []shape{
			{"AIza{ans:35}", gl + "gcp-api-key"},
			{"GOCSPX-{ans:28}", "Google OAuth client secret format"},
			{"ya29.{ans:120}", "Google OAuth access token format"},
		}, pos: []file{
			{".json", "{serviceaccount}", th + "gcp (service account key file)"},
			{".json", "{\n  \"client_id\": \"{dig:12}-{lowdig:32}.apps.googleusercontent.com\",\n  \"client_secret\": \"GOCSPX-{ans:28}\",\n  \"refresh_token\": \"1//0{ans:90}\",\n  \"type\": \"authorized_user\"\n}\n", th + "gcpapplicationdefaultcredentials"},
		}, neg: []file{
			{".txt", "GWw4hjABFzZCGiRpmlDyDdo87Jn9BN9THUA47muVRNunLxsa82tMAdvmrhOqNkRKiYMEAFbTJAIzaTesb6Tscfcni8vIpWZqNCXFDFslJtVSvFDq\n", gl + "gcp-api-key fps (text boundary start)"},
			{".txt", "AIza{an:44}\n", gl + "gcp-api-key fps (text boundary end)"},
			{".js", "apiKey: \"AIzaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n", gl + "gcp-api-key fps (low entropy)"},
			{".txt", "AIZASY{AN:33}\n", gl + "gcp-api-key fps (wrong case)"},
			{".json", "{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo\",\n  \"client_email\": \"ci@demo.iam.gserviceaccount.com\"\n}\n", "service account metadata without a key"},
			{".env", "GOOGLE_APPLICATION_CREDENTIALS=/run/secrets/gcp.json\n", "path"},
		}},
		{class: "azure", ident: "azure", shapes: []shape{
			{"{an:3}8Q~{azs:34}", gl + "azure-ad-client-secret"},
			{"{an:3}7Q~{azs:31}", th + "azure_entra serviceprincipal v2"},
		}, pos: []file{
			{".txt", "client_secret={an:3}8Q~{azs:34}\n", gl + "azure-ad-client-secret"},
			{".xml", "<value xsi:type=\"xsd:string\">{an:3}8Q~{azs:34}</value>\n", gl + "azure-ad-client-secret"},
			{".ps1", "Set-PSUAuthenticationMethod -Type 'OpenIDConnect' -ClientId 'fake' -ClientSecret '{an:3}7Q~{azs:34}'\n", gl + "azure-ad-client-secret"},
			{".txt", "(use the client secret: {an:3}8Q~{azs:34})\n", gl + "azure-ad-client-secret"},
			{".cs", "var conn = \"DefaultEndpointsProtocol=https;AccountName={lowdig:12};AccountKey={b64:86}==;EndpointSuffix=core.windows.net\";\n", th + "azure_storage"},
			{".json", "{\"storageAccountKey\": \"{b64:86}==\"}\n", th + "azure_storage"},
			{".env", "AZURE_DEVOPS_PAT={az:52}\n", th + "azuredevopspersonalaccesstoken"},
			{".sh", "curl \"https://{lowdig:10}.blob.core.windows.net/backups/db.tar?sv=2022-11-02&ss=b&srt=co&sp=rwdlac&se=2030-01-01T00:00:00Z&st=2024-01-01T00:00:00Z&spr=https&sig={b64:43}%3D\"\n", th + "azuresastoken"},
			{".env", "SERVICEBUS=Endpoint=sb://{lowdig:8}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={b64:43}=\n", "Azure Service Bus connection string"},
		}, neg: []file{
			{".md", "![diagram](https://p3-juejin.byteimg.com/tos-cn-i-k3u1fbpfcp/{hex:32}~tplv-k3u1fbpfcp-watermark.image)\n", gl + "azure-ad-client-secret fps"},
			{".txt", "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n", gl + "azure-ad-client-secret fps"},
			{".css", ".ui.visible.right.sidebar~.ui.visible.left.sidebar~.pusher{transform:translate3d(0,0,0)}\n", gl + "azure-ad-client-secret fps"},
			{".py", "'url': 'http://www.2doc.nl/speel~VARA_101375237~mh17-het-verdriet-van-nederland~.html',\n", gl + "azure-ad-client-secret fps"},
			{".txt", "client_secret=bP88Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", gl + "azure-ad-client-secret fps (placeholder)"},
			{".cs", "var conn = \"DefaultEndpointsProtocol=https;AccountName=demo;AccountKey=<your-key>\";\n", "placeholder"},
			{".env", "AZURE_CLIENT_SECRET=${AZURE_CLIENT_SECRET}\n", "reference"},
		}},
		{class: "slack", ident: "slack", bare: true, perWrap: 3, shapes: []shape{
			{"xoxb-{dig:12}-{dig:13}-{an:24}", gl + "slack-bot-token"},
			{"xoxb-{dig:12}-{an:24}", gl + "slack-legacy-bot-token"},
			{"xoxp-{dig:12}-{dig:12}-{dig:13}-{hex:32}", gl + "slack-user-token"},
			{"xoxe-{dig:13}-{dig:13}-{dig:13}-{hex:32}", gl + "slack-user-token (xoxe-)"},
			{"xapp-1-A{AN:10}-{dig:13}-{hex:64}", gl + "slack-app-token"},
			{"xoxe.xoxp-1-{an:163}", gl + "slack-config-access-token"},
			{"xoxe-1-{an:146}", gl + "slack-config-refresh-token"},
			{"xoxs-{dig:10}-{dig:11}-{dig:12}-{hex:64}", gl + "slack-legacy-token"},
			{"xoxa-2-{an:32}", gl + "slack-legacy-workspace-token"},
			{"xoxr-{an:40}", gl + "slack-legacy-workspace-token"},
			{"https://hooks.slack.com/services/T{AN:8}/B{AN:10}/{an:24}", gl + "slack-webhook-url, " + th + "slackwebhook"},
			{"http://hooks.slack.com/services/T{AN:10}/B{AN:10}/{an:24}", gl + "slack-webhook-url (http)"},
			{"hooks.slack.com/services/T{AN:10}/B{AN:10}/{an:24}", gl + "slack-webhook-url (no scheme)"},
			{"https://hooks.slack.com/workflows/T{AN:10}/A{AN:10}/{dig:18}/{an:24}", gl + "slack-webhook-url (workflows)"},
		}, pos: []file{
			{".json", "\"url_private\": \"https:\\/\\/files.slack.com\\/files-pri\\/T{AN:10}-F{AN:10}\\/image.png?t=xoxe-{dig:13}-{dig:13}-{dig:13}-{hex:32}\"\n", gl + "slack-user-token"},
		}, neg: []file{
			{".txt", "xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx\n", gl + "slack-bot-token fps"},
			{".txt", "xoxb-xxx\n", gl + "slack-bot-token fps"},
			{".txt", "xoxb-12345-abcd234\n", gl + "slack-bot-token fps"},
			{".txt", "xoxb-xoxb-my-bot-token\n", gl + "slack-bot-token fps"},
			{".json", "\"token1\": \"xoxp-1234567890\"\n", gl + "slack-user-token fps"},
			{".json", "\"token2\": \"xoxp-XXXXXXXXXX-XXXXXXXXXX-XXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\"\n", gl + "slack-user-token fps"},
			{".json", "\"token3\": \"xoxp-1234-1234-1234-{hex:32}\"\n", gl + "slack-user-token fps"},
			{".json", "\"token4\": \"xoxp-{dig:12}-{dig:12}-{dig:12}-####################\"\n", gl + "slack-user-token fps"},
			{".txt", "xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere\n", gl + "slack-config-access-token fps"},
			{".txt", "xoxe.xoxp-1-RANDOMSTRINGHERE\n", gl + "slack-config-access-token fps"},
			{".txt", "xoxe.xoxp-1-initial\n", gl + "slack-config-access-token fps"},
			{".txt", "xoxe-1-xxx\n", gl + "slack-config-refresh-token fps"},
			{".csv", "XOxE-RROAmw, Home and Garden, 5:24, 20120323\n", gl + "slack-config-refresh-token fps"},
			{".txt", "https://hooks.slack.com/apps/T{AN:10}/B{AN:10}/{an:24}\n", th + "slackwebhook (invalid pattern)"},
			{".md", "Create an incoming webhook at https://api.slack.com/messaging/webhooks.\n", "documentation"},
		}},
		{class: "stripe", ident: "stripe", bare: true, shapes: []shape{
			{"sk_test_{an:30}", gl + "stripe-access-token"},
			{"sk_prod_{an:99}", gl + "stripe-access-token"},
			{"sk_live_{an:24}", th + "stripe"},
			{"rk_live_{an:99}", gl + "stripe-access-token"},
			{"sk_test_51{an:97}", gl + "stripe-access-token"},
		}, neg: []file{
			{".go", "nonMatchingToken := \"task_test_{an:30}\"\n", gl + "stripe-access-token fps"},
			{".js", "const stripe = Stripe('pk_live_{an:24}');\n", "publishable key (public)"},
			{".env", "STRIPE_SECRET_KEY=sk_live_{x:24}\n", "placeholder"},
			{".md", "Your secret key starts with `sk_live_`.\n", "documentation"},
		}},
		{class: "telegram", ident: "telegram", shapes: []shape{
			{"{dig:8}:A{ans:34}", gl + "telegram-bot-api-token"},
			{"{dig:5}:A{ans:34}", gl + "telegram-bot-api-token (shortest id)"},
			{"{dig:16}:A{ans:34}", gl + "telegram-bot-api-token (longest id)"},
			{"{dig:9}:B{ans:34}", th + "telegrambottoken"},
			{"{dig:10}:AA{ans:33}", "Telegram Bot API documentation"},
		}, pos: []file{
			{".env", "TELEGRAM_API_TOKEN = {dig:8}:A{ans:34}\n", gl + "telegram-bot-api-token"},
			{".txt", "telegram bot: {dig:8}:A{ans:34}\n", gl + "telegram-bot-api-token"},
			{".txt", "telegram token = '{dig:9}:B{ans:34}' | '{dig:9}:B{ans:34}'\n", th + "telegrambottoken"},
			{".conf", "notify = tgram://{dig:10}:AA{ans:33}/{dig:9}\n", th + "telegrambottoken (apprise URL)"},
		}, neg: []file{
			{".py", "telegram_api_token = \"{dig:4}:A{ans:34}\"\n", gl + "telegram-bot-api-token fps (id too short)"},
			{".py", "telegram_api_token = \"{dig:17}:A{ans:34}\"\n", gl + "telegram-bot-api-token fps (id too long)"},
			{".xsd", "<xsd:element name=\"AgencyIdentificationCode\" type=\"clm{dig:5}:AgencyIdentificationCodeContentType\"/>\n", gl + "telegram-bot-api-token fps"},
			{".py", "telegram_api_token = \\\"{dig:8}:Ahello{ans:34}\\\"\n", gl + "telegram-bot-api-token fps (prefixed)"},
			{".py", "telegram_api_token = \\\"{dig:8}:A-some-other-thing-{ans:34}\\\"\n", gl + "telegram-bot-api-token fps (prefixed)"},
			{".py", "telegram_api_token = \\\"{dig:8}:A{ans:34}hello\\\"\n", gl + "telegram-bot-api-token fps (suffixed)"},
			{".py", "telegram_api_token = \\\"{dig:8}:A{ans:34}-some-other-thing\\\"\n", gl + "telegram-bot-api-token fps (suffixed)"},
			{".txt", "telegram keyword is not close to the real key in the data\n = '{dig:9}:B{an:34}'\n", th + "telegrambottoken (keyword far)"},
			{".txt", "telegram = '{dig:9}:B{an:15}?{an:18}'\n", th + "telegrambottoken (invalid pattern)"},
		}},
		{class: "discord", ident: "discord", shapes: []shape{
			{"{discord}", th + "discordbottoken"},
			{"{hex:64}", gl + "discord-api-token"},
			{"{dig:18}", gl + "discord-client-id"},
			{"{ans:32}", gl + "discord-client-secret"},
		}, pos: []file{
			{".txt", "https://discord.com/api/webhooks/{dig:18}/{ans:68}\n", th + "discordwebhook"},
			{".txt", "https://discord.com/api/webhooks/{dig:19}/{ans:68}\n", th + "discordwebhook (19-digit id)"},
			{".json", "{\"webhook\": \"https://discordapp.com/api/webhooks/{dig:18}/{ans:68}\"}\n", "Discord webhook (discordapp.com)"},
			{".env", "DISCORD_BOT_TOKEN={discord}\nDISCORD_CLIENT_ID={dig:18}\n", th + "discordbottoken"},
		}, neg: []file{
			{".txt", "discord=000000000000000000\n", gl + "discord-client-id fps"},
			{".txt", "discord=00000000000000000000000000000000\n", gl + "discord-client-secret fps"},
			{".md", "Join us on Discord: https://discord.gg/{an:8}\n", "invite link (public)"},
			{".txt", "https://discord.com/api/webhooks/{dig:18}\n", "webhook without token"},
			{".env", "DISCORD_TOKEN=${DISCORD_TOKEN}\n", "reference"},
		}},
		{class: "heroku", ident: "heroku", shapes: []shape{
			{"{uuid}", gl + "heroku-api-key, " + th + "heroku v1"},
			{"HRKU-AA{ans:58}", gl + "heroku-api-key-v2, " + th + "heroku v2"},
		}, pos: []file{
			{".js", "const HEROKU_KEY = \"{UUID}\"\n", gl + "heroku-api-key"},
			{".json", "[{\n  \"_id\": 1,\n  \"heroku\": {\n    \"api_key\": \"{uuid}\"\n  }\n}]\n", th + "heroku v1"},
			{".js", "const KEY = \"HRKU-AA{ans:58}\"\n", gl + "heroku-api-key-v2"},
		}, neg: []file{
			{".txt", "HRKU-AA{ans:12}\n", "too short"},
			{".env", "HEROKU_API_KEY=${HEROKU_API_KEY}\n", "reference"},
			{".env", "heroku_api_key = \"00000000-0000-0000-0000-000000000000\"\n", "nil UUID"},
			{".md", "Run `heroku authorizations:create` to get an API key.\n", "documentation"},
		}},
		{class: "npm", ident: "npmAccessToken", bare: true, shapes: []shape{
			{"npm_{an:36}", gl + "npm-access-token, " + th + "npmtokenv2"},
		}, pos: []file{
			{".txt", "npm token = '{uuid}'\n", th + "npmtoken (legacy UUID)"},
			{".npmrc", "//registry.npmjs.org/:_authToken=npm_{an:36}\n", "npm documentation (.npmrc)"},
			{".npmrc", "//registry.npmjs.org/:_authToken={uuid}\n", "npm documentation (.npmrc, legacy token)"},
			{".npmrc", "registry=https://npm.example.org/\n_auth={dockerauth}\nalways-auth=true\n", "npm documentation (.npmrc _auth)"},
		}, neg: []file{
			{".txt", "npm_{x:36}\n", "placeholder"},
			{".npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", "reference"},
			{".sh", "npm install && npm run build\nnpm_config_cache=/tmp/npm npm ci\n", "npm commands"},
			{".json", "{\"scripts\": {\"version\": \"echo $npm_package_version\"}}\n", "npm variables"},
		}},
		{class: "pypi", ident: "pypi", bare: true, shapes: []shape{
			{"pypi-AgEIcHlwaS5vcmc{hex:32}{hex:32}", gl + "pypi-upload-token"},
			{"pypi-AgEIcHlwaS5vcmcCJ{ans:154}", th + "pypi"},
		}, pos: []file{
			{".pypirc", "[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc{ans:140}\n", "PyPI documentation (.pypirc)"},
		}, neg: []file{
			{".txt", "pypi-AgEIcHlwaS5vcmc\n", "prefix only"},
			{".pypirc", "[pypi]\nusername = __token__\npassword = ${PYPI_TOKEN}\n", "reference"},
			{".md", "Tokens start with `pypi-`.\n", "documentation"},
		}},
		{class: "docker", ident: "docker", pos: []file{
			{".json", "{\n\t\"auths\": {\n\t\t\"https://index.docker.io/v1/\": {\n\t\t\t\"auth\": \"{dockerauth}\"\n\t\t}\n\t}\n}\n", th + "docker (config.json)"},
			{".json", "{\"auths\":{\"quay.io\":{\"auth\":\"{dockerauth}\",\"email\":\"\"}}}\n", th + "docker"},
			{".json", "{\"auths\":{\"gcr.io\":{\"auth\":\"{gcrjsonkey}\"}}}\n", th + "docker (gcr.io _json_key: a private key inside the auth)"},
			{".toml", "[[runners]]\n  environment = [\"DOCKER_AUTH_CONFIG={\\\"auths\\\":{\\\"registry.example.org:5000\\\":{\\\"auth\\\":\\\"{dockerauth}\\\"}}}\"]\n", th + "docker (escaped, GitLab runner)"},
			{".yml", "variables:\n  DOCKER_AUTH_CONFIG: '{\"auths\":{\"registry.example.org\":{\"auth\":\"{dockerauth}\"}}}'\n", th + "docker (GitLab CI variable)"},
			{".env", "DOCKERHUB_TOKEN=dckr_pat_{ans:27}\n", "Docker Hub personal access token format"},
			{".txt", "dckr_pat_{ans:27}\n", "Docker Hub personal access token format"},
			{".sh", "docker login -u ci -p {an:24} registry.example.org\n", "docker login with a password argument"},
			{".json", "{\n\"auths\": {\n\"registry.company.com\": {\n\"username\": \"{lowdig:8}\",\n\"password\": \"{an:16}\",\n\"auth\": \"{dockerauth}\"\n}\n}\n}\n", th + "docker"},
		}, neg: []file{
			{".json", "{\"auths\":{\"ghcr.io\":{}},\"credsStore\":\"desktop\"}\n", "credential store, no secret"},
			{".json", "{\"auths\":{\"ghcr.io\":{\"auth\":\"\"}}}\n", "empty auth"},
			{".sh", "echo \"$TOKEN\" | docker login -u ci --password-stdin ghcr.io\n", "password from stdin"},
			{".sh", "docker login -u ci -p \"$REGISTRY_PASSWORD\" ghcr.io\n", "reference"},
			{".txt", "dckr_pat_{ans:5}\n", "too short"},
		}},
		{class: "jwt", ident: "jwt", bare: true, perWrap: 4, shapes: []shape{
			{"{jwt}", gl + "jwt"},
		}, pos: []file{
			{".sh", "curl -H \"Authorization: Bearer {jwt}\" https://api.example.org/v1/me\n", gl + "jwt (curl)"},
			{".json", "{\"access_token\":\"{jwt}\",\"token_type\":\"bearer\"}\n", gl + "jwt (OAuth response)"},
			{".txt", "https://stream.example.org/master.m3u8?access_token={jwt}\n", gl + "jwt (URL query)"},
			{".js", "const tokenWithNoneAlg = \"{jwtnone}\";\n", gl + "jwt (unsigned)"},
			{".yaml", "token: {jwtb64}\n", gl + "jwt-base64"},
		}, neg: []file{
			{".txt", "eyJ\n", "prefix only"},
			{".js", "const header = \"eyJhbGciOiJIUzI1NiJ9\";\n", "header only"},
			{".md", "A token looks like `eyJhbGciOi…`.\n", "documentation"},
		}},
		{class: "private-key", ident: "private", pos: []file{
			{".pem", "{rsa}", th + "privatekey (PKCS#1 RSA)"},
			{".pem", "{rsa8}", th + "privatekey (PKCS#8)"},
			{".key", "{pem:EC PRIVATE KEY}", gl + "private-key (EC)"},
			{".key", "{pem:DSA PRIVATE KEY}", gl + "private-key (DSA)"},
			{".pem", "{pem:ENCRYPTED PRIVATE KEY}", gl + "private-key (encrypted PKCS#8)"},
			{".txt", "{pem:OPENSSH PRIVATE KEY}", gl + "private-key (OpenSSH)"},
			{".asc", "{pem:PGP PRIVATE KEY BLOCK}", gl + "private-key (PGP)"},
			{".json", "{\"private_key\": \"{rsajson}\"}\n", th + "privatekey (JSON string with \\n escapes)"},
			{".yaml", "tls:\n  key: |\n{rsaindent}", "private key in a YAML block scalar"},
			{".nix", "{ pkgs, ... }:\n{\n  environment.etc.\"ssh/id_ed25519\".text = ''\n{opensshindent}  '';\n}\n", "private key in a Nix string"},
		}, neg: []file{
			{".pem", "{pem:PUBLIC KEY}", "public key"},
			{".pem", "{pem:CERTIFICATE}", "certificate"},
			{".asc", "{pem:PGP PUBLIC KEY BLOCK}", gl + "jwt-base64 fps (PGP public key)"},
			{".md", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n", "documentation"},
			{".txt", "-----BEGIN OPENSSH PRIVATE KEY-----\n<redacted>\n-----END OPENSSH PRIVATE KEY-----\n", "redacted"},
			{".go", "if strings.HasPrefix(line, \"-----BEGIN PRIVATE KEY-----\") {\n\treturn parse(line)\n}\n", "code"},
			{".pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{b64:43} ci@example.org\n", "SSH public key"},
		}},
		{class: "generic", ident: "generic", perWrap: 4, shapes: []shape{
			{"CLOJARS_{lowdig:60}", gl + "generic-api-key"},
			{"{an:20}{dig:2}{an:10}", gl + "generic-api-key"},
		}, pos: []file{
			{".py", "'access_token': '{an:24}'\n", gl + "generic-api-key"},
			{".ini", "some_api_token_123 = \"{an:60}\"\n", gl + "generic-api-key"},
			{".json", "\"user_auth\": \"{b64:56}=\"\n", gl + "generic-api-key"},
			{".json", "\"credentials\" : \"{hex:64}\"\n", gl + "generic-api-key"},
			{".env", "creds = {an:20}{dig:1}{an:9}\n", gl + "generic-api-key"},
			{".yaml", "private-key: {ans:100}\n", gl + "generic-api-key"},
			{".conf", "passwd = {ans:30}\n", gl + "generic-api-key"},
			{".json", "\"client_secret\" : \"{hex:64}\",\n", gl + "generic-api-key"},
			{".env", "mySecretString={an:20}{dig:1}{an:9}\n", gl + "generic-api-key"},
			{".py", "todo_secret_do_not_commit = {an:20}{dig:1}{an:9}\n", gl + "generic-api-key"},
			{".go", " utils.GetEnvOrDefault(\"api_token\", \"{uuid}\")\n", gl + "generic-api-key"},
			{".env", "DB_PASSWORD=\"{an:8}{dig:4}{an:8}\"\n", "password in an env file"},
			{".yaml", "database:\n  password: {an:20}\n", "password in YAML"},
			{".env", "DATABASE_URL=postgres://app:{an:20}@db.internal:5432/app\n", th + "postgres / uri"},
			{".env", "REDIS_URL=redis://default:{an:24}@cache.internal:6379\n", th + "redis"},
			{".env", "MONGO_URI=mongodb+srv://app:{an:20}@cluster0.example.net/db\n", th + "mongodb"},
			{".txt", "ftp://upload:{an:16}@ftp.example.org/incoming\n", th + "ftp"},
			{".sh", "curl -u admin:{an:18} https://ci.example.org/api/json\n", gl + "curl-auth-user"},
			{".sh", "curl -X POST https://api.example.org/v1/deploy \\\n  -H \"Authorization: Bearer {an:40}\"\n", gl + "curl-auth-header (continued line)"},
		}, neg: []file{
			{".json", "\"accessor\":\"rA1wk0Y45YCufyfq\",\n", gl + "generic-api-key fps"},
			{".yaml", "report_access_id: {uuid}\n", gl + "generic-api-key fps"},
			{".cs", "accessibilityYesOptionId = \"{uuid}\"\n", gl + "generic-api-key fps"},
			{".cs", "this.ultraPictureBox1.Name = \"ultraPictureBox1\";\n", gl + "generic-api-key fps"},
			{".properties", "COMMUNICATION_API_VERSION=rc0.13.0_20230412_0712-SNAPSHOT\n", gl + "generic-api-key fps"},
			{".properties", "MantleAPI_version={hex:40}\n", gl + "generic-api-key fps"},
			{".properties", "apiUrl=apigee.corpint.com\n", gl + "generic-api-key fps"},
			{".py", "author = \"james.fake@ymail.com\",\n", gl + "generic-api-key fps"},
			{".groovy", "withCredentials([usernamePassword(credentialsId: '{uuid}', usernameVariable: 'USERNAME', passwordVariable: 'PASSWORD')]) {\n", gl + "generic-api-key fps"},
			{".groovy", "credentialsId: '{uuid}'\n", gl + "generic-api-key fps"},
			{".json", "  \"credentialId\": \"B9mTcFSck2LzJO2S3ols63\",\n", gl + "generic-api-key fps"},
			{".py", "public_key = \"{an:43}\"\n", gl + "generic-api-key fps"},
			{".properties", "primaryKey={ans:30}\n", gl + "generic-api-key fps"},
			{".properties", "foreignKey={ans:30}\n", gl + "generic-api-key fps"},
			{".properties", "issuerKeyHash={ans:30}\n", gl + "generic-api-key fps"},
			{".json", "\"kms_key_id\": \"{uuid}\",\n", gl + "generic-api-key fps"},
			{".go", "const keyStr = \"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\"\n", gl + "generic-api-key fps"},
			{".zig", "key_length = XSalsa20.key_length\n", gl + "generic-api-key fps"},
			{".zig", "KeyPair = X25519.KeyPair\n", gl + "generic-api-key fps"},
			{".py", "LLM_SECRET_NAME = \"NEXUS-GPT4-API-KEY\"\n", gl + "generic-api-key fps (issue 21)"},
			{".zig", "secret_length = X25519.secret_length\n", gl + "generic-api-key fps (issue 21)"},
			{".xml", "  <UserSecretsId>{uuid}</UserSecretsId>\n", gl + "generic-api-key fps"},
			{".py", "    access_token_url='https://github.com/login/oauth/access_token',\n", gl + "generic-api-key fps"},
			{".txt", "csrf-token=Mj2qykJO5rELyHgezQ69nzUX0i3OH67V7+V4eUrLfpuyOuxmiW9rhROG/Whikle15syazJOkrjJa3U2AbhIvUw==\n", gl + "generic-api-key fps (issue 21)"},
			{".cs", "clientId = \"{uuid}\"\n", gl + "generic-api-key fps"},
			{".env", "GITHUB_API_KEY=\nDYNATRACE_API_KEY=\n", gl + "generic-api-key fps"},
			{".bb", "SRCREV_moby = \"{hex:40}\"\n", gl + "generic-api-key fps"},
			{".conf", "outgoing = smtp+xoauth2://user@smtp.example.org:587?client_id={uuid}&token_endpoint=https%3A%2F%2Flogin.example.org%2Fcommon%2Foauth2%2Fv2.0%2Ftoken\n", "URL-encoded value (issue 21)"},
			{".nix", "password_sha256_hex = \"{hex:64}\";  # `echo -n verysecret | sha256sum`\n", "hash labelled as a hash (cachix/devenv, issue 21)"},
			{".env", "API_TOKEN=<your-token>\n", "placeholder"},
			{".env", "API_TOKEN=xxxxxxxxxxxxxxxxxxxx\n", "placeholder"},
			{".env", "DB_PASSWORD=changeme\n", "placeholder"},
			{".rs", "assert_eq!(netrc, \"machine cachix.org\\npassword project-token\\n\");\n", "Rust test string (cachix/devenv, issue 21)"},
			{".go", "token := tokenizer.Next()\n", "code"},
			{".py", "password = get_password(user)\n", "function call"},
			{".py", "secret = os.environ[\"APP_SECRET\"]\n", "environment lookup"},
			{".js", "const apiKey = config.services.payment.apiKey;\n", "field access"},
			{".env", "SECRET_KEY_FILE=/run/secrets/app-secret-key\n", "path"},
			{".nix", "services.app.environmentFile = config.sops.secrets.\"app/token\".path;\n", "sops-nix reference"},
		}},
		{class: "nix-signing-key", ident: "signing", pos: []file{
			{".pem", "{nixkey:cache.example.org-1}\n", "nix key generate-secret output (Nix manual)"},
			{".nix", "{ pkgs, ... }: {\n  nix.settings.secret-key-files = [ (pkgs.writeText \"cache-key\" \"{nixkey:cache.example.org-1}\") ];\n}\n", "signing key inlined in a Nix expression"},
			{".yml", "env:\n  SIGNING_KEY: {nixkeyb64}\n", "bare base64 signing key under a neutral name (issue 21)"},
			{".env", "CACHIX_SIGNING_KEY={nixkeyb64}\n", "Cachix signing key"},
			{".conf", "secret-key = {nixkey:builder-1}\n", "signing key in a nix.conf-like file"},
			{".yaml", "nix_key: {nixkeyb64wrapped}\n", "base64 of the whole name:key string"},
			{".txt", "{nixkey:hydra.example.org-2}\n", "signing key alone"},
		}, neg: []file{
			{".narinfo", "StorePath: /nix/store/{lowdig:32}-hello-2.12\nURL: nar/{lowdig:52}.nar.xz\nCompression: xz\nNarHash: sha256:{lowdig:52}\nNarSize: 226560\nSig: {nixsig:cache.nixos.org-1}\n", "narinfo signature (same shape as a secret key)"},
			{".conf", "trusted-public-keys = cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY= {nixpub:cache.example.org-1}\n", "public keys"},
			{".txt", "{nixsigb64}\n", "bare signature"},
			{".conf", "secret-key-files = /run/secrets/nix-signing-key\n", "path to a key"},
			{".nix", "nix.settings.secret-key-files = [ config.sops.secrets.nix-signing-key.path ];\n", "sops-nix reference"},
		}},
		{class: "nix-access-tokens", ident: "nix", pos: []file{
			{".conf", "access-tokens = github.com={gh:ghp}\n", "Nix manual (access-tokens)"},
			{".conf", "extra-access-tokens = gitlab.example.org=PAT:glpat-{ans:20} github.com={gh:ghp}\n", "Nix manual (access-tokens, several hosts)"},
			{".yml", "env:\n  NIX_CONFIG: \"access-tokens = github.com={an:40}\"\n", "NIX_CONFIG in CI"},
			{".nix", "{\n  nixConfig.access-tokens = \"github.com={gh:ghp}\";\n}\n", "flake nixConfig"},
			{".sh", "nix build --option access-tokens \"gitlab.com=OAuth2:{an:40}\" .#default\n", "nix --option"},
			{".nix", "nix.extraOptions = ''\n  access-tokens = github.com={an:40}\n'';\n", "NixOS nix.extraOptions"},
		}, neg: []file{
			{".md", "access-tokens = github.com=23ac...b289 gitlab.mycompany.com=PAT:A123Bp_Cd..EfG gitlab.com=OAuth2:1jklw3jk\n", "Nix manual's documented placeholder (issue 21)"},
			{".yml", "env:\n  NIX_CONFIG: \"access-tokens = github.com=${{ secrets.GITHUB_TOKEN }}\"\n", "GitHub Actions secret reference"},
			{".conf", "access-tokens = github.com=<token>\n", "placeholder"},
			{".sh", "echo \"access-tokens = github.com=$(cat /run/secrets/gh-token)\" >> /etc/nix/nix.conf\n", "command substitution"},
			{".nix", "nix.extraOptions = \"!include ${config.sops.secrets.nix-access-tokens.path}\";\n", "sops-nix include"},
		}},
		{class: "cachix", ident: "cachix", pos: []file{
			{".env", "CACHIX_AUTH_TOKEN={cachixjwt}\n", "Cachix documentation"},
			{".sh", "cachix authtoken {cachixjwt}\n", "Cachix documentation"},
			{".yml", "- uses: cachix/cachix-action@v15\n  with:\n    name: mycache\n    authToken: '{cachixjwt}'\n", "cachix-action with a literal token"},
			{".dhall", "{ authToken = \"{cachixjwt}\"\n, hostname = \"https://cachix.org\"\n, binaryCaches = [] : List { name : Text, secretKey : Text }\n}\n", "~/.config/cachix/cachix.dhall"},
			{".nix", "cachix_auth_token = \"{cachixjwt}\";\n", "cachix token in Nix"},
		}, neg: []file{
			{".rs", "            load_yaml(\"secretspec:\\n  enable: true\\n  cachix_auth_token: MY_TEAM_CACHIX_TOKEN\\n\");\n", "cachix/devenv (issue 21)"},
			{".rs", "                cachix_auth_token: base.cachix_auth_token,\n", "cachix/devenv (issue 21)"},
			{".rs", "        let project_cachix_auth_token = cachix_auth_token_secret.and_then(|secret_name| {\n", "cachix/devenv (issue 21)"},
			{".md", "```yaml\nsecretspec:\n  enable: true\n  cachix_auth_token: MY_TEAM_CACHIX_TOKEN\n```\n", "cachix/devenv documentation (issue 21)"},
			{".yml", "- uses: cachix/cachix-action@v15\n  with:\n    name: mycache\n    authToken: '${{ secrets.CACHIX_AUTH_TOKEN }}'\n", "GitHub Actions secret reference"},
			{".sh", "cachix authtoken \"$CACHIX_AUTH_TOKEN\"\ncachix use nix-community\n", "reference"},
		}},
		{class: "netrc", ident: "netrc", pos: []file{
			{".netrc", "machine cache.example.org login ci password {an:20}\n", "netrc one-line form"},
			{".netrc", "machine cache.example.org\n  login ci\n  password {an:20}\n", "netrc multi-line form"},
			{".nix", "nix.settings.netrc-file = pkgs.writeText \"netrc\" ''\n  machine attic.example.org password {an:32}\n'';\n", "netrc inlined in a Nix expression"},
		}, neg: []file{
			{".rs", "assert_eq!(s, \"machine cachix.org\\npassword project-token\\n\");\n", "cachix/devenv Rust test string (issue 21)"},
			{".netrc", "machine example.org login ci password $NETRC_PASSWORD\n", "reference"},
			{".md", "The build runs as a state machine: password checks come first.\n", "prose"},
			{".netrc", "machine cache.example.org login ci password changeme\n", "placeholder"},
		}},
		{class: "kubernetes", ident: "k8s", pos: []file{
			{".yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\ndata:\n  password: {b64text:20}\n", gl + "kubernetes-secret-yaml"},
			{".yaml", "apiVersion: v1\nkind: 'Secret'\nmetadata:\n  name: app\ndata:\n  password: {b64text:20}\n", "quoted kind (issue 21)"},
			{".yaml", "apiVersion: v1\nkind: \"Secret\"\nmetadata:\n  name: app\nstringData:\n  password: {an:20}\n", "stringData, double-quoted kind"},
			{".json", "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\"name\": \"app\"},\n  \"data\": {\"token\": \"{b64text:32}\"}\n}\n", "JSON manifest (issue 21)"},
			{".yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: app\n  data:\n    password: {b64text:20}\n", "List kind"},
			{".yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  LOG_LEVEL: info\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n  api-key: {b64text:24}\n", "multi-document YAML"},
			{".yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {dockerconfigb64}\n", th + "docker (dockerconfigjson)"},
			{".yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gh\ndata:\n  GITHUB_TOKEN: {ghb64}\n", "token inside a base64 data value"},
		}, neg: []file{
			{".yaml", "{sopssecret}", "sops-encrypted Secret (issue 21)"},
			{".json", "{sopssecretjson}", "sops-encrypted Secret, JSON"},
			{".yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ include \"app.fullname\" . }}\ntype: Opaque\ndata:\n  password: {{ .Values.password | b64enc | quote }}\n", "Helm template"},
			{".yaml", "{sealedsecret}", "SealedSecret"},
			{".yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: empty\ndata: {}\n", "empty Secret"},
			{".yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sa-token\n  annotations:\n    kubernetes.io/service-account.name: ci\ntype: kubernetes.io/service-account-token\n", "service account token placeholder"},
			{".yaml", "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: app\nspec:\n  secretStoreRef:\n    name: vault\n  data:\n  - secretKey: password\n    remoteRef:\n      key: app/password\n", "ExternalSecret reference"},
			{".yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  token_ttl: \"3600\"\n  secret_name: app-secret\n", "ConfigMap"},
		}},
	}
}
