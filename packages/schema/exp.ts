import { stringify } from "yaml"
import { workspaceCrd, workspaceJsonSchema } from "./dist/index.js"

console.log(stringify(workspaceCrd()))
console.error(JSON.stringify(workspaceJsonSchema()).length)
