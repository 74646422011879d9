package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/client"
)

// Config is the host app's configuration.
type Config struct {
	// Gatehouse is a client of the Gatehouse server with the app's own
	// service credential (an API key of service:<app>), used for the agent
	// routes; people's requests are checked with their own tokens.
	Gatehouse *client.Client
	// Org is the Gatehouse org this app's data belongs to.
	Org string
	// DeniedStatus is the status of a denial: 403, or 401 to behave as
	// Letta documents.
	DeniedStatus int
	// AgentTokens maps the app's own agent credentials to Gatehouse agent
	// principals ("agent:Triage"): agents authenticate to the app, and the
	// app asks Gatehouse about them with its service credential.
	AgentTokens map[string]string
	Logger      *slog.Logger
}

// Chain is one of the app's chains.
type Chain struct {
	Namespace string   `json:"namespace"`
	ID        string   `json:"id"`
	Steps     []string `json:"steps"`
	Runs      int      `json:"runs"`
}

// App is a tiny agent platform: chains in namespaces that people list, run
// and edit, and that agents run. Every route is guarded by Gatehouse; the
// handlers hold no authorization logic of their own.
type App struct {
	cfg    Config
	mu     sync.Mutex
	chains map[string]*Chain // "<ns>/<id>"
}

// New returns the app's HTTP handler.
func New(cfg Config, chains []Chain) (http.Handler, error) {
	if cfg.Gatehouse == nil || cfg.Org == "" {
		return nil, errors.New("hostapp: a Gatehouse client and an org are required")
	}
	if cfg.DeniedStatus == 0 {
		cfg.DeniedStatus = http.StatusForbidden
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &App{cfg: cfg, chains: map[string]*Chain{}}
	for _, c := range chains {
		c := c
		a.chains[c.Namespace+"/"+c.ID] = &c
	}
	logErr := client.OnError(func(r *http.Request, err error) {
		cfg.Logger.Error("authorization failed closed", "method", r.Method, "path", r.URL.Path, "err", err)
	})
	// People: their own Gatehouse token is the credential.
	people, err := client.NewGuard(client.Remote(cfg.Gatehouse), client.InOrg(cfg.Org),
		client.DeniedStatus(cfg.DeniedStatus), logErr)
	if err != nil {
		return nil, err
	}
	// Agents: the app resolves them; Gatehouse decides about them.
	agents, err := client.NewGuard(client.Remote(cfg.Gatehouse), client.InOrg(cfg.Org),
		client.DeniedStatus(cfg.DeniedStatus), logErr,
		client.PrincipalFrom(func(r *http.Request) (string, bool) {
			p, ok := cfg.AgentTokens[r.Header.Get("X-Agent-Token")]
			return p, ok
		}))
	if err != nil {
		return nil, err
	}
	chain := client.ResourceFrom(func(r *http.Request) (ns, typ, id string) {
		return r.PathValue("ns"), "chains", r.PathValue("id")
	})
	inNamespace := client.ResourceFrom(func(r *http.Request) (ns, typ, id string) {
		return r.URL.Query().Get("namespace"), "chains", ""
	})
	mux := http.NewServeMux()
	mux.Handle("GET /chains", people.Require("chains:read", inNamespace)(http.HandlerFunc(a.list)))
	mux.Handle("POST /chains/{ns}/{id}/run", people.Require("chains:run", chain)(http.HandlerFunc(a.run)))
	mux.Handle("PUT /chains/{ns}/{id}", people.Require("chains:update", chain)(http.HandlerFunc(a.edit)))
	mux.Handle("POST /agent/chains/{ns}/{id}/run", agents.Require("chains:run", chain)(http.HandlerFunc(a.run)))
	return mux, nil
}

func (a *App) list(w http.ResponseWriter, r *http.Request) {
	ns := r.URL.Query().Get("namespace")
	if ns == "" {
		ns = "default"
	}
	a.mu.Lock()
	out := []Chain{}
	for _, c := range a.chains {
		if c.Namespace == ns {
			out = append(out, *c)
		}
	}
	a.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

// RunResult is what running a chain answers: the obligations and advice
// Gatehouse attached to the decision, which the platform must act on.
type RunResult struct {
	Chain       Chain    `json:"chain"`
	Obligations []string `json:"obligations"`
	Advice      []string `json:"advice"`
}

func (a *App) run(w http.ResponseWriter, r *http.Request) {
	d, ok := client.DecisionFrom(r.Context())
	if !ok || !d.Allowed { // cannot happen behind Require; fail closed anyway
		http.Error(w, "no decision", http.StatusInternalServerError)
		return
	}
	a.mu.Lock()
	c, found := a.chains[r.PathValue("ns")+"/"+r.PathValue("id")]
	var snapshot Chain
	if found {
		c.Runs++
		snapshot = *c
	}
	a.mu.Unlock()
	if !found {
		http.Error(w, "no such chain", http.StatusNotFound)
		return
	}
	res := RunResult{Chain: snapshot, Obligations: []string{}, Advice: []string{}}
	for _, o := range d.Obligations {
		res.Obligations = append(res.Obligations, o.Text)
	}
	for _, o := range d.Advice {
		res.Advice = append(res.Advice, o.Text)
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *App) edit(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Steps []string `json:"steps"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || len(body.Steps) == 0 {
		http.Error(w, "want {\"steps\": [...]}", http.StatusBadRequest)
		return
	}
	for _, s := range body.Steps {
		if strings.TrimSpace(s) == "" {
			http.Error(w, "empty step", http.StatusBadRequest)
			return
		}
	}
	a.mu.Lock()
	c, found := a.chains[r.PathValue("ns")+"/"+r.PathValue("id")]
	var snapshot Chain
	if found {
		c.Steps = body.Steps
		snapshot = *c
	}
	a.mu.Unlock()
	if !found {
		http.Error(w, "no such chain", http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, snapshot)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
