// openapi_validate.mjs - validates an OpenAPI document with @apidevtools/swagger-parser
// (its OpenAPI 3.1 schema and $ref checks). Usage: node openapi_validate.mjs FILE...
// Prints one line per file; exits 1 when any is invalid.
import SwaggerParser from '@apidevtools/swagger-parser';

let bad = 0;
for (const file of process.argv.slice(2)) {
  try {
    const api = await SwaggerParser.validate(file);
    console.log(`ok ${file}: OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths`);
  } catch (e) {
    bad++;
    console.log(`invalid ${file}: ${e.message}`);
  }
}
process.exit(bad ? 1 : 0);
