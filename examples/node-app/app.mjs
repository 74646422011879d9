// A tiny HTTP app whose routes are protected by the Gatehouse middleware.
//
// Each request carries its caller's own Gatehouse API key (Authorization:
// Bearer gth_…); the middleware asks Gatehouse whether that caller may do
// the route's permission on the chain in the URL, and answers 401/403
// problem+json itself when not. The handlers run only after an allow.
//
//   GET  /chains/{namespace}/{id}      needs chains:read
//   POST /chains/{namespace}/{id}/run  needs chains:run
//
// Run: GATEHOUSE_URL=http://127.0.0.1:8080 node app.mjs   (PORT, ORG optional)
import { createServer } from "node:http";
import { Gatehouse, decisionOf, requireHttp } from "@gatehouse/sdk";

/** Builds the app's request handler for a Gatehouse at gatehouseUrl and an org. */
export function makeApp({ gatehouseUrl, org }) {
  const gh = new Gatehouse({ baseUrl: gatehouseUrl, timeoutMs: 5000 });
  // The chain a request is about: /chains/{namespace}/{id}[/run].
  const chainOf = (req) => {
    const [, , namespace, id] = new URL(req.url, "http://app").pathname.split("/");
    return { namespace, resource: "chains/" + id };
  };
  const canRead = requireHttp({ client: gh, org, action: "chains:read", resource: chainOf });
  const canRun = requireHttp({ client: gh, org, action: "chains:run", resource: chainOf });

  const json = (res, status, body) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };
  return (req, res) => {
    const path = new URL(req.url, "http://app").pathname;
    const parts = path.split("/");
    if (req.method === "GET" && parts.length === 4 && parts[1] === "chains") {
      return canRead(req, res, () => json(res, 200, { chain: chainOf(req), readable: true }));
    }
    if (req.method === "POST" && parts.length === 5 && parts[1] === "chains" && parts[4] === "run") {
      return canRun(req, res, () => {
        // An agent's allow may carry obligations the handler must honour.
        const { obligations = [] } = decisionOf(req) ?? {};
        json(res, 200, { chain: chainOf(req), started: true, obligations });
      });
    }
    json(res, 404, { error: "no such route" });
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const gatehouseUrl = process.env.GATEHOUSE_URL ?? "http://127.0.0.1:8080";
  const port = Number(process.env.PORT ?? 3000);
  const server = createServer(makeApp({ gatehouseUrl, org: process.env.ORG ?? "demo" }));
  server.listen(port, "127.0.0.1", () => console.log(`node-app: listening on http://127.0.0.1:${server.address().port}, deciding with ${gatehouseUrl}`));
  process.on("SIGTERM", () => server.close());
}
