package server_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestAttestWarnsOfOutrankedCredentials: an agent, or a service that
// opted in to the org's rules, due for attestation holds no level (its
// credentials are refused as suspended, not as outranking their minter),
// so lowering the member that minted one of them stops nothing then;
// attesting it lifts attestation_due, gives its level back and so stops
// that credential. POST …/agents/{agent}/attest (and …/services/{service}/
// attest) succeeds with the credentials-outranked warning naming it
// (kind, id, principal, minter), the org's audit log records it under the
// route's cause, and its next use is refused credential-outranks-minter.
//
// The engine judges attestation_due by the wall clock: the org's rule
// (set through the directory, below the API's whole days) wants an
// attestation every second, so the principal is due a second after its
// creation (the test waits for that status), and the attestation is
// stamped an hour ahead by the store's clock (shiftedClock), so it is not
// due after it.
func TestAttestWarnsOfOutrankedCredentials(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"agent", "service"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			offset := &atomic.Int64{}
			ow := newOutrankWorldEnv(t, envOpts{authOpts: auth.Options{FailureBurst: 1e12, FailureRate: 1e12},
				wrap: func(st store.Store) store.Store { return shiftedClock{st, offset} }})
			sponsor := "user:" + ow.ownerID
			var (
				path    string // the principal's route
				stopped api.OutrankedCredential
				secret  string
				use     func() string
			)
			switch kind {
			case "agent":
				path = "/agents/Runner"
				ow.as(t, 201, "POST", "/agents", map[string]any{"name": "Runner", "role": "operator", "sponsors": []string{sponsor}})
				var at api.AgentToken
				ow.e.must(201, "POST", ow.org+path+"/tokens", ow.adm, map[string]any{"audience": ow.gwAud, "ttl": "1h"}, &at)
				stopped = api.OutrankedCredential{Kind: api.CredentialAgentToken, ID: at.TokenID, Principal: at.Agent, Minter: "user:adm", Scope: "org"}
				secret = at.Token
				use = func() string {
					_, err := ow.e.auth.AuthenticateAudience(ctx, at.Token, ow.gwAud, "192.0.2.9")
					switch {
					case err == nil:
						return "ok"
					case errors.Is(err, auth.ErrOutranksMinter):
						return refused
					}
					return err.Error()
				}
			case "service":
				path = "/services/deploy"
				ow.as(t, 201, "POST", "/services", map[string]any{"name": "deploy", "role": "operator", "sponsors": []string{sponsor}, "lifecycle": true})
				var kc api.KeyCreated
				ow.e.must(201, "POST", ow.org+"/apikeys", ow.adm, map[string]any{"principal": "service:deploy"}, &kc)
				stopped = api.OutrankedCredential{Kind: api.CredentialAPIKey, ID: kc.Item.ID, Principal: "service:deploy", Minter: "user:adm", Scope: "org"}
				secret = kc.Token
				use = func() string { return ow.use(t, kc.Token, "read") }
			}
			if _, _, err := ow.e.dir.SetOrgLifecycle(ctx, directory.Actor{Principal: sponsor}, ow.world.org, authz.LifecycleSettings{AttestEvery: time.Second}); err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				var st struct {
					Status string `json:"status"`
				}
				ow.e.must(200, "GET", ow.org+path, ow.owner, nil, &st)
				if st.Status == "attestation_due" {
					break
				}
				if i == 600 { // 30 s: a loaded CI host, never the expected wait (≈ 1 s)
					t.Fatalf("the %s's status is %q 30 s after a rule of one second, want attestation_due", kind, st.Status)
				}
				time.Sleep(50 * time.Millisecond)
			}

			for _, st := range []struct {
				name, method, path string
				body               any
				want               []api.WriteWarning
			}{
				{"the minter lowered while the " + kind + " is due: nothing stops", "PATCH", "/members/adm", map[string]any{"role": "viewer"}, nil},
				{"the " + kind + " attested: its credential outranks its minter", "POST", path + "/attest", nil,
					[]api.WriteWarning{{Code: api.WarningCredentialsOutranked, Count: 1, Credentials: []api.OutrankedCredential{stopped}}}},
			} {
				if strings.HasSuffix(st.path, "/attest") {
					offset.Store(int64(time.Hour)) // attested an hour ahead: not due after it
				}
				var w struct {
					Warnings []api.WriteWarning `json:"warnings"`
				}
				r := ow.e.must(200, st.method, ow.org+st.path, ow.owner, st.body, &w)
				if strings.Contains(string(r.Body), secret[len(secret)-20:]) {
					t.Errorf("%s: the answer holds the credential's secret: %s", st.name, r.Body)
				}
				for i := range w.Warnings {
					if !strings.Contains(w.Warnings[i].Message, "refused") {
						t.Errorf("%s: warning %+v", st.name, w.Warnings[i])
					}
					w.Warnings[i].Message = ""
					for j := range w.Warnings[i].Credentials {
						w.Warnings[i].Credentials[j].Reason = ""
					}
				}
				if diff := cmp.Diff(st.want, w.Warnings); diff != "" {
					t.Errorf("%s: warnings (-want +got):\n%s", st.name, diff)
				}
			}

			if diff := cmp.Diff(map[string][]api.OutrankedCredential{kind + ".attest": {stopped}}, ow.outrankedLog(t)); diff != "" {
				t.Errorf("audit entries (-want +got):\n%s", diff)
			}
			if got := use(); got != refused {
				t.Errorf("the credential's use after the attestation: %s, want %s", got, refused)
			}
		})
	}
}
