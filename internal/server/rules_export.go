package server

import (
	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// RulesOut is the wire form of obligations and advice, as a check answers
// them; the CLI's offline `policy check` prints the same shape.
func RulesOut(rs []*policy.Rule) []api.RuleOut { return rulesOut(rs) }
