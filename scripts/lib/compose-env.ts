import { randomBytes } from "node:crypto";

/**
 * The secrets of `.env.example`: every `*_PASSWORD` and the control-plane token. Compose requires
 * each of them (`${NAME:?...}`), so a stack never runs on a password printed in this repository.
 */
export const isSecret = (name: string) => name.endsWith("_PASSWORD") || name === "ADPIPE_API_TOKEN";

/**
 * `.env.example` with a fresh random value for every secret (hex: safe in a URL, in SQL quotes and
 * in the init scripts, which take no ' or \), everything else as the example has it.
 */
export function composeEnv(example: string, random: () => string = () => randomBytes(24).toString("hex")) {
  const secrets: string[] = [];
  const text = example
    .split("\n")
    .map((line) => {
      const name = /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1];
      if (!name || !isSecret(name)) return line;
      secrets.push(name);
      return `${name}=${random()}`;
    })
    .join("\n");
  return { text, secrets };
}
