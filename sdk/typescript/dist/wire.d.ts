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
/** "missing_permission" → "missingPermission". */
export declare function camel(k: string): string;
/** "missingPermission" → "missing_permission". */
export declare function snake(k: string): string;
/** Converts a decoded answer's member names to camelCase. */
export declare function fromWire<T>(v: unknown): T;
/**
 * Decodes an answer's JSON text into camelCase. A text without "_" has no
 * snake_case member name, so it is used as parsed (the common decision
 * answer, `{"allowed":true,"revision":7}`, skips the walk).
 */
export declare function parseWire<T>(text: string): T;
/** Converts a request body's member names to snake_case, dropping `undefined` members. */
export declare function toWire(v: unknown): unknown;
