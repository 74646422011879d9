package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
)

func TestScopeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope api.Scope
		want  string
	}{
		{api.Scope{}, "org"},
		{api.Scope{Namespace: "prod"}, "ns/prod"},
		{api.Scope{Namespace: "prod", Type: "chains", ID: "triage"}, "prod/chains/triage"},
	}
	for _, tt := range tests {
		if got := tt.scope.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.scope, got, tt.want)
		}
	}
}

// TestBodiesCarryEveryMember: the body builders copy every member of the
// question and add the consistency.
func TestBodiesCarryEveryMember(t *testing.T) {
	t.Parallel()
	c := &api.Consistency{AtLeast: 7}
	ctx := map[string]any{"ip": "10.0.0.1"}
	got := api.BatchItem{Principal: "user:a", Action: "chains:run", Resource: "chains/x", Namespace: "prod", Context: ctx, OnBehalfOf: "user:b"}.Check(c)
	want := api.CheckRequest{Principal: "user:a", Action: "chains:run", Resource: "chains/x", Namespace: "prod", Context: ctx, OnBehalfOf: "user:b", Consistency: c}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
	lr := api.LookupResourcesQuery{Principal: "user:a", Action: "chains:run", Namespace: "prod", Context: ctx, OnBehalfOf: "user:b", PageSize: 5, Cursor: "c"}.Request(c)
	wantLR := api.LookupResourcesRequest{Principal: "user:a", Action: "chains:run", Namespace: "prod", Context: ctx, OnBehalfOf: "user:b", PageSize: 5, Cursor: "c", Consistency: c}
	if diff := cmp.Diff(wantLR, lr); diff != "" {
		t.Errorf("LookupResourcesQuery.Request (-want +got):\n%s", diff)
	}
	ls := api.LookupSubjectsQuery{Action: "chains:run", Resource: "chains/x", Namespace: "prod", Context: ctx}.Request(c)
	wantLS := api.LookupSubjectsRequest{Action: "chains:run", Resource: "chains/x", Namespace: "prod", Context: ctx, Consistency: c}
	if diff := cmp.Diff(wantLS, ls); diff != "" {
		t.Errorf("LookupSubjectsQuery.Request (-want +got):\n%s", diff)
	}
}

// TestValuesNeverPrint: the types that carry a secret value or a token
// print neither, with %v, %+v or %#v.
func TestValuesNeverPrint(t *testing.T) {
	t.Parallel()
	const canary = "s3cr3t-canary"
	v := canary
	for _, x := range []any{
		api.SecretCreate{Name: "K", Value: &v},
		api.SecretPatch{Value: &v},
		api.SecretValue{Name: "K", Value: canary},
		api.RunGrant{Token: canary},
		api.Release{Secrets: []api.Released{{Name: "K", Value: canary}}},
		api.Released{Name: "K", Value: canary},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(verb, x); strings.Contains(s, canary) {
				t.Errorf("%T printed with %s shows the value: %s", x, verb, s)
			}
		}
	}
}
