// Every public name of the package has TSDoc: each export of src/index.ts
// and each public member of an exported class or interface.
import assert from "node:assert/strict";
import { join } from "node:path";
import { it } from "node:test";
import ts from "typescript";
import { pkgDir } from "./harness.js";

it("every exported name and public member is documented", () => {
  const index = join(pkgDir, "src", "index.ts");
  const program = ts.createProgram([index], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext });
  const checker = program.getTypeChecker();
  const mod = checker.getSymbolAtLocation(program.getSourceFile(index)!)!;
  const missing: string[] = [];
  const documented = (s: ts.Symbol) =>
    s.getDocumentationComment(checker).length > 0 || s.getJsDocTags(checker).length > 0 ||
    (s.declarations ?? []).some((d) => ts.getJSDocCommentsAndTags(d).length > 0);
  for (let sym of checker.getExportsOfModule(mod)) {
    const name = sym.name;
    if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
    if (!documented(sym)) missing.push(name);
    if (!(sym.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface))) continue;
    const t = checker.getDeclaredTypeOfSymbol(sym);
    for (const m of checker.getPropertiesOfType(t)) {
      const decl = m.valueDeclaration ?? m.declarations?.[0];
      if (!decl) continue;
      const mods = ts.canHaveModifiers(decl) ? (ts.getModifiers(decl) ?? []) : [];
      if (mods.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
      if (ts.isPrivateIdentifier((decl as ts.NamedDeclaration).name as ts.Node)) continue;
      // Members inherited from the standard library (Error.message) are documented there.
      if (decl.getSourceFile().fileName.includes("node_modules")) continue;
      if (!documented(m)) missing.push(`${name}.${m.name}`);
    }
  }
  assert.deepEqual(missing, [], "undocumented: " + missing.join(", "));
});
