package secrets

import (
	"path"
	"strings"
)

// SecretFile says whether a file's name marks it as secret-bearing, what
// it is, and the .gitignore pattern that would cover it.
func SecretFile(name string) (kind, pattern string, ok bool) {
	base := path.Base(name)
	lower := strings.ToLower(base)
	switch {
	case lower == ".env" || strings.HasPrefix(lower, ".env.") && !isExampleSuffix(lower):
		if lower == ".env" {
			return "dotenv file", ".env", true
		}
		return "dotenv file", ".env.*", true
	case strings.HasSuffix(lower, ".env") && !isExampleSuffix(strings.TrimSuffix(lower, ".env")) && !strings.Contains(lower, "example"):
		return "dotenv file", "*.env", true
	case lower == "id_rsa" || lower == "id_dsa" || lower == "id_ecdsa" || lower == "id_ed25519" || lower == "id_ecdsa_sk" || lower == "id_ed25519_sk":
		return "SSH private key", base, true
	case lower == ".netrc" || lower == "_netrc" || lower == "netrc":
		return "netrc credentials", base, true
	case lower == ".pgpass":
		return "PostgreSQL password file", base, true
	case lower == "credentials" && strings.Contains(name, ".aws/"):
		return "AWS credentials file", ".aws/credentials", true
	case hasAnySuffix(lower, privSuffixes) != "":
		return "private key file", "*" + hasAnySuffix(lower, privSuffixes), true
	case strings.HasSuffix(lower, ".key") && !strings.HasSuffix(lower, ".pub.key"):
		return "private key file", "*.key", true
	case strings.HasSuffix(lower, ".p12") || strings.HasSuffix(lower, ".pfx"):
		return "PKCS#12 key store", "*" + path.Ext(lower), true
	case strings.HasSuffix(lower, ".jks") || strings.HasSuffix(lower, ".keystore"):
		return "Java key store", "*" + path.Ext(lower), true
	case lower == "kubeconfig" || strings.HasPrefix(lower, "kubeconfig.") || strings.HasSuffix(name, ".kube/config"):
		return "kubeconfig", base, true
	}
	return "", "", false
}

func isExampleSuffix(lower string) bool {
	for _, s := range []string{".example", ".sample", ".template", ".dist", ".defaults", ".schema"} {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	return false
}

// unsealedMarkers name the plaintext twin of a sealed manifest.
var unsealedMarkers = []string{".orig", ".unsealed", ".plain", ".decrypted", ".raw", ".unencrypted"}

// UnsealedTwin says whether name (such as deploy/secret.orig.yaml) is the
// plaintext source of a sealed manifest that exists beside it (such as
// deploy/secret.sealed.yaml), and returns that sealed file and the
// .gitignore pattern that covers such files.
func UnsealedTwin(name string, exists func(string) bool) (sealed, pattern string, ok bool) {
	dir, base := path.Split(name)
	ext := path.Ext(base)
	if ext != ".yaml" && ext != ".yml" && ext != ".json" {
		return "", "", false
	}
	stem := strings.TrimSuffix(base, ext)
	for _, m := range unsealedMarkers {
		if !strings.HasSuffix(stem, m) {
			continue
		}
		root := strings.TrimSuffix(stem, m)
		for _, cand := range []string{root + ".sealed" + ext, root + "-sealed" + ext, "sealed-" + root + ext, root + ".sealedsecret" + ext} {
			if exists(dir + cand) {
				return dir + cand, "*" + m + ext, true
			}
		}
	}
	return "", "", false
}

var privSuffixes = []string{"priv-key.pem", "private-key.pem", "private_key.pem", ".priv.pem", "-key.pem", "_key.pem"}

func hasAnySuffix(s string, suffixes []string) string {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return x
		}
	}
	return ""
}
