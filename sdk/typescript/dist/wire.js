/**
 * Name conversion between the wire (snake_case) and the SDK (camelCase).
 *
 * Invariant: the keys of free-form members (attributes, labels, context,
 * spec, and the any-JSON members of diffs and audit entries) belong to the
 * caller and cross unchanged in both directions; only the API's own member
 * names are converted.
 *
 * @module
 */
/** Wire member names whose values are free-form JSON, passed through as they are. */
const OPAQUE = new Set(["attributes", "labels", "context", "spec", "old", "new", "before", "after", "details", "arguments", "input"]);
const snakeCache = new Map();
const camelCache = new Map();
/** "missing_permission" → "missingPermission". */
export function camel(k) {
    let v = camelCache.get(k);
    if (v === undefined) {
        v = k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
        if (camelCache.size < 4096)
            camelCache.set(k, v);
    }
    return v;
}
/** "missingPermission" → "missing_permission". */
export function snake(k) {
    let v = snakeCache.get(k);
    if (v === undefined) {
        v = k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
        if (snakeCache.size < 4096)
            snakeCache.set(k, v);
    }
    return v;
}
/** Converts a decoded answer's member names to camelCase. */
export function fromWire(v) {
    return convert(v, camel, false);
}
/**
 * Decodes an answer's JSON text into camelCase. A text without "_" has no
 * snake_case member name, so it is used as parsed (the common decision
 * answer, `{"allowed":true,"revision":7}`, skips the walk).
 */
export function parseWire(text) {
    const v = JSON.parse(text);
    return (text.indexOf("_") === -1 ? v : convert(v, camel, false));
}
/** Converts a request body's member names to snake_case, dropping `undefined` members. */
export function toWire(v) {
    return convert(v, snake, true);
}
function convert(v, name, outgoing) {
    if (Array.isArray(v))
        return v.map((x) => convert(x, name, outgoing));
    if (v === null || typeof v !== "object")
        return v;
    const out = {};
    for (const [k, x] of Object.entries(v)) {
        if (x === undefined)
            continue;
        const wk = outgoing ? snake(k) : k;
        out[name(k)] = OPAQUE.has(wk) ? x : convert(x, name, outgoing);
    }
    return out;
}
