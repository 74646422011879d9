// Package api holds the types of Gatehouse's HTTP API: every request,
// response and problem document on the wire, as JSON. The server maps its
// domain types to these at the edge, the Go SDK (package client) and the
// CLI use them, and the OpenAPI document (GET /v1/openapi.json) is
// generated from them by reflection, so a type and its schema cannot
// drift apart.
//
// Names follow the OpenAPI document's components (CheckResponse,
// SessionResponse, ...); the SDK keeps its own names as aliases
// (client.Decision = api.CheckResponse). The tag openapi:"reason" marks a
// deny reason: the document enumerates the engine's reasons for it.
//
// It imports only the standard library: a program that talks to the API
// does not link the policy engine.
package api
