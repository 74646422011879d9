package server

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/api"

	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// Secret routes (issue 6; docs/secrets.md). Permissions are the vault's:
// secrets:list sees names and metadata, secrets:read reveals values,
// secrets:create|update|rotate|delete manage; without secrets:list in a
// namespace every route about one of its secrets answers 404, as for a
// secret that does not exist. Values travel only in request bodies (never
// in a URL, so never in an access log) and in the answers of the reveal and
// exchange routes; every answer carries Cache-Control: no-store. Without a
// configured vault (no master key) the routes answer 503.

const (
	secretsPath = "/v1/orgs/{org}/namespaces/{namespace}/secrets"
	secretPath  = secretsPath + "/{secret}"
)

func (c *call) secretName() string { return c.path("secret") }

// listSecrets lists secrets' names and metadata in ns ("": every
// namespace where the caller holds secrets:list).
func (s *Server) listSecrets(c *call, ns string) (List[api.Secret], error) {
	v, err := s.needVault()
	if err != nil {
		return List[api.Secret]{}, err
	}
	p, err := c.page()
	if err != nil {
		return List[api.Secret]{}, err
	}
	ss, next, err := v.List(c.ctx, c.actor(), c.org(), ns, p)
	return listOf(each(ss, apiSecret), next), err
}

func (s *Server) secretRoutes() []*Route {
	return []*Route{
		route("GET", "/v1/orgs/{org}/secrets", "secrets", "List secrets' names and metadata (never values) in every namespace where you hold secrets:list; a page may hold fewer rows than asked while more follow.",
			func(c *call, _ *noBody) (List[api.Secret], error) { return s.listSecrets(c, "") }).query(pageParams...),
		route("GET", secretsPath, "secrets", "List the namespace's secrets: names and metadata, never values (secrets:list).",
			func(c *call, _ *noBody) (List[api.Secret], error) { return s.listSecrets(c, c.path("namespace")) }).perm("secrets:list").query(pageParams...),
		route("POST", secretsPath, "secrets", "Create a secret with its first value (secrets:create and secrets:list). The value is sealed at once and never echoed.",
			func(c *call, req *SecretCreate) (Written[api.Secret], error) {
				v, err := s.needVault()
				if err != nil {
					return Written[api.Secret]{}, err
				}
				if req.Value == nil {
					return Written[api.Secret]{}, invalidField("value", "value is required")
				}
				m := vault.Meta{Description: req.Description, ReferableBy: req.ReferableBy}
				if req.ExpiresAt != nil {
					m.ExpiresAt = *req.ExpiresAt
				}
				sec, rev, err := v.Create(c.ctx, c.actor(), c.org(), c.path("namespace"), req.Name, []byte(*req.Value), m)
				return Written[api.Secret]{Revision: rev, Item: apiSecret(sec)}, err
			}).perm("secrets:create").created().maxBody(vault.MaxValueBytes*6 + 64<<10),
		route("GET", secretPath, "secrets", "Get a secret's metadata (secrets:list; 404 without it).",
			func(c *call, _ *noBody) (api.Secret, error) {
				v, err := s.needVault()
				if err != nil {
					return api.Secret{}, err
				}
				sec, err := v.Get(c.ctx, c.actor(), c.org(), c.path("namespace"), c.secretName())
				return apiSecret(sec), err
			}),
		route("PATCH", secretPath, "secrets", "Change a secret's description, expiry or reference restriction, or its value (a new version) (secrets:update; 404 without secrets:list).",
			func(c *call, req *SecretPatch) (Written[api.Secret], error) {
				v, err := s.needVault()
				if err != nil {
					return Written[api.Secret]{}, err
				}
				u := vault.Update{Description: req.Description, ExpiresAt: req.ExpiresAt, ReferableBy: req.ReferableBy, IfVersion: req.IfVersion}
				if req.ClearExpiry {
					if req.ExpiresAt != nil {
						return Written[api.Secret]{}, invalidField("clear_expiry", "clear_expiry and expires_at exclude each other")
					}
					u.ExpiresAt = &time.Time{}
				}
				if req.Value != nil {
					b := []byte(*req.Value)
					u.Value = &b
				}
				sec, rev, err := v.Update(c.ctx, c.actor(), c.org(), c.path("namespace"), c.secretName(), u)
				return Written[api.Secret]{Revision: rev, Item: apiSecret(sec)}, err
			}).maxBody(vault.MaxValueBytes*6 + 64<<10),
		route("DELETE", secretPath, "secrets", "Delete a secret and every version (secrets:delete; 404 without secrets:list; 409 naming the resources whose specs reference it, unless ?force=true).",
			func(c *call, _ *noBody) (Revision, error) {
				v, err := s.needVault()
				if err != nil {
					return Revision{}, err
				}
				force, err := c.queryBool("force")
				if err != nil {
					return Revision{}, err
				}
				rev, err := v.Delete(c.ctx, c.actor(), c.org(), c.path("namespace"), c.secretName(), vault.DeleteOptions{Force: force})
				return Revision{Revision: rev}, err
			}).query(Param{"force", "boolean", "delete even if resource specs reference the secret (409 naming them otherwise); audited as forced"}),
		route("POST", secretPath+"/rotate", "secrets", "Replace a secret's value with a new version and stamp its rotation time (secrets:rotate; 404 without secrets:list).",
			func(c *call, req *SecretRotate) (Written[api.Secret], error) {
				v, err := s.needVault()
				if err != nil {
					return Written[api.Secret]{}, err
				}
				if req.Value == nil {
					return Written[api.Secret]{}, invalidField("value", "value is required")
				}
				sec, rev, err := v.Rotate(c.ctx, c.actor(), c.org(), c.path("namespace"), c.secretName(), []byte(*req.Value), req.IfVersion)
				return Written[api.Secret]{Revision: rev, Item: apiSecret(sec)}, err
			}).maxBody(vault.MaxValueBytes*6 + 64<<10),
		route("GET", secretPath+"/value", "secrets", "Reveal a secret's value, the current version or ?version=N (secrets:read; 404 without secrets:list). Audited.",
			func(c *call, _ *noBody) (SecretValue, error) {
				v, err := s.needVault()
				if err != nil {
					return SecretValue{}, err
				}
				version, err := c.queryUint("version")
				if err != nil {
					return SecretValue{}, err
				}
				r, err := v.Reveal(c.ctx, c.actor(), c.org(), c.path("namespace"), c.secretName(), version)
				if err != nil {
					return SecretValue{}, err
				}
				out := SecretValue{Namespace: r.Namespace, Name: r.Name, Version: r.Version, Value: string(r.Value)}
				clear(r.Value)
				return out, nil
			}).query(Param{"version", "integer", "a version number (default: the current one)"}),
		route("GET", secretPath+"/versions", "secrets", "A secret's history: its versions (number, master key id, author, time), newest first, never values (secrets:list).",
			func(c *call, _ *noBody) (List[api.SecretVersion], error) {
				v, err := s.needVault()
				if err != nil {
					return List[api.SecretVersion]{}, err
				}
				p, err := c.page()
				if err != nil {
					return List[api.SecretVersion]{}, err
				}
				vs, next, err := v.History(c.ctx, c.actor(), c.org(), c.path("namespace"), c.secretName(), p)
				return listOf(each(vs, apiSecretVersion), next), err
			}).query(pageParams...),
		route("POST", resourcePath+"/runs", "secrets", "Get a run token for the resource (<type>:run on it): short-lived, single-use, bound to the resource's current version, releasing exactly the secrets its spec references, to a service principal (the runtime). The token is shown once.",
			func(c *call, req *RunRequest) (api.RunGrant, error) {
				v, err := s.needVault()
				if err != nil {
					return api.RunGrant{}, err
				}
				if req.TTLSeconds < 0 {
					return api.RunGrant{}, invalidField("ttl_seconds", "ttl_seconds must not be negative")
				}
				g, err := v.IssueRunToken(c.ctx, c.actor(), c.org(), c.ref(), vault.RunOptions{
					Runtime: req.Runtime, TTL: time.Duration(req.TTLSeconds) * time.Second,
				})
				return apiRunGrant(g), err
			}).created().optionalBody(),
		route("POST", "/v1/orgs/{org}/runs/exchange", "secrets", "Exchange a run token for the values of its secrets. Only a service principal (the runtime) allowed to run the token's resource may; a token is refused when unknown, expired, already used or no longer valid for its resource. Audited.",
			func(c *call, req *ExchangeRequest) (api.Release, error) {
				v, err := s.needVault()
				if err != nil {
					return api.Release{}, err
				}
				rel, err := v.Exchange(c.ctx, c.actor(), c.org(), req.Token)
				return apiRelease(rel), err
			}),
	}
}

// needVault is the vault, or 503 when none is configured.
func (s *Server) needVault() (*vault.Vault, error) {
	if s.vault == nil {
		p := problem(ProblemUnavailable, "the secrets vault is not configured on this server (no master key: see docs/secrets.md)")
		return nil, p
	}
	return s.vault, nil
}

// Wire types of package api under the names the server uses.
type (
	SecretCreate    = api.SecretCreate
	SecretPatch     = api.SecretPatch
	SecretValue     = api.SecretValue
	RunRequest      = api.RunRequest
	SecretRotate    = api.SecretRotate
	ExchangeRequest = api.ExchangeRequest
)
