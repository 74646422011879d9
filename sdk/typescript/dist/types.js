/**
 * The Gatehouse wire types, in camelCase.
 *
 * Each interface tagged `@schema Name` mirrors the component schema `Name`
 * of the server's `/v1/openapi.json` member for member (the wire name is
 * the snake_case of the TypeScript name); a test fetches the document from
 * a running server and fails when a tagged interface names a member the
 * schema lacks, declares a member required that the server may omit, or
 * disagrees on its JSON type. Times are RFC 3339 strings as the server
 * sends them. Free-form maps (`attributes`, `labels`, `context`, `spec`)
 * are passed through untouched: their keys are yours, not converted.
 *
 * @module
 */
export {};
