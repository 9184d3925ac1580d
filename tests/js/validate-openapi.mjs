// Validates the OpenAPI document an app prints (`APP openapi`) with @apidevtools/swagger-parser:
// structure against the OpenAPI 3.1 schema, and every $ref resolved.
//   node validate-openapi.mjs APP_BINARY
import { execFileSync } from "node:child_process";
import SwaggerParser from "@apidevtools/swagger-parser";

const bin = process.argv[2];
const text = execFileSync(bin, ["openapi"], { encoding: "utf8", timeout: 30000 });
const doc = JSON.parse(text);
try {
  const api = await SwaggerParser.validate(structuredClone(doc));
  const ops = Object.values(api.paths).flatMap((item) => Object.keys(item));
  console.log(`openapi: ${bin}: valid OpenAPI ${api.openapi}, ${ops.length} operations`);
  console.log("1 passed, 0 failed");
} catch (err) {
  console.error(`openapi: ${bin}: INVALID: ${err.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
