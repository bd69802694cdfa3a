// Entry point bundled by `host-harness package` into one ES module
// (`runtime/ajv.js` in the extension), so the extension validates configs
// offline with the pinned ajv and no npm resolution at load time.
export { default as Ajv2020 } from "ajv/dist/2020.js";
