package client

import (
	"encoding"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// The client's wire types mirror the server's so that the SDK does not
// import the server. This test keeps the mirror true: for every pair it
// compares the JSON shape (member names, and recursively the kind of each
// member's value) of the client type with the server type.

func TestWireTypesMatchServer(t *testing.T) {
	type pair struct {
		client, server reflect.Type
	}
	p := func(c, s any) pair { return pair{reflect.TypeOf(c), reflect.TypeOf(s)} }
	pairs := []pair{
		p(List[Org]{}, server.List[store.Org]{}),
		p(written[Org]{}, server.Written[store.Org]{}),
		p(revision{}, server.Revision{}),
		p(Consistency{}, server.Consistency{}),
		p(Org{}, store.Org{}),
		p(CreateOrgRequest{}, directory.OrgSpec{}),
		p(Namespace{}, store.Namespace{}),
		p(User{}, store.User{}),
		p(Member{}, store.Member{}),
		p(Team{}, store.Team{}),
		p(CreateTeamRequest{}, server.TeamRequest{}),
		p(Role{}, directory.RoleInfo{}),
		p(RoleSpec{}, directory.RoleSpec{}),
		p(roleBody{}, server.RoleBody{}),
		p(Policy{}, store.Policy{}),
		p(Validation{}, server.ValidateResponse{}),
		p(Binding{}, store.Binding{}),
		p(BindingSpec{}, directory.BindingSpec{}),
		p(Agent{}, store.Agent{}),
		p(AgentSpec{}, directory.AgentSpec{}),
		p(AgentPatch{}, server.AgentPatch{}),
		p(Service{}, store.Service{}),
		p(ServiceSpec{}, directory.ServiceSpec{}),
		p(Resource{}, store.Resource{}),
		p(ResourceSpec{}, directory.ResourceSpec{}),
		p(ResourcePatch{}, server.ResourcePatch{}),
		p(ResourceVersion{}, store.ResourceVersion{}),
		p(DiffEntry{}, store.DiffEntry{}),
		p(APIKey{}, store.APIKey{}),
		p(KeySpec{}, auth.KeySpec{}),
		p(KeyCreated{}, server.KeyCreated{}),
		p(Invitation{}, store.Invitation{}),
		p(InvitationCreated{}, server.InvitationCreated{}),
		p(AcceptRequest{}, server.AcceptRequest{}),
		p(Session{}, server.SessionResponse{}),
		p(Accepted{}, server.AcceptResponse{}),
		p(Health{}, server.Health{}),
		p(Me{}, server.Me{}),
		p(checkBody{}, server.CheckRequest{}),
		p(Decision{}, server.CheckResponse{}),
		p(Rule{}, server.RuleOut{}),
		p(batchBody{}, server.BatchCheckRequest{}),
		p(CheckRequest{}, server.BatchItem{}),
		p(api.Batch{}, server.BatchCheckResponse{}),
		p(Explanation{}, server.ExplainResponse{}),
		p(lookupResourcesBody{}, server.LookupResourcesRequest{}),
		p(ResourcePage{}, server.LookupResourcesResponse{}),
		p(lookupSubjectsBody{}, server.LookupSubjectsRequest{}),
		p(Subjects{}, server.LookupSubjectsResponse{}),
		p(Permissions{}, server.PermissionsResponse{}),
		p(Secret{}, store.Secret{}),
		p(SecretVersion{}, store.SecretVersion{}),
		p(SecretSpec{}, server.SecretCreate{}),
		p(SecretPatch{}, server.SecretPatch{}),
		p(secretRotate{}, server.SecretRotate{}),
		p(SecretValue{}, server.SecretValue{}),
		p(RunRequest{}, server.RunRequest{}),
		p(RunGrant{}, vault.RunGrant{}),
		p(exchangeRequest{}, server.ExchangeRequest{}),
		p(Release{}, vault.Release{}),
		p(List[AuditEntry]{}, server.List[audit.Entry]{}),
		p(Checkpoint{}, audit.Checkpoint{}),
		p(auditVerifyRequest{}, server.AuditVerifyRequest{}),
		p(AuditVerification{}, server.AuditVerifyResult{}),
		p(VersionHistory{}, directory.VersionHistory{}),
		p(AuditSettings{}, audit.Settings{}),
	}
	for _, pr := range pairs {
		t.Run(pr.client.String(), func(t *testing.T) {
			if diff := cmp.Diff(shape(pr.server, 0), shape(pr.client, 0)); diff != "" {
				t.Errorf("client %v differs from server %v (-server +client):\n%s", pr.client, pr.server, diff)
			}
		})
	}
}

// Problem documents decode into Error: every member the server sends must
// have a home.
func TestErrorHoldsEveryProblemMember(t *testing.T) {
	srv := shape(reflect.TypeOf(server.Problem{}), 0).(map[string]any)
	cli := shape(reflect.TypeOf(api.Problem{}), 0).(map[string]any)
	if diff := cmp.Diff(srv, cli); diff != "" {
		t.Errorf("Error does not mirror server.Problem (-server +client):\n%s", diff)
	}
}

var (
	timeT = reflect.TypeFor[time.Time]()
	rawT  = reflect.TypeFor[json.RawMessage]()
	textT = reflect.TypeFor[encoding.TextMarshaler]()
)

// shape describes how a type looks in JSON: a struct is a map of member
// name to shape, a slice "[]"+shape, a map "{}"+shape, scalars by kind.
func shape(t reflect.Type, depth int) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > 8 {
		return "…"
	}
	switch {
	case t == timeT:
		return "time"
	case t == rawT:
		return "json"
	case t.Kind() != reflect.Struct && reflect.PointerTo(t).Implements(textT):
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return []any{shape(t.Elem(), depth+1)}
	case reflect.Map:
		return map[string]any{"{}": shape(t.Elem(), depth+1)}
	case reflect.Interface:
		return "any"
	case reflect.Struct:
		out := map[string]any{}
		fields(t, depth, out)
		return out
	}
	return t.Kind().String()
}

func fields(t reflect.Type, depth int, out map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				fields(ft, depth, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = shape(f.Type, depth+1)
	}
}

// The shapes compared above must not be vacuous.
func TestShapeSeesMembers(t *testing.T) {
	s := shape(reflect.TypeOf(Binding{}), 0).(map[string]any)
	var keys []string
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"actions", "condition", "created_at", "created_by", "id", "org", "principal", "role", "scope"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("Binding members (-want +got):\n%s", diff)
	}
	_ = authz.Binding{}
}
