// D-Bus match rules (AddMatch/RemoveMatch), as far as a peer-to-peer server that only ever sends
// signals needs them: type, sender, path, path_namespace, interface, member, destination and argN
// (string args). Keys this server cannot evaluate (arg0namespace, eavesdrop, …) do not narrow the rule.

export interface SignalFields {
  sender: string;
  path: string;
  interface: string;
  member: string;
  body: unknown[];
}

export class MatchRuleError extends Error {
  readonly code = "MatchRuleInvalid";
}

/** key='value' pairs; a quote may be escaped as \' inside a value, as the spec allows. */
export function parseMatchRule(rule: string): Map<string, string> {
  const fields = new Map<string, string>();
  const pattern = /\s*([A-Za-z0-9_]+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*(?:,|$)/y;
  let at = 0;
  while (at < rule.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(rule);
    if (match === null) throw new MatchRuleError(`cannot parse match rule "${rule}" at offset ${at}`);
    fields.set(match[1]!, match[2]!.replace(/\\'/g, "'"));
    at = pattern.lastIndex;
    if (match[0].trim() === "") break;
  }
  return fields;
}

/** Whether a signal from us (`senderNames`: our unique and well-known names) matches the rule. */
export function matches(rule: Map<string, string>, signal: SignalFields, senderNames: string[]): boolean {
  for (const [key, value] of rule) {
    switch (key) {
      case "type":
        if (value !== "signal") return false;
        break;
      case "sender":
        if (!senderNames.includes(value)) return false;
        break;
      case "path":
        if (signal.path !== value) return false;
        break;
      case "path_namespace":
        if (!(signal.path === value || signal.path.startsWith(value === "/" ? "/" : `${value}/`)))
          return false;
        break;
      case "interface":
        if (signal.interface !== value) return false;
        break;
      case "member":
        if (signal.member !== value) return false;
        break;
      default: {
        const arg = /^arg(\d+)$/.exec(key);
        if (arg !== null && signal.body[Number(arg[1])] !== value) return false;
      }
    }
  }
  return true;
}
