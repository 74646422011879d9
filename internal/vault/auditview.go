package vault

import "github.com/gatehouse-dev/gatehouse/internal/secretref"

// Secret names in the audit log. Entries are stored and hashed in full,
// names included; the directory shows each reader the log through its
// secretref.AuditView (directory.AuditView), which replaces the names of
// secrets of namespaces where the reader lacks secrets:list, drops the
// vault entries' before and after objects there, and makes filters by
// such names answer nothing. The vault records entries in the shapes that
// view knows (targets "<ns>/secrets/<NAME>", details "name" and
// "secrets", messages `secret "<NAME>" in namespace "<ns>"`); it installs
// nothing.

// Redacted replaces a secret's name in what a reader may not see.
const Redacted = secretref.Redacted
