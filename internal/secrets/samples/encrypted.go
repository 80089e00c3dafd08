package samples

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Encrypted material: the ways Nix users (and others) keep secrets in a
// repository without leaking them. Every sample is a negative: a scanner
// that reports one breaks the gate of exactly the users who did the right
// thing. The formats follow the tools' own output: sops (YAML, JSON,
// dotenv, INI; AES256-GCM values with age and PGP recipients), age
// (armored and binary), agenix (secrets.nix and .age files),
// SealedSecrets, git-crypt and PGP messages.

func (g *Gen) sopsValue(n int) string {
	return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:str]",
		base64.StdEncoding.EncodeToString(g.Bytes(n)), base64.StdEncoding.EncodeToString(g.Bytes(32)), base64.StdEncoding.EncodeToString(g.Bytes(16)))
}

// ageArmored is an age file in ASCII armor: a text header (recipient
// stanzas) and binary payload, base64 in 64-character lines.
func (g *Gen) ageArmored(indent string) string {
	hdr := "age-encryption.org/v1\n-> X25519 " + base64.RawStdEncoding.EncodeToString(g.Bytes(32)) + "\n" +
		base64.RawStdEncoding.EncodeToString(g.Bytes(32)) + "\n--- " + base64.RawStdEncoding.EncodeToString(g.Bytes(32)) + "\n"
	body := base64.StdEncoding.EncodeToString(append([]byte(hdr), g.Bytes(64+g.IntN(200))...))
	var b strings.Builder
	b.WriteString(indent + "-----BEGIN AGE ENCRYPTED FILE-----\n")
	for len(body) > 64 {
		b.WriteString(indent + body[:64] + "\n")
		body = body[64:]
	}
	b.WriteString(indent + body + "\n" + indent + "-----END AGE ENCRYPTED FILE-----\n")
	return b.String()
}

func (g *Gen) pgpMessage(indent string) string {
	body := base64.StdEncoding.EncodeToString(append([]byte{0x85, 0x01, 0x0c, 0x03}, g.Bytes(300+g.IntN(200))...))
	var b strings.Builder
	b.WriteString(indent + "-----BEGIN PGP MESSAGE-----\n" + indent + "\n")
	for len(body) > 64 {
		b.WriteString(indent + body[:64] + "\n")
		body = body[64:]
	}
	b.WriteString(indent + body + "\n" + indent + "=" + base64.StdEncoding.EncodeToString(g.Bytes(3)) + "\n" + indent + "-----END PGP MESSAGE-----\n")
	return b.String()
}

func (g *Gen) ageRecipient() string { return Bech32("age", g.Bytes(32)) }

// sopsMeta is the sops metadata block of a YAML file.
func (g *Gen) sopsMeta() string {
	return "sops:\n    kms: []\n    gcp_kms: []\n    azure_kv: []\n    hc_vault: []\n    age:\n        - recipient: " + g.ageRecipient() + "\n          enc: |\n" +
		g.ageArmored("            ") +
		"    lastmodified: \"" + time.Unix(1700000000+int64(g.IntN(1e7)), 0).UTC().Format(time.RFC3339) + "\"\n" +
		"    mac: " + g.sopsValue(32) + "\n    pgp:\n        - created_at: \"2024-03-01T10:00:00Z\"\n          enc: |-\n" +
		g.pgpMessage("            ") + "          fp: " + g.Pick("0123456789ABCDEF", 40) + "\n" +
		"    unencrypted_suffix: _unencrypted\n    version: 3.8.1\n"
}

func (g *Gen) field2(name, arg string) (string, bool) {
	switch name {
	case "sopssecret":
		return "apiVersion: v1\nkind: Secret\nmetadata:\n    name: app\n    namespace: prod\ntype: Opaque\ndata:\n    password: " + g.sopsValue(28) +
			"\n    token: " + g.sopsValue(40) + "\n" + g.sopsMeta(), true
	case "sopssecretjson":
		return fmt.Sprintf(`{
	"apiVersion": "v1",
	"kind": "Secret",
	"metadata": {"name": "app"},
	"data": {
		"password": %q
	},
	"sops": {
		"kms": null,
		"age": [
			{
				"recipient": %q,
				"enc": %q
			}
		],
		"lastmodified": "2024-05-06T07:08:09Z",
		"mac": %q,
		"version": "3.8.1"
	}
}
`, g.sopsValue(28), g.ageRecipient(), g.ageArmored(""), g.sopsValue(32)), true
	case "sealedsecret":
		ct := func() string {
			return base64.StdEncoding.EncodeToString(append([]byte{0x02, 0x00}, g.Bytes(560)...))
		}
		return "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: app\n  namespace: prod\nspec:\n  encryptedData:\n    password: " + ct() +
			"\n    token: " + ct() + "\n  template:\n    metadata:\n      name: app\n      namespace: prod\n    type: Opaque\n", true
	}
	return "", false
}

// encrypted returns the encrypted-material negatives.
func encrypted(g *Gen) []Sample {
	type ef struct{ ext, content, src string }
	files := []ef{
		{".yaml", "db_password: " + g.sopsValue(24) + "\napi_token: " + g.sopsValue(40) + "\ngithub_token: " + g.sopsValue(40) +
			"\nsmtp:\n    password: " + g.sopsValue(18) + "\n    host_unencrypted: smtp.example.org\n" + g.sopsMeta(), "sops YAML (sops-nix secrets.yaml)"},
		{".yaml", "hosts:\n    builder:\n        nix_signing_key: " + g.sopsValue(108) + "\n        ssh_host_ed25519_key: " + g.sopsValue(400) + "\n" + g.sopsMeta(), "sops YAML with a Nix signing key and an SSH host key"},
		{".json", fmt.Sprintf(`{
	"db_password": %q,
	"api_token": %q,
	"sops": {
		"kms": null,
		"gcp_kms": null,
		"azure_kv": null,
		"hc_vault": null,
		"age": [
			{
				"recipient": %q,
				"enc": %q
			}
		],
		"lastmodified": "2024-05-06T07:08:09Z",
		"mac": %q,
		"pgp": null,
		"unencrypted_suffix": "_unencrypted",
		"version": "3.8.1"
	}
}
`, g.sopsValue(24), g.sopsValue(40), g.ageRecipient(), g.ageArmored(""), g.sopsValue(32)), "sops JSON"},
		{".env", "DB_PASSWORD=" + g.sopsValue(24) + "\nAPI_TOKEN=" + g.sopsValue(40) + "\nAWS_SECRET_ACCESS_KEY=" + g.sopsValue(40) +
			"\nsops_age__list_0__map_enc=" + strings.ReplaceAll(g.ageArmored(""), "\n", "\\n") +
			"\nsops_age__list_0__map_recipient=" + g.ageRecipient() + "\nsops_lastmodified=2024-05-06T07:08:09Z\nsops_mac=" + g.sopsValue(32) +
			"\nsops_unencrypted_suffix=_unencrypted\nsops_version=3.8.1\n", "sops dotenv"},
		{".ini", "[database]\npassword = " + g.sopsValue(24) + "\n[api]\ntoken = " + g.sopsValue(40) + "\n\n[sops]\nage__list_0__map_enc = " +
			strings.ReplaceAll(g.ageArmored(""), "\n", "\\n") + "\nage__list_0__map_recipient = " + g.ageRecipient() +
			"\nlastmodified = 2024-05-06T07:08:09Z\nmac = " + g.sopsValue(32) + "\nunencrypted_suffix = _unencrypted\nversion = 3.8.1\n", "sops INI"},
		{".yaml", "# a key kept with sops, PGP recipient only\nsecret_key: " + g.sopsValue(64) + "\nsops:\n    pgp:\n        - created_at: \"2023-01-01T00:00:00Z\"\n          enc: |\n" +
			g.pgpMessage("            ") + "          fp: " + g.Pick("0123456789ABCDEF", 40) + "\n    lastmodified: \"2023-01-01T00:00:00Z\"\n    mac: " + g.sopsValue(32) + "\n    version: 3.7.3\n", "sops YAML, PGP"},
		{".age", g.ageArmored(""), "age, ASCII armor"},
		{".age", "age-encryption.org/v1\n-> X25519 " + base64.RawStdEncoding.EncodeToString(g.Bytes(32)) + "\n" + base64.RawStdEncoding.EncodeToString(g.Bytes(32)) +
			"\n-> ssh-ed25519 " + base64.RawStdEncoding.EncodeToString(g.Bytes(4)) + " " + base64.RawStdEncoding.EncodeToString(g.Bytes(32)) + "\n" + base64.RawStdEncoding.EncodeToString(g.Bytes(32)) +
			"\n--- " + base64.RawStdEncoding.EncodeToString(g.Bytes(32)) + "\n" + string(g.Bytes(200)), "age, binary (agenix .age file)"},
		{".nix", fmt.Sprintf(`let
  alice = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%s alice@laptop";
  builder = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%s root@builder";
  ci = "%s";
in
{
  "nix-signing-key.age".publicKeys = [ alice builder ];
  "github-token.age".publicKeys = [ alice ci ];
  "cachix-auth-token.age".publicKeys = [ alice ci ];
}
`, base64.RawStdEncoding.EncodeToString(g.Bytes(32)), base64.RawStdEncoding.EncodeToString(g.Bytes(32)), g.ageRecipient()), "agenix secrets.nix"},
		{".nix", "{\n  age.secrets.github-token.file = ../secrets/github-token.age;\n  nix.extraOptions = \"!include ${config.age.secrets.nix-access-tokens.path}\";\n  services.nix-serve.secretKeyFile = config.age.secrets.nix-signing-key.path;\n}\n", "agenix usage"},
		{".yaml", g.MustRender("{sealedsecret}"), "SealedSecret"},
		{".json", fmt.Sprintf(`{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"name":"app"},"spec":{"encryptedData":{"token":%q}}}`+"\n",
			base64.StdEncoding.EncodeToString(append([]byte{0x02, 0x00}, g.Bytes(560)...))), "SealedSecret, JSON"},
		{".env", "\x00GITCRYPT\x00" + string(g.Bytes(300)), "git-crypt encrypted file"},
		{".asc", g.pgpMessage(""), "PGP message"},
		{".yaml", "deploy_key: |\n" + g.pgpMessage("  "), "PGP message in YAML"},
		{".txt", "$ANSIBLE_VAULT;1.1;AES256\n" + vaultHex(g), "Ansible Vault"},
		{".yaml", g.MustRender("{sopssecret}"), "sops-encrypted Kubernetes Secret"},
	}
	var out []Sample
	for i, f := range files {
		out = append(out, Sample{Name: fmt.Sprintf("encrypted/neg-%03d%s", i+1, f.ext), Class: "encrypted", Source: f.src, Content: f.content})
	}
	return out
}

func vaultHex(g *Gen) string {
	h := fmt.Sprintf("%x", g.Bytes(240))
	var b strings.Builder
	for len(h) > 80 {
		b.WriteString(h[:80] + "\n")
		h = h[80:]
	}
	b.WriteString(h + "\n")
	return b.String()
}

// nixPub is a Nix public key name:base64(32 bytes).
func (g *Gen) nixPub(name string) string {
	k := ed25519.NewKeyFromSeed(g.Bytes(32))
	return name + ":" + base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
}
