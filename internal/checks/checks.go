// Package checks is the registry: one sorted list of every check nixgate
// has. Each check lives in its own file in this package, with fixtures in
// testdata/<id>/; the logic it needs lives in the domain package it names.
package checks

import (
	"github.com/nixgate/nixgate/internal/check"
)

// All returns every check, sorted by ID. Adding a check means adding its
// file, its fixtures and one line here.
func All() []*check.Check {
	return []*check.Check{
		BuildOutputCommitted,
		CacheClosure,
		CacheHiddenReference,
		CacheNARFormat,
		CacheNARIntegrity,
		CacheNarinfo,
		CacheSignature,
		CacheURLSafety,
		CISigns,
		CIWorkflowHardening,
		DependencyAllowlist,
		DirtyTree,
		HostAcceptFlakeConfig,
		HostAllowedUsers,
		HostBuildHooks,
		HostBuildUsersGroup,
		HostCISigningKeys,
		HostConfigInvalid,
		HostConfigQuoting,
		HostNixAdvisories,
		HostReadableCredentials,
		HostRemoteBuilders,
		HostRequireSigs,
		HostSandbox,
		HostSandboxPaths,
		HostSandboxProbe,
		HostSharedStore,
		HostSubstituters,
		HostSyscallFilter,
		HostTrustedUsers,
		HostUnsafeEval,
		K8sSecretManifest,
		Kconfig,
		KconfigAnchor,
		KconfigInput,
		KconfigKHC,
		KconfigKSPP,
		KconfigProfile,
		LockChangeRisk,
		LockCondition,
		LockDuplicateInput,
		LockInputIndirect,
		LockInputInsecureTransport,
		LockInputLocalPath,
		LockInputMutableURL,
		LockInputNoNarHash,
		LockInputOwner,
		LockInputSourceMismatch,
		LockInputUnlocked,
		LockMissing,
		LockNixpkgsBranch,
		LockNixpkgsOwner,
		LockNixpkgsStale,
		LogCheckpoint,
		LogConsistency,
		LogProof,
		NixImpureConstruct,
		PolicySchema,
		PRLockLabel,
		PRReviewPath,
		ProvenanceBuilder,
		ProvenanceCommit,
		ProvenanceExternalParameters,
		ProvenanceLock,
		ProvenancePayloadType,
		ProvenanceSignature,
		ProvenanceSignatureThreshold,
		ProvenanceStatement,
		ProvenanceSubject,
		RustUnsafe,
		SecretFileNotIgnored,
		SecretLeak,
		SourceLocLimit,
		SuppressionInvalid,
		TrustDisagreement,
		TrustEquivocation,
		TrustKofN,
		UKICmdline,
		UKIDiff,
		UKIKconfig,
		UKILanzaboote,
		UKILayout,
		UKIPolicyFiles,
		UKISections,
		UKISignature,
		UKISignatureBad,
		UncheckedFile,
	}
}

// ByID finds a check.
func ByID(id string) *check.Check {
	for _, c := range All() {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// InScope returns the checks of one scope, sorted by ID.
func InScope(s check.Scope) []*check.Check {
	var out []*check.Check
	for _, c := range All() {
		if c.Scope == s {
			out = append(out, c)
		}
	}
	return out
}
