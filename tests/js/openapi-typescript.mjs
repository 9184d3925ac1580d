// Generates TypeScript types from an app's OpenAPI document with openapi-typescript, then checks
// that they compile with tsc --strict, and that a client-side use of them type-checks.
//   node openapi-typescript.mjs APP_BINARY
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const bin = process.argv[2];
const here = path.dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "cadre-ts-"));
let ok = false;
try {
  const doc = execFileSync(bin, ["openapi"], { encoding: "utf8", timeout: 30000 });
  writeFileSync(path.join(dir, "openapi.json"), doc);
  execFileSync(path.join(here, "node_modules/.bin/openapi-typescript"),
               [path.join(dir, "openapi.json"), "-o", path.join(dir, "api.d.ts")],
               { stdio: ["ignore", "ignore", "inherit"], timeout: 60000 });
  // Every component schema must be usable as a type.
  const names = Object.keys(JSON.parse(doc).components?.schemas ?? {});
  const uses = names.map((n, i) => `type T${i} = components["schemas"]["${n}"];\n` +
                                   `export const v${i}: T${i} | undefined = undefined;`).join("\n");
  writeFileSync(path.join(dir, "use.ts"), `import type { components } from "./api";\n${uses}\n`);
  execFileSync(path.join(here, "node_modules/.bin/tsc"),
               ["--strict", "--noEmit", "--skipLibCheck", "--module", "es2022", "--target", "es2022",
                "--moduleResolution", "bundler",
                path.join(dir, "api.d.ts"), path.join(dir, "use.ts")],
               { stdio: "inherit", timeout: 120000 });
  console.log(`openapi-typescript: ${names.length} schemas typed and compiled with tsc --strict`);
  ok = true;
} catch (err) {
  console.error(`openapi-typescript: FAILED: ${err.message}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(ok ? "1 passed, 0 failed" : "0 passed, 1 failed");
process.exit(ok ? 0 : 1);
