import { resolve } from "node:path";

/**
 * The stand-ins a host's toolkit meets in the tests and the lab (apt-get, curl, ip, journalctl, systemctl on PATH; the
 * k3s installer and binary they hand out): host/. The lab's hosts put lab/standins/bin before them (a namespace's
 * own ip and systemctl).
 */
export const HOST_STANDINS_BIN = resolve(__dirname, "host", "bin");
