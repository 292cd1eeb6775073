// `npm run toolkit:payload`: writes components/toolkit/k3smc.payload, the compressed toolkit every prepare step
// delivers, after an edit of the host files. Its bytes are committed so that every machine stores the same input.
import { writeFileSync } from "node:fs";
import { PAYLOAD_FILE, buildToolkit, committedPayload } from "../../components/toolkit/bundle";

const built = buildToolkit();
if (committedPayload(built.text) !== undefined) {
    console.log(`toolkit ${built.id}: ${PAYLOAD_FILE} is up to date`);
} else {
    writeFileSync(PAYLOAD_FILE, `${built.payload}\n`);
    console.log(`toolkit ${built.id}: wrote ${PAYLOAD_FILE} (${built.payload.length} characters)`);
}
