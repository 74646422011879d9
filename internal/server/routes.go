package server

import (
	"net/http"
)

// routeTable is the API. To add routes (other packages' helpers: secrets,
// audit), append one line here: `rs = append(rs, s.secretRoutes()...)`.
// Each route is declared with route[Req, Resp](method, path, tag, summary,
// fn) and refined with .perm, .created, .public, .query, .maxBody.
func (s *Server) routeTable() []*Route {
	var rs []*Route
	rs = append(rs, s.metaRoutes()...)
	rs = append(rs, s.identityRoutes()...)
	rs = append(rs, s.authRoutes()...)
	rs = append(rs, s.oidcRoutes()...)
	rs = append(rs, s.orgRoutes()...)
	rs = append(rs, s.memberRoutes()...)
	rs = append(rs, s.teamRoutes()...)
	rs = append(rs, s.roleRoutes()...)
	rs = append(rs, s.bindingRoutes()...)
	rs = append(rs, s.impactRoutes()...)
	rs = append(rs, s.principalRoutes()...)
	rs = append(rs, s.lifecycleRoutes()...)
	rs = append(rs, s.resourceRoutes()...)
	rs = append(rs, s.decisionRoutes()...)
	rs = append(rs, s.auditRoutes()...)
	rs = append(rs, s.secretRoutes()...)
	rs = append(rs, s.writeRoutes()...)
	rs = append(rs, s.meLookupRoutes()...)
	rs = append(rs, s.approvalRoutes()...)
	rs = append(rs, s.runRoutes()...)
	rs = append(rs, s.mcpRoutes()...)
	rs = append(rs, s.changeRoutes()...)
	return rs
}

func (s *Server) metaRoutes() []*Route {
	return []*Route{
		route("GET", "/healthz", "meta", "Liveness: the process is up.", s.healthz).public(),
		route("GET", "/readyz", "meta", "Readiness: the store is reachable and the engine has caught up with it (503 otherwise).", s.readyz).public(),
		rawRoute("GET", "/metrics", "meta", "Prometheus metrics: only with the metrics token (Authorization: Bearer), 404 when none is configured.", "text/plain", s.metricsHandler()),
		rawRoute("GET", "/v1/openapi.json", "meta", "This API's OpenAPI 3.1 document.", "application/json",
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(s.openapi)
			})),
	}
}
