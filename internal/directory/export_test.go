package directory

// Test-only hooks.

// DisableRuleForTest switches off one rule of DESIGN §1.2 ("level",
// "subset", "target" or "last-owner") so that tests can show the property
// tests detect its absence. Call it before using d concurrently.
func DisableRuleForTest(d *Directory, name string) {
	if d.disabled == nil {
		d.disabled = map[rule]bool{}
	}
	switch name {
	case "level":
		d.disabled[ruleLevel] = true
	case "subset":
		d.disabled[ruleSubset] = true
	case "target":
		d.disabled[ruleTarget] = true
	case "last-owner":
		d.disabled[ruleLastOwner] = true
	default:
		panic("unknown rule " + name)
	}
}

// ReloadsForTest is how many times the follower reloaded an org after the
// initial load.
func ReloadsForTest(d *Directory) uint64 { return d.fol.reloads.Load() }
